import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../logger.js';
import { retryPolicy } from '../retry.js';
import { createKafka, type Kafka, type KafkaMessage } from './client.js';
import { ConsumeLoop } from './consume-loop.js';

const logger = createLogger({ service: 'consume-loop-test', level: 'silent' });
// Building a loop connects nothing, so an unreachable broker will do.
const kafka = createKafka({ clientId: 'consume-loop-test', brokers: ['127.0.0.1:1'], logger });

function loopWith(timing: { stallMs?: number; maxWaitTimeMs?: number }): ConsumeLoop<unknown> {
  return new ConsumeLoop<unknown>({
    kafka, groupId: 'g', topics: ['t'], logger, retryPolicy: retryPolicy({ initialDelayMs: 1, maxDelayMs: 1 }),
    decode: () => Promise.resolve(undefined), handler: () => Promise.resolve(), ...timing,
  });
}

describe('ConsumeLoop settings', () => {
  it('refuses a stall allowance that an idle consumer, fetching once per fetch wait, would exceed', () => {
    expect(() => loopWith({ stallMs: 9_000 })).toThrow('stallMs (9000) must be at least twice maxWaitTimeMs (5000)');
    expect(() => loopWith({ stallMs: 3_000, maxWaitTimeMs: 2_000 })).toThrow(RangeError);
    expect(() => loopWith({ stallMs: 10_000 })).not.toThrow();
    expect(() => loopWith({ stallMs: 3_000, maxWaitTimeMs: 500 })).not.toThrow();
  });
});

/** kafkajs's error as the client throws it (kafkajs itself is client.ts's alone): no code, its kind in its name. */
class KafkaJSNoBrokerAvailableError extends Error {
  override readonly name = 'KafkaJSNoBrokerAvailableError';
  readonly retriable = true;
}

/** A loop over a client whose consumer hands its CRASH listener out, so a test crashes it as kafkajs does; its lines land in `lines`. */
function crashableLoop(lines: Record<string, unknown>[]): (event: unknown) => void {
  const capturing = createLogger({ service: 'consume-loop-test', destination: new Writable({ write(chunk: Buffer, _encoding, done) { lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>); done(); } }) });
  let crash: ((event: unknown) => void) | undefined;
  const listening = Object.create(kafka, {
    consumer: {
      value: (config: Parameters<Kafka['consumer']>[0]) => {
        const consumer = kafka.consumer(config);
        const on = consumer.on.bind(consumer);
        consumer.on = ((event: Parameters<typeof on>[0], listener: (event: unknown) => void) => {
          if (event === consumer.events.CRASH) crash = listener;
          return on(event, listener);
        }) as typeof consumer.on;
        return consumer;
      },
    },
  }) as Kafka;
  new ConsumeLoop<unknown>({
    kafka: listening, groupId: 'g', topics: ['t'], logger: capturing, retryPolicy: retryPolicy({ initialDelayMs: 1, maxDelayMs: 1 }),
    decode: () => Promise.resolve(undefined), handler: () => Promise.resolve(),
  });
  if (crash === undefined) throw new Error('the loop did not listen for its consumer\'s crash');
  return crash;
}

describe('ConsumeLoop crash line', () => {
  it('gives kafkajs\'s crash a reason code, as a failed start gives the same error (found by a review)', () => {
    // 1. a client whose consumer keeps its CRASH listener; 2. crash it as kafkajs does; 3. read the line
    const lines: Record<string, unknown>[] = [];
    const crash = crashableLoop(lines);
    crash({ payload: { error: new KafkaJSNoBrokerAvailableError('Failed to connect: broker at 127.0.0.1:1 not available'), restart: false } });
    const line = lines.find((entry) => entry['msg'] === 'consumer crashed');
    expect(line).toMatchObject({ level: 'error', code: 'ORBIT_ERR_STORE_UNAVAILABLE', restart: false, err: { type: 'KafkaJSNoBrokerAvailableError' } });
  });

  it('says a crash kafkajs restarts from by itself on a broker restart at warn, and our handler\'s failure at error (a broker restart in CI logged an error)', () => {
    // 1. a loop whose CRASH listener is kept; 2. crash it with a connection error, then a handler's TypeError, both restarted; 3. the levels
    const lines: Record<string, unknown>[] = [];
    const crash = crashableLoop(lines);
    crash({ payload: { error: new KafkaJSNoBrokerAvailableError('Connection error: connect ECONNREFUSED 127.0.0.1:9094'), restart: true } });
    const handlerFailure = Object.assign(new Error('handler failed', { cause: new TypeError('x is undefined') }), { name: 'KafkaJSNonRetriableError' });
    crash({ payload: { error: handlerFailure, restart: true } });
    const crashes = lines.filter((entry) => entry['msg'] === 'consumer crashed');
    expect(crashes).toMatchObject([
      { level: 'warn', code: 'ORBIT_ERR_STORE_UNAVAILABLE', restart: true },
      { level: 'error', code: 'TypeError', restart: true },
    ]);
  });
});

describe('ConsumeLoop still-running warning', () => {
  it('carries what the handler said it is doing, so an operator sees which registry holds the partition (found by a review: the line named an offset only)', async () => {
    // 1. a loop warning after 20 ms; 2. a handler that describes its pull and outlasts two warnings; 3. the warning lines
    const lines: Record<string, unknown>[] = [];
    const capturing = createLogger({ service: 'consume-loop-test', destination: new Writable({ write(chunk: Buffer, _encoding, done) { lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>); done(); } }) });
    const loop = new ConsumeLoop<unknown>({
      kafka, groupId: 'g', topics: ['t'], logger: capturing, retryPolicy: retryPolicy({ initialDelayMs: 1, maxDelayMs: 1 }), slowHandlerWarnMs: 20,
      decode: () => Promise.resolve({ pid: 'p-1' }),
      handler: async (message) => {
        message.describe?.({ reference: 'slow.example:5000/team/app:1', registry: 'slow.example:5000' });
        await new Promise((resolve) => setTimeout(resolve, 70));
      },
    });
    // The loop's one-message path, as a fetched batch takes it, without a broker.
    const processMessage = (loop as unknown as { processMessage(topic: string, partition: number, message: KafkaMessage): Promise<unknown> }).processMessage.bind(loop);
    await processMessage('t', 0, { offset: '7', key: null, value: Buffer.from('x'), headers: {}, timestamp: '0', attributes: 0 });
    const warnings = lines.filter((line) => line['msg'] === 'handler still running; its partition waits for it');
    expect(warnings.length).toBeGreaterThan(0);
    for (const warning of warnings) expect(warning).toMatchObject({ offset: '7', doing: { reference: 'slow.example:5000/team/app:1', registry: 'slow.example:5000' } });
  });
});
