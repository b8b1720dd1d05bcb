import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { CreateTableCommand, DeleteTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { loadSchemas, sampleEvents, type UploadRequested } from '@orbit/schemas';
import { startService, stopService } from '@orbit/local-stack';
import { createTestTopics, nextEvent, quietLogger, readAll, testConfig, testKafka, uniqueSuffix, waitFor } from '../../../test/helpers/index.js';
import { createHash, randomUUID } from 'node:crypto';
import { Writable } from 'node:stream';
import { createDynamo } from '../aws.js';
import { createLogger, type Logger } from '../logger.js';
import { createMetrics, instrumentConsumeLoop } from '../metrics.js';
import { decodeOrbitEvent, EventCodec } from '../codec.js';
import { DecodeError, OrbitError, StoreUnavailableError } from '../errors.js';
import { retryPolicy } from '../retry.js';
import { formatTraceparent, startTrace } from '../trace-context.js';
import { ConsumeLoop, type ConsumedMessage, type DeadLetteredMessage } from './consume-loop.js';
import { HEADER } from './headers.js';
import { CONSUMER_EVENTS, type ConsumerEventPayloads } from './instrumentation.js';
import { redriveDeadLetters } from './dlq-ops.js';
import { CONSUMER_PASSED_OVER_EVENT, REDRIVEN_FROM_HEADER, type ConsumerPassedOverPayload } from './redrive-copy.js';
import { EventPublisher } from './publisher.js';
import type { Kafka } from './client.js';

const suffix = uniqueSuffix();
const kafka = testKafka();
const schema = loadSchemas().get('orbit.upload.requested')!;
// One topic per test, so no test consumes another's messages.
const topics = { roundTrip: `test.loop.${suffix}.a`, poison: `test.loop.${suffix}.b`, transient: `test.loop.${suffix}.c`, slow: `test.loop.${suffix}.d`, replay: `test.loop.${suffix}.e` };
const codec = new EventCodec(testConfig.SCHEMA_REGISTRY_URL, new Map(Object.values(topics).map((name) => [name, schema])));
const fastRetry = retryPolicy({ initialDelayMs: 100, maxDelayMs: 1_000, jitter: 0 });
// A loop's stop waits out the fetch in flight: kafkajs's 5 s default made most of this file's time.
const FETCH_WAIT_MS = 500;
let publisher: EventPublisher;

function sample(imageUID: string): UploadRequested {
  return { ...sampleEvents(imageUID, randomUUID())['orbit.upload.requested'] };
}

function loopOf(topic: string, handler: (message: ConsumedMessage<UploadRequested>) => Promise<void>, onDeadLettered?: (letter: DeadLetteredMessage<UploadRequested>) => Promise<void>): ConsumeLoop<UploadRequested> {
  return new ConsumeLoop<UploadRequested>({
    kafka, maxWaitTimeMs: FETCH_WAIT_MS, groupId: `group-${uniqueSuffix()}`, topics: [topic], logger: quietLogger, retryPolicy: fastRetry,
    decode: (name, value) => codec.decode(name, value) as Promise<UploadRequested>, handler, ...(onDeadLettered ? { onDeadLettered } : {}),
  });
}

/** A topic of the test's own (and its DLQ), with a codec and a publisher for it. */
async function privateTopic(label: string, partitions = 1): Promise<{ topic: string; batchCodec: EventCodec; batchPublisher: EventPublisher }> {
  const topic = `test.loop.${uniqueSuffix()}.${label}`;
  await createTestTopics(kafka, [topic, `${topic}.dlq`], partitions);
  const batchCodec = new EventCodec(testConfig.SCHEMA_REGISTRY_URL, new Map([[topic, schema]]));
  return { topic, batchCodec, batchPublisher: await EventPublisher.connect(kafka, batchCodec, quietLogger) };
}

/** privateTopic with `partitions` partitions, and a way to put an event on one of them (closed when the test ends). */
async function partitionedTopic(label: string, partitions: number): Promise<{ topic: string; codec: EventCodec; sendTo: (partition: number, event: UploadRequested) => Promise<void> }> {
  const { topic, batchCodec: codec, batchPublisher } = await privateTopic(label, partitions);
  const producer = kafka.producer();
  await producer.connect();
  onTestFinished(async () => {
    await producer.disconnect();
    await batchPublisher.disconnect();
  });
  return {
    topic, codec,
    sendTo: async (partition, event) => {
      await producer.send({ topic, messages: [{ partition, key: event.imageUID, value: await codec.encode(topic, event) }] });
    },
  };
}

/**
 * A loop allowed one detached handler, whose handler notes each message in `handled` and holds those in `slow` until
 * the test calls their `releases` entry.
 */
function cappedLoop(topics: readonly string[], codecOf: (topic: string) => EventCodec, logger: Logger,
  held: { readonly slow: ReadonlySet<string>; readonly handled: string[]; readonly releases: Map<string, () => void> }): ConsumeLoop<UploadRequested> {
  return new ConsumeLoop<UploadRequested>({
    kafka, groupId: `group-${uniqueSuffix()}`, topics, logger, retryPolicy: fastRetry, maxWaitTimeMs: 500, stallMs: 3_000,
    detachAfterMs: 300, maxDetachedHandlers: 1,
    decode: (name, value) => codecOf(name).decode(name, value) as Promise<UploadRequested>,
    handler: async (message) => {
      held.handled.push(message.event.eventId);
      if (held.slow.has(message.event.eventId)) await new Promise<void>((resolve) => held.releases.set(message.event.eventId, resolve));
    },
  });
}

type EachBatch = NonNullable<NonNullable<Parameters<ReturnType<Kafka['consumer']>['run']>[0]>['eachBatch']>;

/**
 * A client whose first consumer runs `before` ahead of each batch it would hand to the loop (to stall or crash
 * kafkajs's own fetch loop, which no broker trick does on demand); consumers made after it are untouched.
 */
function kafkaWhoseFirstConsumer(before: () => Promise<void>): Kafka {
  let consumersMade = 0;
  return Object.create(kafka, {
    consumer: {
      value: (config: Parameters<Kafka['consumer']>[0]) => {
        const consumer = kafka.consumer(config);
        consumersMade += 1;
        if (consumersMade === 1) {
          const run = consumer.run.bind(consumer);
          consumer.run = (runConfig) => {
            const eachBatch: EachBatch | undefined = runConfig?.eachBatch;
            return run({ ...runConfig, eachBatch: async (payload) => { await before(); await eachBatch?.(payload); } });
          };
        }
        return consumer;
      },
    },
  }) as Kafka;
}

beforeAll(async () => {
  await createTestTopics(kafka, Object.values(topics).flatMap((name) => [name, `${name}.dlq`]));
  publisher = await EventPublisher.connect(kafka, codec, quietLogger);
});

afterAll(async () => {
  await publisher.disconnect();
});

describe('consume loop against the real broker and registry', () => {
  it('round-trips an event through the registry codec and carries the trace on', async () => {
    // 1. publish with a known trace; 2. consume; 3. compare the decoded event and trace ids
    const topic = topics.roundTrip;
    const received: ConsumedMessage<UploadRequested>[] = [];
    const loop = loopOf(topic, async (message) => { received.push(message); });
    await loop.start();
    try {
      const event = sample('A'.repeat(60));
      const trace = startTrace();
      await publisher.publish(topic, event, { trace });
      const message = await waitFor(() => received.find((entry) => entry.event.eventId === event.eventId), { what: 'the published event' });
      expect(message.event).toEqual(event);
      expect(message.key).toBe(event.imageUID);
      expect(message.headers[HEADER.pid]).toBe(event.pid);
      expect(message.trace.traceId).toBe(trace.traceId);
      expect(message.headers[HEADER.traceparent]).not.toBe(formatTraceparent(trace)); // a child span, same trace
    } finally {
      await loop.stop();
    }
  });

  it('keeps its partition through a handler that runs longer than the session, handles the message once, and names it in a warning while it runs', async () => {
    const topic = topics.slow;
    const groupId = `group-${uniqueSuffix()}`;
    const handled: string[] = [];
    const lines: Record<string, unknown>[] = [];
    const logger = createLogger({ service: 'test', destination: new Writable({ write(chunk: Buffer, _encoding, done) { lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>); done(); } }) });
    // The broker's smallest session (group.min.session.timeout.ms), so the handler need outrun no more than that.
    const sessionTimeoutMs = 6_000;
    const loop = new ConsumeLoop<UploadRequested>({
      kafka, maxWaitTimeMs: FETCH_WAIT_MS, groupId, topics: [topic], logger, retryPolicy: fastRetry, sessionTimeoutMs, slowHandlerWarnMs: 4_000,
      decode: (name, value) => codec.decode(name, value) as Promise<UploadRequested>,
      handler: async (message) => {
        handled.push(message.event.eventId);
        if (handled.length === 1) await new Promise((resolve) => setTimeout(resolve, 10_000)); // well past the 6 s session
      },
    });
    const [slow, next] = [sample('S'.repeat(60)), sample('S'.repeat(60))];
    await loop.start();
    try {
      await publisher.publish(topic, slow);
      await publisher.publish(topic, next);
      await waitFor(() => handled.includes(next.eventId), { what: 'the message after the slow one', timeoutMs: 40_000 });
      // A member that lost its partition for the slow handler hears so at its next heartbeat (a third of the session,
      // as the loop sets it) and fetches the partition again at once: a second delivery would show within that.
      await new Promise((resolve) => setTimeout(resolve, sessionTimeoutMs / 3));
      expect(handled).toEqual([slow.eventId, next.eventId]);
      // 10 s of handling at one warning per 4 s: two, each naming the message; none for the quick one after it.
      const warnings = lines.filter((line) => line['msg'] === 'handler still running; its partition waits for it');
      expect(warnings.map((line) => [line['level'], line['topic'], line['offset'], line['pid']])).toEqual([['warn', topic, '0', slow.pid], ['warn', topic, '0', slow.pid]]);
      expect(Number(warnings[1]?.['runningForMs'])).toBeGreaterThanOrEqual(8_000);
    } finally {
      await loop.stop();
    }
    const admin = kafka.admin();
    await admin.connect();
    try {
      const committed = await admin.fetchOffsets({ groupId, topics: [topic] });
      expect(committed[0]?.partitions.map((entry) => entry.offset)).toEqual(['2']);
    } finally {
      await admin.disconnect();
    }
  }, 60_000);

  it('goes on with its other partitions while one handler runs long, and keeps that partition in order, retries included (not key-ordered, the default)', async () => {
    const { topic, codec: holCodec, sendTo } = await partitionedTopic('hol', 2);
    let release = (): void => undefined;
    const released = new Promise<void>((resolve) => { release = resolve; });
    // afterBig is another image's: without keyOrderedDetach it waits for the big one, its retry included.
    const [big, afterBig, small] = [sample('B'.repeat(60)), sample('C'.repeat(60)), sample('D'.repeat(60))];
    const handled: string[] = [];
    const groupId = `group-${uniqueSuffix()}`;
    const maxWaitTimeMs = 500;
    const loop = new ConsumeLoop<UploadRequested>({
      kafka, groupId, topics: [topic], logger: quietLogger, retryPolicy: fastRetry, maxWaitTimeMs, stallMs: 3_000, detachAfterMs: 300,
      decode: (name, value) => holCodec.decode(name, value) as Promise<UploadRequested>,
      handler: async (message) => {
        handled.push(message.event.eventId);
        // The big one's first attempt runs until released, then fails transiently; its second succeeds at once.
        if (message.event.eventId === big.eventId && handled.filter((id) => id === big.eventId).length === 1) {
          await released;
          throw new StoreUnavailableError('S3', new Error('the store went away'));
        }
      },
    });
    await loop.start();
    try {
      await sendTo(0, big);
      await waitFor(() => handled.includes(big.eventId), { what: 'the big message started' });
      await sendTo(0, afterBig);
      await sendTo(1, small);
      // Before, the small message on the other partition waited for the big one's handler.
      await waitFor(() => handled.includes(small.eventId), { what: 'the other partition\'s message, while the big one runs', timeoutMs: 10_000 });
      expect(handled).toEqual([big.eventId, small.eventId]);
      release();
      await waitFor(() => handled.includes(afterBig.eventId), { what: 'the message after the big one' });
      // A message handled again would be retried after at most the policy's longest delay and fetched within one
      // fetch wait after that: no poll can show it did not happen, so the window is as long as both.
      await new Promise((resolve) => setTimeout(resolve, fastRetry.maxDelayMs + maxWaitTimeMs));
      expect(handled).toEqual([big.eventId, small.eventId, big.eventId, afterBig.eventId]);
    } finally {
      release();
      await loop.stop();
    }
    const admin = kafka.admin();
    await admin.connect();
    try {
      const [committed] = await admin.fetchOffsets({ groupId, topics: [topic] });
      expect(committed?.partitions.map((entry) => [entry.partition, entry.offset]).sort()).toEqual([[0, '2'], [1, '1']]);
    } finally {
      await admin.disconnect();
    }
  }, 60_000);

  it('goes on with the other keys of a partition while one handler runs long, keeps that key in order, and commits nothing past the long one until it ends (found by a review: one slow pull held every upload sharing its partition)', async () => {
    const { topic, codec: keyCodec, sendTo } = await partitionedTopic('keys', 1);
    let release = (): void => undefined;
    const released = new Promise<void>((resolve) => { release = resolve; });
    const [slow, otherA, sameKey, otherB] = [sample('S'.repeat(60)), sample('T'.repeat(60)), sample('S'.repeat(60)), sample('U'.repeat(60))];
    const handled: string[] = [];
    const groupId = `group-${uniqueSuffix()}`;
    const loop = new ConsumeLoop<UploadRequested>({
      kafka, groupId, topics: [topic], logger: quietLogger, retryPolicy: fastRetry, maxWaitTimeMs: 500, stallMs: 3_000, detachAfterMs: 300, keyOrderedDetach: true,
      decode: (name, value) => keyCodec.decode(name, value) as Promise<UploadRequested>,
      handler: async (message) => {
        handled.push(message.event.eventId);
        if (message.event.eventId === slow.eventId) await released;
      },
    });
    const admin = kafka.admin();
    await admin.connect();
    const committed = async (): Promise<bigint> => BigInt((await admin.fetchOffsets({ groupId, topics: [topic] }))[0]?.partitions[0]?.offset ?? '-1');
    await loop.start();
    try {
      await sendTo(0, slow);
      await waitFor(() => handled.includes(slow.eventId), { what: 'the slow message started' });
      await sendTo(0, otherA);
      await sendTo(0, sameKey);
      await sendTo(0, otherB);
      // Before, every message behind the slow one waited for it: its partition was paused.
      await waitFor(() => handled.includes(otherA.eventId) && handled.includes(otherB.eventId), { what: 'the other keys\' messages, while the slow one runs', timeoutMs: 10_000 });
      expect(handled).toEqual([slow.eventId, otherA.eventId, otherB.eventId]);
      // Handled ahead of the slow one, but not committed: a crash now has them handled again, never skipped.
      expect(await committed()).toBeLessThanOrEqual(0n);
      release();
      await waitFor(async () => (await committed()) === 4n, { what: 'the whole partition committed once the slow one ended' });
      expect(handled).toEqual([slow.eventId, otherA.eventId, otherB.eventId, sameKey.eventId]);
    } finally {
      release();
      await loop.stop();
      await admin.disconnect();
    }
  }, 60_000);

  it('hands a partition\'s messages handled ahead of a long one to the next member again when stopped before it ended, and loses none', async () => {
    const { topic, codec: keyCodec, sendTo } = await partitionedTopic('keysstop', 1);
    const [slow, other, sameKey] = [sample('V'.repeat(60)), sample('W'.repeat(60)), sample('V'.repeat(60))];
    const handled: string[] = [];
    const groupId = `group-${uniqueSuffix()}`;
    let slowRuns = 0;
    const loopOf = (): ConsumeLoop<UploadRequested> => new ConsumeLoop<UploadRequested>({
      kafka, groupId, topics: [topic], logger: quietLogger, retryPolicy: fastRetry, maxWaitTimeMs: 500, stallMs: 3_000, detachAfterMs: 300, keyOrderedDetach: true,
      decode: (name, value) => keyCodec.decode(name, value) as Promise<UploadRequested>,
      handler: async (message) => {
        handled.push(message.event.eventId);
        // The first run of the slow one lasts until the loop stops (its signal aborts it, as a pull's is); later ones end at once.
        if (message.event.eventId === slow.eventId && (slowRuns += 1) === 1) {
          await new Promise<void>((resolve, reject) => message.signal.addEventListener('abort', () => reject(new Error('stopped')), { once: true }));
        }
      },
    });
    const first = loopOf();
    await first.start();
    try {
      await sendTo(0, slow);
      await waitFor(() => handled.includes(slow.eventId), { what: 'the slow message started' });
      await sendTo(0, other);
      await sendTo(0, sameKey);
      await waitFor(() => handled.includes(other.eventId), { what: 'the other key\'s message handled ahead' });
    } finally {
      await first.stop();
    }
    expect(handled).toEqual([slow.eventId, other.eventId]);
    const second = loopOf();
    await second.start();
    try {
      await waitFor(() => handled.includes(sameKey.eventId), { what: 'the next member handling the partition from the slow one on' });
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      expect(handled).toEqual([slow.eventId, other.eventId, slow.eventId, other.eventId, sameKey.eventId]);
    } finally {
      await second.stop();
    }
  }, 60_000);

  it('on a stop, commits the messages handled ahead of a long one that ended meanwhile, so the next member does not handle them again (found by a reread)', async () => {
    const { topic, codec: keyCodec, sendTo } = await partitionedTopic('keysdrain', 1);
    const [slow, otherA, otherB] = [sample('X'.repeat(60)), sample('Y'.repeat(60)), sample('Z'.repeat(60))];
    const handled: string[] = [];
    const groupId = `group-${uniqueSuffix()}`;
    const loopOf = (): ConsumeLoop<UploadRequested> => new ConsumeLoop<UploadRequested>({
      kafka, groupId, topics: [topic], logger: quietLogger, retryPolicy: fastRetry, maxWaitTimeMs: 500, stallMs: 3_000, detachAfterMs: 300, keyOrderedDetach: true,
      decode: (name, value) => keyCodec.decode(name, value) as Promise<UploadRequested>,
      handler: async (message) => {
        handled.push(message.event.eventId);
        // A handler that finishes its write though the stop began (as a pull past its last byte does).
        if (message.event.eventId === slow.eventId && handled.length === 1) await new Promise((resolve) => setTimeout(resolve, 2_500));
      },
    });
    const first = loopOf();
    await first.start();
    try {
      await sendTo(0, slow);
      await waitFor(() => handled.includes(slow.eventId), { what: 'the slow message started' });
      await sendTo(0, otherA);
      await sendTo(0, otherB);
      await waitFor(() => handled.includes(otherB.eventId), { what: 'the other keys handled ahead' });
    } finally {
      await first.stop();
    }
    const second = loopOf();
    await second.start();
    try {
      await new Promise((resolve) => setTimeout(resolve, 2_000));
      expect(handled).toEqual([slow.eventId, otherA.eventId, otherB.eventId]);
    } finally {
      await second.stop();
    }
  }, 60_000);

  it('waits on a stop for a handler that was about to go on detached, and commits it (found by a reread: stop returned while it ran)', async () => {
    const { topic, codec: keyCodec, sendTo } = await partitionedTopic('stoprace', 1);
    const event = sample('Q'.repeat(60));
    const handled: string[] = [];
    let running = false;
    const groupId = `group-${uniqueSuffix()}`;
    const loopOf = (): ConsumeLoop<UploadRequested> => new ConsumeLoop<UploadRequested>({
      kafka, groupId, topics: [topic], logger: quietLogger, retryPolicy: fastRetry, maxWaitTimeMs: 500, stallMs: 3_000, detachAfterMs: 300,
      decode: (name, value) => keyCodec.decode(name, value) as Promise<UploadRequested>,
      handler: async (message) => {
        handled.push(message.event.eventId);
        running = true;
        if (handled.length === 1) await new Promise((resolve) => setTimeout(resolve, 1_500));
        running = false;
      },
    });
    const first = loopOf();
    await first.start();
    await sendTo(0, event);
    await waitFor(() => running, { what: 'the handler started', intervalMs: 10 });
    await first.stop(); // before detachAfterMs
    expect(running).toBe(false);
    const second = loopOf();
    await second.start();
    try {
      await new Promise((resolve) => setTimeout(resolve, 2_000));
      expect(handled).toEqual([event.eventId]);
    } finally {
      await second.stop();
    }
  }, 60_000);

  it('commits a detached handler\'s message when a rebalance left its partition with this member, so a SIGTERM after (a rolling deploy) does not have it handled again (found by a reread)', async () => {
    const { topic, codec: rbCodec, sendTo } = await partitionedTopic('keeps', 1);
    const groupId = `group-${uniqueSuffix()}`;
    const handled: string[] = [];
    let releaseA = (): void => undefined;
    const held = new Promise<void>((resolve) => { releaseA = resolve; });
    // kafkajs's round robin orders members by id, which starts with the client id: A's sorts first and keeps the partition.
    const loopOf = (name: 'A' | 'B' | 'C', clientId: string): ConsumeLoop<UploadRequested> => new ConsumeLoop<UploadRequested>({
      kafka: testKafka(clientId), groupId, topics: [topic], logger: quietLogger, retryPolicy: fastRetry,
      sessionTimeoutMs: 10_000, maxWaitTimeMs: 500, stallMs: 30_000, detachAfterMs: 300,
      decode: (name_, value) => rbCodec.decode(name_, value) as Promise<UploadRequested>,
      handler: async (message) => {
        handled.push(`${name}:${message.offset}`);
        if (name === 'A' && message.offset === '0') await held;
      },
    });
    const a = loopOf('A', `a-member-a-${uniqueSuffix()}`);
    const b = loopOf('B', `z-member-b-${uniqueSuffix()}`);
    try {
      await sendTo(0, sample(`uid-keeps-${uniqueSuffix()}`));
      await a.start();
      await waitFor(() => handled.includes('A:0'), { what: 'A handling offset 0' });
      await b.start(); // a rebalance that leaves the partition with A
      await new Promise((resolve) => setTimeout(resolve, 1_500));
      const stopping = a.stop();
      releaseA();
      await stopping;
    } finally {
      releaseA();
      await Promise.all([a.stop(), b.stop()]);
    }
    const c = loopOf('C', `c-member-c-${uniqueSuffix()}`);
    await c.start();
    try {
      await new Promise((resolve) => setTimeout(resolve, 2_000));
      expect(handled).toEqual(['A:0']);
    } finally {
      await c.stop();
    }
  }, 90_000);

  it('commits a detached handler\'s message as soon as it ends, so a SIGTERM right then does not have it handled again (found by a probe)', async () => {
    const { topic, codec: stopCodec, sendTo } = await partitionedTopic('stop', 1);
    const groupId = `group-${uniqueSuffix()}`;
    const event = sample('H'.repeat(60));
    let stopping: Promise<void> | undefined;
    const detachAfterMs = 200;
    const loop: ConsumeLoop<UploadRequested> = new ConsumeLoop<UploadRequested>({
      kafka, groupId, topics: [topic], logger: quietLogger, retryPolicy: fastRetry, maxWaitTimeMs: 500, stallMs: 3_000, detachAfterMs,
      decode: (name, value) => stopCodec.decode(name, value) as Promise<UploadRequested>,
      handler: async () => {
        // The scenario: a handler that outruns detachAfterMs well (it goes on detached), then a SIGTERM as it ends.
        await new Promise((resolve) => setTimeout(resolve, 4 * detachAfterMs));
        stopping = loop.stop(); // a SIGTERM as the handler ends, before its partition is fetched again
      },
    });
    await loop.start();
    try {
      await sendTo(0, event);
      await waitFor(() => stopping !== undefined, { what: 'the handler ended and the loop stopping' });
      await stopping;
    } finally {
      await loop.stop();
    }
    const admin = kafka.admin();
    await admin.connect();
    try {
      const [committed] = await admin.fetchOffsets({ groupId, topics: [topic] });
      expect(committed?.partitions.map((entry) => entry.offset)).toEqual(['1']);
    } finally {
      await admin.disconnect();
    }
  }, 60_000);

  it('does not commit a detached handler\'s message once a rebalance gave its partition to another member, which would move the group back (found by a probe)', async () => {
    const { topic, codec: rewindCodec, sendTo } = await partitionedTopic('rewind', 1);
    const groupId = `group-${uniqueSuffix()}`;
    const handled: string[] = [];
    const lines: Record<string, unknown>[] = [];
    const aLogger = createLogger({ service: 'test', destination: new Writable({ write(chunk: Buffer, _encoding, done) { lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>); done(); } }) });
    let releaseA = (): void => undefined;
    const held = new Promise<void>((resolve) => { releaseA = resolve; });
    // kafkajs's round robin orders members by id, which starts with the client id: B's sorts first and gets the partition.
    const loopOf = (name: 'A' | 'B', clientId: string): ConsumeLoop<UploadRequested> => new ConsumeLoop<UploadRequested>({
      kafka: testKafka(clientId), groupId, topics: [topic], logger: name === 'A' ? aLogger : quietLogger, retryPolicy: fastRetry,
      sessionTimeoutMs: 10_000, maxWaitTimeMs: 500, stallMs: 30_000, detachAfterMs: 300,
      decode: (name_, value) => rewindCodec.decode(name_, value) as Promise<UploadRequested>,
      handler: async (message) => {
        handled.push(`${name}:${message.offset}`);
        if (name === 'A' && message.offset === '0') await held;
      },
    });
    const a = loopOf('A', `z-member-a-${uniqueSuffix()}`);
    const b = loopOf('B', `a-member-b-${uniqueSuffix()}`);
    const admin = kafka.admin();
    await admin.connect();
    const committed = async (): Promise<string | undefined> => (await admin.fetchOffsets({ groupId, topics: [topic] }))[0]?.partitions[0]?.offset;
    try {
      await sendTo(0, sample(`uid-rewind-0-${uniqueSuffix()}`));
      await a.start();
      await waitFor(() => handled.includes('A:0'), { what: 'A handling offset 0' });
      for (let n = 1; n <= 5; n += 1) await sendTo(0, sample(`uid-rewind-${n}-${uniqueSuffix()}`));
      await b.start();
      await waitFor(async () => (await committed()) === '6', { what: 'B handling 0 to 5 and committing 6' });
      releaseA();
      await waitFor(async () => lines.some((line) => String(line['msg']).includes('rebalanced while a detached handler ran')) || (await committed()) !== '6', { what: 'A\'s detached handler ending' });
      expect(await committed()).toBe('6');
    } finally {
      releaseA();
      await Promise.all([a.stop(), b.stop()]);
      await admin.disconnect();
    }
  }, 90_000);

  it('detaches no more than maxDetachedHandlers at once: past that a slow handler holds the other partitions of its topic, and the other topics go on', async () => {
    const uploads = await partitionedTopic('cap', 3);
    const transfers = await partitionedTopic('capother', 1);
    const releases = new Map<string, () => void>();
    const [first, second, quick, otherTopic] = [sample('E'.repeat(60)), sample('F'.repeat(60)), sample('G'.repeat(60)), sample('K'.repeat(60))];
    const slow = new Set([first.eventId, second.eventId]);
    const handled: string[] = [];
    const lines: Record<string, unknown>[] = [];
    const logger = createLogger({ service: 'test', destination: new Writable({ write(chunk: Buffer, _encoding, done) { lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>); done(); } }) });
    const maxWaitTimeMs = 500;
    const loop = cappedLoop([uploads.topic, transfers.topic], (name) => (name === uploads.topic ? uploads.codec : transfers.codec), logger, { slow, handled, releases });
    const registry = createMetrics('cap-test');
    instrumentConsumeLoop(registry, loop, [uploads.topic, transfers.topic]);
    const gauge = async (name: string): Promise<string | undefined> => new RegExp(`^${name}(?:\\{[^}]*\\})? (\\d+)$`, 'm').exec(await registry.metrics())?.[1];
    await loop.start();
    try {
      expect([await gauge('orbit_consumer_detached_handlers'), await gauge('orbit_consumer_detached_handlers_max')]).toEqual(['0', '1']);
      await uploads.sendTo(0, first);
      await waitFor(() => handled.includes(first.eventId), { what: 'the first slow message started' });
      // kafkajs fetches again only once the first one's batch returns, that is once it is detached: the second one
      // starting is the sign of that.
      await uploads.sendTo(1, second);
      await waitFor(() => handled.includes(second.eventId), { what: 'the second slow message started' });
      await waitFor(() => lines.some((line) => line['msg'] === 'detached handlers at their cap: the topic\'s partitions wait until one ends' && line['topic'] === uploads.topic), { what: 'the second one detached past the cap, holding its topic' });
      await uploads.sendTo(2, quick);
      await transfers.sendTo(0, otherTopic);
      // Before, the second held the whole fetch loop: the other topic's message waited for it too.
      await waitFor(() => handled.includes(otherTopic.eventId), { what: 'the other topic\'s message, while its topic is not held', timeoutMs: 10_000 });
      // The quick one was sent before the other topic's, so a topic not held would have handed it over in the fetch
      // that brought the other topic's, or the next one; no poll can show it was not, so the window is two fetch waits.
      await new Promise((resolve) => setTimeout(resolve, 2 * maxWaitTimeMs));
      expect(handled).toEqual([first.eventId, second.eventId, otherTopic.eventId]);
      // What an operator sees while the topic waits: both slow ones on detached, one past the cap.
      expect([await gauge('orbit_consumer_detached_handlers'), await gauge('orbit_consumer_detached_handlers_max')]).toEqual(['2', '1']);
      releases.get(second.eventId)?.();
      await waitFor(() => handled.includes(quick.eventId), { what: 'the quick message, once the second is done' });
      expect(handled).toEqual([first.eventId, second.eventId, otherTopic.eventId, quick.eventId]);
    } finally {
      for (const release of releases.values()) release();
      await loop.stop();
    }
  }, 60_000);

  it('past the cap, holds its topic only until any detached handler ends, not the one that went past it (found by a bench: a 1 GiB store past the cap held every small upload ~40 s)', async () => {
    const uploads = await partitionedTopic('capany', 3);
    const releases = new Map<string, () => void>();
    const [first, long, quick] = [sample('L'.repeat(60)), sample('M'.repeat(60)), sample('N'.repeat(60))];
    const slow = new Set([first.eventId, long.eventId]);
    const handled: string[] = [];
    const loop = cappedLoop([uploads.topic], () => uploads.codec, quietLogger, { slow, handled, releases });
    await loop.start();
    try {
      await uploads.sendTo(0, first);
      await waitFor(() => handled.includes(first.eventId), { what: 'the first slow message started' });
      await uploads.sendTo(1, long);
      await waitFor(() => handled.includes(long.eventId), { what: 'the long one started, past the cap' });
      await new Promise((resolve) => setTimeout(resolve, 600));
      await uploads.sendTo(2, quick);
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      expect(handled).toEqual([first.eventId, long.eventId]);
      releases.get(first.eventId)?.();
      // Before, the quick one waited for the long one, which went past the cap.
      await waitFor(() => handled.includes(quick.eventId), { what: 'the quick message, once the first ended, while the long one runs', timeoutMs: 10_000 });
    } finally {
      for (const release of releases.values()) release();
      await loop.stop();
    }
  }, 60_000);

  it('replaces a consumer whose kafkajs fetch loop stalls with no handler running, and the new one handles the message the old one held', async () => {
    const { topic, batchCodec, batchPublisher } = await privateTopic('stall');
    const lines: Record<string, unknown>[] = [];
    const logger = createLogger({ service: 'test', destination: new Writable({ write(chunk: Buffer, _encoding, done) { lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>); done(); } }) });
    // The first consumer's kafkajs worker hangs before handing its first batch to the loop: what the loop sees
    // is what CI showed twice (a batch fetched, then nothing at all: no fetch, no handler, no error).
    let release = (): void => undefined;
    const stallingKafka = kafkaWhoseFirstConsumer(async () => {
      await new Promise<void>((resolve) => { release = resolve; });
    });
    const handled: string[] = [];
    const replaced: ConsumerEventPayloads['consumer.replaced'][] = [];
    const stallMs = 3_000;
    const loop = new ConsumeLoop<UploadRequested>({
      kafka: stallingKafka, groupId: `group-${uniqueSuffix()}`, topics: [topic], logger, retryPolicy: fastRetry,
      sessionTimeoutMs: 6_000, maxWaitTimeMs: 500, stallMs, disconnectWaitMs: 2_000,
      decode: (name, value) => batchCodec.decode(name, value) as Promise<UploadRequested>,
      handler: async (message) => { handled.push(message.event.eventId); },
    });
    loop.on(CONSUMER_EVENTS.replaced, (event: ConsumerEventPayloads['consumer.replaced']) => replaced.push(event));
    const metrics = createMetrics('stall-test');
    instrumentConsumeLoop(metrics, loop);
    const event = sample('T'.repeat(60));
    await loop.start();
    try {
      // Idle past stallMs: fetching with nothing to read is not a stall. The watchdog looks every stallMs / 4, so a
      // replacement, were idling taken for a stall, would come by stallMs and one look more; no poll can show it did not.
      await new Promise((resolve) => setTimeout(resolve, stallMs + stallMs / 4 + 250));
      expect(replaced).toEqual([]);
      await batchPublisher.publish(topic, event);
      await waitFor(() => handled.includes(event.eventId), { what: 'the message, handled by the replacement consumer', timeoutMs: 40_000 });
      expect(handled).toEqual([event.eventId]);
      expect(replaced).toHaveLength(1);
      expect((await metrics.getSingleMetric('orbit_consumers_replaced_total')?.get())?.values.map((value) => value.value)).toEqual([1]);
      const report = lines.find((line) => String(line['msg']).startsWith('consumer replaced by a new one'));
      expect(report?.['level']).toBe('error');
      expect(String(report?.['reason'])).toMatch(/^fetched nothing for \d+ s with no handler running$/);
      // What it did last names where it stopped: here, the batch it never handed over.
      const activity = report?.['lastKafkaActivity'] as { what: string; detail?: { topic?: string } }[];
      expect(activity.filter((entry) => entry.what === 'batch started').at(-1)?.detail?.topic).toBe(topic);
      // The stalled consumer's disconnect never finishes: stop() gives up on it instead of hanging the shutdown.
      const stopping = performance.now();
      await loop.stop();
      expect(performance.now() - stopping).toBeLessThan(10_000);
      expect(lines.filter((line) => line['msg'] === 'consumer disconnect did not finish; stopping without it').map((line) => line['level'])).toEqual(['warn']);
    } finally {
      release();
      await loop.stop();
      await batchPublisher.disconnect();
    }
    expect(handled).toEqual([event.eventId]); // the old consumer, let go, does not handle it again
  }, 60_000);

  it('replaces a consumer kafkajs crashed and will not restart, and the new one handles the message', async () => {
    const { topic, batchCodec, batchPublisher } = await privateTopic('crash');
    const lines: Record<string, unknown>[] = [];
    const logger = createLogger({ service: 'test', destination: new Writable({ write(chunk: Buffer, _encoding, done) { lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>); done(); } }) });
    // kafkajs restarts a crashed consumer only when the error is retriable; this one is not.
    const crashingKafka = kafkaWhoseFirstConsumer(() => Promise.reject(Object.assign(new Error('not retriable'), { retriable: false })));
    const handled: string[] = [];
    const crashes: ConsumerEventPayloads['consumer.crash'][] = [];
    const loop = new ConsumeLoop<UploadRequested>({
      kafka: crashingKafka, groupId: `group-${uniqueSuffix()}`, topics: [topic], logger, retryPolicy: fastRetry, sessionTimeoutMs: 6_000, maxWaitTimeMs: 500, stallMs: 3_000,
      decode: (name, value) => batchCodec.decode(name, value) as Promise<UploadRequested>,
      handler: async (message) => { handled.push(message.event.eventId); },
    });
    loop.on(CONSUMER_EVENTS.crash, (event: ConsumerEventPayloads['consumer.crash']) => crashes.push(event));
    const event = sample('C'.repeat(60));
    await loop.start();
    try {
      await batchPublisher.publish(topic, event);
      await waitFor(() => handled.includes(event.eventId), { what: 'the message, handled by the replacement consumer', timeoutMs: 40_000 });
      expect(crashes.map((crash) => crash.restart)).toEqual([false]);
      const report = lines.find((line) => String(line['msg']).startsWith('consumer replaced by a new one'));
      expect(report?.['reason']).toBe('crashed, and kafkajs will not restart it');
      expect(loop.ready).toBe(true);
    } finally {
      await loop.stop();
      await batchPublisher.disconnect();
    }
  }, 60_000);

  it('says how far behind each partition it is: the messages not yet handled when fetched, after each one handled, none once it has caught up, in orbit_consumer_lag_messages', async () => {
    const { topic, batchCodec, batchPublisher } = await privateTopic('lag');
    onTestFinished(async () => { await batchPublisher.disconnect(); });
    for (let index = 0; index < 5; index += 1) await batchPublisher.publish(topic, sample(`L${String(index).repeat(59)}`));
    const handled: string[] = [];
    const loop = new ConsumeLoop<UploadRequested>({
      kafka, maxWaitTimeMs: FETCH_WAIT_MS, groupId: `group-${uniqueSuffix()}`, topics: [topic], logger: quietLogger, retryPolicy: fastRetry,
      decode: (name, value) => batchCodec.decode(name, value) as Promise<UploadRequested>,
      handler: async (message) => { handled.push(message.event.eventId); },
    });
    const registry = createMetrics('test');
    instrumentConsumeLoop(registry, loop);
    const lags: number[] = [];
    loop.on(CONSUMER_EVENTS.lag, (event: ConsumerEventPayloads['consumer.lag']) => lags.push(event.lag));
    await loop.start();
    try {
      await waitFor(() => handled.length === 5, { what: 'the five messages' });
      // Five behind when fetched, before any is handled (a partition stuck on its first shows its lag too), then one less each.
      expect(lags).toEqual([5, 4, 3, 2, 1, 0]);
      const gauge = (await registry.getSingleMetric('orbit_consumer_lag_messages')?.get())?.values;
      expect(gauge).toEqual([{ labels: { topic, partition: '0' }, value: 0 }]);
    } finally {
      await loop.stop();
    }
  });

  it('tells handlers the logical topic of a renamed copy and commits on the real one', async () => {
    const topic = topics.roundTrip;
    const groupId = `group-${uniqueSuffix()}`;
    const received: ConsumedMessage<UploadRequested>[] = [];
    const loop = new ConsumeLoop<UploadRequested>({
      kafka, maxWaitTimeMs: FETCH_WAIT_MS, groupId, topics: [topic], logger: quietLogger, retryPolicy: fastRetry, logicalTopicOf: (name) => `mirror-of.${name}`,
      decode: (name, value) => codec.decode(name, value) as Promise<UploadRequested>, handler: async (message) => { received.push(message); },
    });
    await loop.start();
    const admin = kafka.admin();
    await admin.connect();
    try {
      const event = sample('L'.repeat(60));
      await publisher.publish(topic, event);
      const message = await waitFor(() => received.find((entry) => entry.event.eventId === event.eventId), { what: 'the published event' });
      expect(message.topic).toBe(`mirror-of.${topic}`);
      expect(message.log.bindings()).toMatchObject({ topic, offset: message.offset, imageUID: event.imageUID });
      await waitFor(async () => {
        const [committed] = await admin.fetchOffsets({ groupId, topics: [topic] });
        return committed?.partitions.some((partition) => partition.partition === message.partition && BigInt(partition.offset) > BigInt(message.offset));
      }, { what: 'the offset committed on the real topic' });
    } finally {
      await admin.disconnect();
      await loop.stop();
    }
  });

  it('sends an undecodable message to the DLQ with its bytes and goes on with the next', async () => {
    const topic = topics.poison;
    const handled: string[] = [];
    const noticed: DeadLetteredMessage<UploadRequested>[] = [];
    const loop = loopOf(topic, async (message) => { handled.push(message.event.eventId); }, async (letter) => { noticed.push(letter); });
    const dead = nextEvent<ConsumerEventPayloads['consumer.dlq']>(loop, CONSUMER_EVENTS.deadLettered);
    await loop.start();
    try {
      const garbage = Buffer.from('definitely not avro');
      const good = sample('B'.repeat(60));
      await publisher.sendRaw(topic, [{ key: 'B'.repeat(60), value: garbage, headers: { 'x-test': suffix } }]);
      await publisher.publish(topic, good);
      const letter = await dead;
      expect(letter.topic).toBe(topic);
      await waitFor(() => handled.includes(good.eventId), { what: 'the good event after the poison one' });
      const [dlq] = await readAll(kafka, `${topic}.dlq`, 1);
      expect(dlq?.value).toEqual(garbage);
      expect(dlq?.headers[HEADER.dlqError]).toBe('ORBIT_ERR_DECODE');
      expect(dlq?.headers[HEADER.dlqTopic]).toBe(topic);
      expect(dlq?.headers['x-test']).toBe(suffix);
      // Told of the letter, with nothing decoded to hand over.
      expect(noticed).toMatchObject([{ topic, offset: letter.offset, message: undefined }]);
    } finally {
      await loop.stop();
    }
  });

  it('dead-letters an undecodable message as large as its topic takes without its value, and goes on (found by a probe: the letter was refused for ever)', async () => {
    const { topic, batchPublisher } = await privateTopic('huge');
    const handled: string[] = [];
    const loop = new ConsumeLoop<UploadRequested>({
      kafka, maxWaitTimeMs: FETCH_WAIT_MS, groupId: `group-${uniqueSuffix()}`, topics: [topic], logger: quietLogger, retryPolicy: fastRetry,
      decode: async () => { throw new DecodeError(topic, new Error('not avro')); }, handler: async (message) => { handled.push(message.offset); },
    });
    await loop.start();
    try {
      // Just under the broker's default max.message.bytes (1 048 588) with its batch overhead; the letter's headers tip it over.
      const huge = Buffer.alloc(1_048_350, 0x61);
      await batchPublisher.sendRaw(topic, [{ key: 'H'.repeat(60), value: huge, headers: { 'x-test': suffix } }]);
      const [letter] = await readAll(kafka, `${topic}.dlq`, 1);
      expect(letter?.value).toBeNull();
      expect(letter?.key?.toString()).toBe('H'.repeat(60));
      expect(letter?.headers[HEADER.dlqError]).toBe('ORBIT_ERR_DECODE');
      expect(letter?.headers[HEADER.dlqOffset]).toBe('0');
      expect(letter?.headers[HEADER.dlqOmitted]).toBe(String(huge.length));
      expect(letter?.headers[HEADER.dlqOmittedSha256]).toBe(createHash('sha256').update(huge).digest('hex'));
      expect(letter?.headers['x-test']).toBeUndefined();
      await batchPublisher.sendRaw(topic, [{ key: 'H'.repeat(60), value: Buffer.from('small poison'), headers: {} }]);
      const both = await readAll(kafka, `${topic}.dlq`, 2);
      expect(both[1]?.value?.toString()).toBe('small poison');
      expect(handled).toEqual([]);
    } finally {
      await loop.stop();
      await batchPublisher.disconnect();
    }
  }, 60_000);

  it('passes over a message re-driven for another group, and handles one re-driven for its own, one by one and in batches', async () => {
    const { topic, batchCodec, batchPublisher } = await privateTopic('redriven');
    const groupId = `group-${uniqueSuffix()}`;
    const handled: string[] = [];
    const batched: string[] = [];
    const passedOver: ConsumerPassedOverPayload[] = [];
    const decode = (name: string, value: Buffer | null): Promise<UploadRequested> => batchCodec.decode(name, value) as Promise<UploadRequested>;
    const single = new ConsumeLoop<UploadRequested>({ kafka, maxWaitTimeMs: FETCH_WAIT_MS, groupId, topics: [topic], logger: quietLogger, retryPolicy: fastRetry, decode, handler: async (message) => { handled.push(message.event.imageUID); } });
    const batch = new ConsumeLoop<UploadRequested>({
      kafka, maxWaitTimeMs: FETCH_WAIT_MS, groupId: `${groupId}-batch`, topics: [topic], logger: quietLogger, retryPolicy: fastRetry, decode,
      handler: async () => { throw new Error('batches only'); }, batchHandler: async (messages) => { batched.push(...messages.map((message) => message.event.imageUID)); },
    });
    single.on(CONSUMER_PASSED_OVER_EVENT, (event: ConsumerPassedOverPayload) => passedOver.push(event));
    await Promise.all([single.start(), batch.start()]);
    try {
      const events = ['R1', 'R2', 'R3', 'R4'].map((name) => sample(name.repeat(30)));
      const values = await Promise.all(events.map((event) => batchCodec.encode(topic, event)));
      const forGroup = [groupId, 'someone-else', `${groupId}-batch`, ''];
      await batchPublisher.sendRaw(topic, events.map((event, index) => ({
        key: event.imageUID, value: values[index] ?? null, headers: { [HEADER.redriveGroup]: forGroup[index] ?? '', [REDRIVEN_FROM_HEADER]: `${topic}.dlq/0@${index}` },
      })));
      await waitFor(() => handled.length >= 2 && batched.length >= 2, { what: 'both loops to handle theirs' });
      // A passed-over message handled after all would come on a retry, within the policy's longest delay: no poll
      // can show it was not, so the window is that delay.
      await new Promise((resolve) => setTimeout(resolve, fastRetry.maxDelayMs));
      expect(handled).toEqual(['R1'.repeat(30), 'R4'.repeat(30)]);
      expect(batched).toEqual(['R3'.repeat(30), 'R4'.repeat(30)]);
      expect(passedOver.map((event) => [event.offset, event.redrivenFor, event.redrivenFrom])).toEqual([
        ['1', 'someone-else', `${topic}.dlq/0@1`], ['2', `${groupId}-batch`, `${topic}.dlq/0@2`],
      ]);
    } finally {
      await Promise.all([single.stop(), batch.stop()]);
      await batchPublisher.disconnect();
    }
  }, 60_000);

  it('handles (or dead-letters) a message whose orbit-redrive-group header no re-drive of this topic wrote: a foreign producer\'s copied header (found by a review)', async () => {
    const { topic, batchCodec, batchPublisher } = await privateTopic('forged-redrive');
    const handled: string[] = [];
    const passedOver: ConsumerPassedOverPayload[] = [];
    const decode = (name: string, value: Buffer | null): Promise<UploadRequested> => batchCodec.decode(name, value) as Promise<UploadRequested>;
    const loop = new ConsumeLoop<UploadRequested>({
      kafka, maxWaitTimeMs: FETCH_WAIT_MS, groupId: `group-${uniqueSuffix()}`, topics: [topic], logger: quietLogger, retryPolicy: fastRetry, decode, handler: async (message) => { handled.push(message.event.imageUID); },
    });
    const batch = new ConsumeLoop<UploadRequested>({
      kafka, maxWaitTimeMs: FETCH_WAIT_MS, groupId: `group-${uniqueSuffix()}`, topics: [topic], logger: quietLogger, retryPolicy: fastRetry, decode,
      handler: async () => { throw new Error('batches only'); }, batchHandler: async () => undefined,
    });
    for (const each of [loop, batch]) each.on(CONSUMER_PASSED_OVER_EVENT, (event: ConsumerPassedOverPayload) => passedOver.push(event));
    await Promise.all([loop.start(), batch.start()]);
    try {
      const forged = [
        // 1. A group, but no provenance: a Streams or Connect job copied the header from something it consumed.
        { [HEADER.redriveGroup]: 'some-other-team' },
        // 2. Provenance naming another topic's DLQ.
        { [HEADER.redriveGroup]: 'some-other-team', [REDRIVEN_FROM_HEADER]: 'orbit.image.stored.dlq/0@3' },
        // 3. The group twice: no re-drive writes that.
        { [HEADER.redriveGroup]: ['x', 'y'], [REDRIVEN_FROM_HEADER]: `${topic}.dlq/0@3` },
        // 4. Provenance that is no DLQ position.
        { [HEADER.redriveGroup]: 'some-other-team', [REDRIVEN_FROM_HEADER]: 'somewhere' },
      ];
      const events = forged.map((_, index) => sample(`F${index}`.repeat(30)));
      const values = await Promise.all(events.map((event) => batchCodec.encode(topic, event)));
      // A plain producer: the publisher's sendRaw writes each header once.
      const producer = kafka.producer();
      await producer.connect();
      onTestFinished(() => producer.disconnect());
      await producer.send({ topic, acks: -1, messages: events.map((event, index) => ({ key: event.imageUID, value: values[index] ?? null, headers: forged[index] ?? {} })) });
      // An undecodable value under a doubled group goes to the DLQ as any undecodable value does.
      await producer.send({ topic, acks: -1, messages: [{ key: 'junk', value: Buffer.from('{}'), headers: { [HEADER.redriveGroup]: ['x', 'y'] } }] });
      await waitFor(() => handled.length >= forged.length, { what: 'every event with a forged re-drive header to be handled' });
      expect(handled).toEqual(events.map((event) => event.imageUID));
      const letters = await readAll(kafka, `${topic}.dlq`, 2);
      expect(letters.map((letter) => [letter.key?.toString(), letter.headers[HEADER.dlqError]])).toEqual([['junk', 'ORBIT_ERR_DECODE'], ['junk', 'ORBIT_ERR_DECODE']]);
      expect(passedOver).toEqual([]);
    } finally {
      await Promise.all([loop.stop(), batch.stop()]);
      await batchPublisher.disconnect();
    }
  }, 60_000);

  it('passes over a copy dlq:redrive sent back for another group, and handles the one sent back for its own', async () => {
    const { topic, batchCodec, batchPublisher } = await privateTopic('real-redrive');
    const failing = `group-${uniqueSuffix()}`;
    const other = `group-${uniqueSuffix()}`;
    const seenBy = { failing: [] as string[], other: [] as string[] };
    const passedOver: ConsumerPassedOverPayload[] = [];
    let broken = true;
    const decode = (name: string, value: Buffer | null): Promise<UploadRequested> => batchCodec.decode(name, value) as Promise<UploadRequested>;
    const failingLoop = new ConsumeLoop<UploadRequested>({
      kafka, maxWaitTimeMs: FETCH_WAIT_MS, groupId: failing, topics: [topic], logger: quietLogger, retryPolicy: fastRetry, decode,
      handler: async (message) => {
        if (broken) throw new OrbitError('ORBIT_ERR_TEST_BROKEN', 'broken until fixed');
        seenBy.failing.push(message.event.eventId);
      },
    });
    const otherLoop = new ConsumeLoop<UploadRequested>({
      kafka, maxWaitTimeMs: FETCH_WAIT_MS, groupId: other, topics: [topic], logger: quietLogger, retryPolicy: fastRetry, decode, handler: async (message) => { seenBy.other.push(message.event.eventId); },
    });
    otherLoop.on(CONSUMER_PASSED_OVER_EVENT, (event: ConsumerPassedOverPayload) => passedOver.push(event));
    await Promise.all([failingLoop.start(), otherLoop.start()]);
    try {
      const event = sample('Q'.repeat(60));
      await batchPublisher.publish(topic, event);
      await readAll(kafka, `${topic}.dlq`, 1);
      await waitFor(() => seenBy.other.length === 1, { what: 'the other group to handle the original' });
      broken = false;
      expect((await redriveDeadLetters(kafka, `${topic}.dlq`)).redriven).toHaveLength(1);
      await waitFor(() => seenBy.failing.length === 1 && passedOver.length === 1, { what: 'the copy to be handled by its group and passed over by the other' });
      expect(seenBy).toEqual({ failing: [event.eventId], other: [event.eventId] });
      expect(passedOver[0]).toMatchObject({ topic, offset: '1', redrivenFor: failing, redrivenFrom: `${topic}.dlq/0@0` });
    } finally {
      await Promise.all([failingLoop.stop(), otherLoop.stop()]);
      await batchPublisher.disconnect();
    }
  }, 60_000);

  it('sets aside a valid-Avro event whose imageUID, request id or time no Orbit event has, with a reason an operator can act on, not a MySQL error (found by a review)', async () => {
    const { topic, batchCodec, batchPublisher } = await privateTopic('bad-values');
    const handled: string[] = [];
    const loop = new ConsumeLoop<UploadRequested>({
      kafka, maxWaitTimeMs: FETCH_WAIT_MS, groupId: `group-${uniqueSuffix()}`, topics: [topic], logger: quietLogger, retryPolicy: fastRetry,
      decode: (name, value) => decodeOrbitEvent(batchCodec, name, value) as Promise<UploadRequested>, handler: async (message) => { handled.push(message.event.eventId); },
    });
    await loop.start();
    try {
      const bad = [
        { ...sample('U'.repeat(60)), imageUID: 'frn/../../x' },
        { ...sample('U'.repeat(60)), requestId: 'frnmxbogzwg-evolved' },
        { ...sample('U'.repeat(60)), occurredAt: 8.64e15 + 5 },
      ];
      const good = sample('G'.repeat(60));
      for (const event of [...bad, good]) await batchPublisher.sendRaw(topic, [{ key: event.imageUID, value: await batchCodec.encode(topic, event) }]);
      await waitFor(() => handled.includes(good.eventId), { what: 'the good event after the bad ones' });
      const letters = await readAll(kafka, `${topic}.dlq`, bad.length);
      expect(letters.map((letter) => letter.headers[HEADER.dlqError])).toEqual(['ORBIT_ERR_DECODE', 'ORBIT_ERR_DECODE', 'ORBIT_ERR_DECODE']);
      expect(letters.map((letter) => letter.headers[HEADER.dlqMessage])).toEqual([
        expect.stringContaining('imageUID "frn/../../x" is not an Orbit image UID'),
        expect.stringContaining('requestId "frnmxbogzwg-evolved" is not a UUID'),
        expect.stringContaining('occurredAt 8640000000000005 is outside years 1000 to 9999'),
      ]);
      expect(handled).toEqual([good.eventId]);
    } finally {
      await loop.stop();
      await batchPublisher.disconnect();
    }
  }, 60_000);

  it('sets aside a valid-Avro event with an empty id when it decodes Orbit events, goes on, and logs the event\'s own ids, not the key\'s or headers\' (found by a probe)', async () => {
    const { topic, batchCodec, batchPublisher } = await privateTopic('envelope');
    const handled: ConsumedMessage<UploadRequested>[] = [];
    const loop = new ConsumeLoop<UploadRequested>({
      kafka, maxWaitTimeMs: FETCH_WAIT_MS, groupId: `group-${uniqueSuffix()}`, topics: [topic], logger: quietLogger, retryPolicy: fastRetry,
      decode: (name, value) => decodeOrbitEvent(batchCodec, name, value) as Promise<UploadRequested>, handler: async (message) => { handled.push(message); },
    });
    await loop.start();
    try {
      const junk = { ...sample('J'.repeat(60)), requestId: '' };
      const good = sample('G'.repeat(60));
      await batchPublisher.publish(topic, junk);
      // Without the headers, and under another key: the log still names the event's own request and image.
      await batchPublisher.sendRaw(topic, [{ key: 'not-the-image', value: await batchCodec.encode(topic, good) }]);
      const message = await waitFor(() => handled.find((entry) => entry.event.eventId === good.eventId), { what: 'the good event after the junk one' });
      const [letter] = await readAll(kafka, `${topic}.dlq`, 1);
      expect(letter?.headers[HEADER.dlqError]).toBe('ORBIT_ERR_DECODE');
      expect(letter?.headers[HEADER.dlqMessage]).toContain('requestId is empty');
      expect(handled).toHaveLength(1);
      // (pino's bindings() leaves out `pid`, its own name for the process id, so the step's PID is not checked here.)
      expect(message.log.bindings()).toMatchObject({ imageUID: good.imageUID, correlationId: good.correlationId });
    } finally {
      await loop.stop();
      await batchPublisher.disconnect();
    }
  }, 60_000);

  it('passes over what it cannot process without a dead letter when told to skip (a replay), and still says so', async () => {
    const topic = topics.replay;
    const handled: string[] = [];
    const noticed: DeadLetteredMessage<UploadRequested>[] = [];
    const loop = new ConsumeLoop<UploadRequested>({
      kafka, maxWaitTimeMs: FETCH_WAIT_MS, groupId: `group-${uniqueSuffix()}`, topics: [topic], logger: quietLogger, retryPolicy: fastRetry, permanentFailures: 'skip',
      decode: (name, value) => codec.decode(name, value) as Promise<UploadRequested>,
      handler: async (message) => {
        if (message.event.imageUID.startsWith('F')) throw new TypeError('a bug in this version');
        handled.push(message.event.eventId);
      },
      onDeadLettered: async (letter) => { noticed.push(letter); },
    });
    await loop.start();
    try {
      const failing = sample('F'.repeat(60));
      const good = sample('G'.repeat(60));
      await publisher.sendRaw(topic, [{ key: 'G'.repeat(60), value: Buffer.from('not avro') }]);
      await publisher.publish(topic, failing);
      await publisher.publish(topic, good);
      await waitFor(() => handled.includes(good.eventId), { what: 'the good event after the two it cannot process' });
      expect(noticed.map((letter) => [letter.offset, letter.message?.event.eventId])).toEqual([['0', undefined], ['1', failing.eventId]]);
      const admin = kafka.admin();
      await admin.connect();
      const [dlq] = await admin.fetchTopicOffsets(`${topic}.dlq`);
      await admin.disconnect();
      expect(dlq?.high, 'no dead letter written').toBe('0');
    } finally {
      await loop.stop();
    }
  });

  it('retries while DynamoDB is down and succeeds once it is back, without the DLQ', async () => {
    const table = `test-loop-${suffix}`;
    const raw = new DynamoDBClient({ region: testConfig.AWS_REGION, endpoint: testConfig.AWS_ENDPOINT_URL_DYNAMODB });
    await raw.send(new CreateTableCommand({ TableName: table, BillingMode: 'PAY_PER_REQUEST', AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }], KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }] }));
    const dynamo = createDynamo(testConfig);
    const topic = topics.transient;
    const loop = loopOf(topic, async (message) => {
      await dynamo.send(new PutCommand({ TableName: table, Item: { id: message.event.eventId, imageUID: message.event.imageUID } }));
    });
    let deadLettered = 0;
    loop.on(CONSUMER_EVENTS.deadLettered, () => deadLettered++);
    await loop.start();
    const event = sample('C'.repeat(60));
    try {
      // 1. the store goes down; 2. the event arrives and is retried; 3. the store comes back; 4. the row is there
      // Back up even when this test times out, or every later test that needs DynamoDB fails with it.
      onTestFinished(async () => { await startService('dynamodb'); });
      await stopService('dynamodb');
      const retried = nextEvent<ConsumerEventPayloads['consumer.retry']>(loop, CONSUMER_EVENTS.retry, undefined, 60_000);
      await publisher.publish(topic, event);
      const retry = await retried;
      expect(retry.topic).toBe(topic);
      await nextEvent(loop, CONSUMER_EVENTS.retry, (payload: ConsumerEventPayloads['consumer.retry']) => payload.attempt >= 2, 60_000);
      await startService('dynamodb');
      const row = await waitFor(async () => (await dynamo.send(new GetCommand({ TableName: table, Key: { id: event.eventId } }))).Item, { timeoutMs: 60_000, what: 'the row written after DynamoDB came back' });
      expect(row['imageUID']).toBe(event.imageUID);
      expect(deadLettered).toBe(0);
    } finally {
      await startService('dynamodb');
      await loop.stop();
      await raw.send(new DeleteTableCommand({ TableName: table })).catch(() => undefined);
    }
  });
});

describe('consume loop, batch mode', () => {
  it('hands messages over in batches and isolates a poison one without losing the others', async () => {
    const { topic, batchCodec, batchPublisher } = await privateTopic('batch');
    const events = Array.from({ length: 30 }, (_, i) => sample(`${String(i).padStart(2, '0')}${'D'.repeat(58)}`));
    const poison = events[17]!;
    const handled = new Set<string>();
    const batchSizes: number[] = [];
    const noticed: DeadLetteredMessage<UploadRequested>[] = [];
    let noticeFailures = 1;
    const loop = new ConsumeLoop<UploadRequested>({
      kafka, maxWaitTimeMs: FETCH_WAIT_MS, groupId: `group-${uniqueSuffix()}`, topics: [topic], logger: quietLogger, retryPolicy: fastRetry,
      decode: (name, value) => batchCodec.decode(name, value) as Promise<UploadRequested>,
      onDeadLettered: async (letter) => {
        // The first notice fails as an unreachable store would: the message is handled again and the notice made then.
        if (noticeFailures-- > 0) throw new StoreUnavailableError('kafka', 'broker away');
        noticed.push(letter);
      },
      handler: async (message) => {
        if (message.event.eventId === poison.eventId) throw new TypeError('cannot handle this one');
        handled.add(message.event.eventId);
      },
      batchHandler: async (messages) => {
        batchSizes.push(messages.length);
        if (messages.some((message) => message.event.eventId === poison.eventId)) throw new TypeError('batch contains poison');
        for (const message of messages) handled.add(message.event.eventId);
      },
    });
    const dead = nextEvent<ConsumerEventPayloads['consumer.dlq']>(loop, CONSUMER_EVENTS.deadLettered, undefined, 60_000);
    try {
      // 1. publish all before the loop starts so they arrive as one fetch; 2. consume; 3. all but the poison handled
      await batchPublisher.publishAll(events.map((event) => ({ topic, event })));
      await loop.start();
      await waitFor(() => handled.size === events.length - 1, { timeoutMs: 60_000, what: 'every good message handled' });
      expect((await dead).offset).toBeDefined();
      expect(handled.has(poison.eventId)).toBe(false);
      await waitFor(() => noticed.length > 0, { what: 'the dead letter to be announced' });
      expect(noticed.map((letter) => letter.message?.event.eventId)).toEqual([poison.eventId]);
      expect(noticed[0]?.error).toBeInstanceOf(TypeError);
      expect(Math.max(...batchSizes)).toBeGreaterThan(1);
    } finally {
      await loop.stop();
      await batchPublisher.disconnect();
    }
  });

  it('dead-letters an undecodable message once when the batch after it fails for a while', async () => {
    const { topic, batchCodec, batchPublisher } = await privateTopic('letter-once');
    const handled: string[] = [];
    const letters: string[] = [];
    let failuresLeft = 2;
    const loop = new ConsumeLoop<UploadRequested>({
      kafka, maxWaitTimeMs: FETCH_WAIT_MS, groupId: `group-${uniqueSuffix()}`, topics: [topic], logger: quietLogger, retryPolicy: fastRetry,
      decode: (name, value) => batchCodec.decode(name, value) as Promise<UploadRequested>,
      handler: async (message) => { handled.push(message.offset); },
      batchHandler: async (messages) => {
        // The batch after the letter meets a store that is away for a moment (a database restarting, say).
        if (messages.some((message) => message.offset === '3') && failuresLeft-- > 0) throw new StoreUnavailableError('mysql', 'away');
        handled.push(...messages.map((message) => message.offset));
      },
      onDeadLettered: async (letter) => { letters.push(letter.offset); },
    });
    try {
      await batchPublisher.publishAll(Array.from({ length: 2 }, (_, i) => ({ topic, event: sample(`${i}${'Q'.repeat(59)}`) })));
      await batchPublisher.sendRaw(topic, [{ key: 'x', value: Buffer.from('not avro') }]);
      await batchPublisher.publishAll(Array.from({ length: 2 }, (_, i) => ({ topic, event: sample(`${i}${'R'.repeat(59)}`) })));
      await loop.start();
      await waitFor(() => handled.includes('4'), { timeoutMs: 30_000, what: 'the messages after the letter' });
      expect(letters).toEqual(['2']);
      expect(handled).toEqual(['0', '1', '3', '4']);
      // One letter in the DLQ, and no more arrives while the loop keeps running: a re-read of the letter would follow
      // a retry of the failing batch, within the policy's longest delay, so the window is that delay.
      await new Promise((resolve) => setTimeout(resolve, fastRetry.maxDelayMs));
      const admin = kafka.admin();
      await admin.connect();
      const [dlq] = await admin.fetchTopicOffsets(`${topic}.dlq`);
      await admin.disconnect();
      expect(dlq?.high).toBe('1');
    } finally {
      await loop.stop();
      await batchPublisher.disconnect();
    }
  });

  it('sets an undecodable message aside only after the messages before it are handled, in partition order', async () => {
    const { topic, batchCodec, batchPublisher } = await privateTopic('batch-order');
    const seen: string[] = [];
    const loop = new ConsumeLoop<UploadRequested>({
      kafka, maxWaitTimeMs: FETCH_WAIT_MS, groupId: `group-${uniqueSuffix()}`, topics: [topic], logger: quietLogger, retryPolicy: fastRetry,
      decode: (name, value) => batchCodec.decode(name, value) as Promise<UploadRequested>,
      handler: async (message) => { seen.push(message.offset); },
      batchHandler: async (messages) => { seen.push(...messages.map((message) => message.offset)); },
      // A projector closes the gap a letter leaves only if it comes in its turn: here, after offsets 0-4.
      onDeadLettered: async (letter) => { seen.push(`letter ${letter.offset}`); },
    });
    try {
      await batchPublisher.publishAll(Array.from({ length: 5 }, (_, i) => ({ topic, event: sample(`${i}${'O'.repeat(59)}`) })));
      await batchPublisher.sendRaw(topic, [{ key: 'x', value: Buffer.from('not avro') }]);
      await batchPublisher.publishAll(Array.from({ length: 3 }, (_, i) => ({ topic, event: sample(`${i}${'P'.repeat(59)}`) })));
      await loop.start();
      await waitFor(() => seen.length === 9, { timeoutMs: 30_000, what: 'all nine messages' });
      expect(seen).toEqual(['0', '1', '2', '3', '4', 'letter 5', '6', '7', '8']);
    } finally {
      await loop.stop();
      await batchPublisher.disconnect();
    }
  });
});
