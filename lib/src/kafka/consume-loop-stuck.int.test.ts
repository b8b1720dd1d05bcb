import { describe, expect, it, onTestFinished } from 'vitest';
import { loadSchemas, sampleEvents, type UploadRequested } from '@orbit/schemas';
import { createTestTopics, nextEvent, testConfig, testKafka, uniqueSuffix, waitFor } from '../../../test/helpers/index.js';
import { randomUUID } from 'node:crypto';
import { Writable } from 'node:stream';
import type { Registry } from 'prom-client';
import { EventCodec } from '../codec.js';
import { StoreUnavailableError } from '../errors.js';
import { createLogger, type Logger } from '../logger.js';
import { createMetrics, instrumentConsumeLoop } from '../metrics.js';
import { retryPolicy } from '../retry.js';
import { ConsumeLoop, type ConsumedMessage } from './consume-loop.js';
import { CONSUMER_EVENTS, type ConsumerEventPayloads } from './instrumentation.js';
import { EventPublisher } from './publisher.js';

/*
 * A partition held on one message by a store that is down: what an operator sees of it (found by a review: a
 * schema registry down made a consumer retry its decode for ever without a log line, and no lag showed while it did).
 */

const kafka = testKafka();
const schema = loadSchemas().get('orbit.upload.requested')!;
const fastRetry = retryPolicy({ initialDelayMs: 100, maxDelayMs: 1_000, jitter: 0 });
// A loop's stop waits out the fetch in flight; kafkajs's 5 s default would make most of this file's time.
const FETCH_WAIT_MS = 500;
const DECODE_RETRY_LINE = 'transient failure decoding the message, partition paused for backoff';

function sample(imageUID: string): UploadRequested {
  return { ...sampleEvents(imageUID, randomUUID())['orbit.upload.requested'] };
}

function capturingLogger(): { logger: Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const destination = new Writable({ write(chunk: Buffer, _encoding, done) { lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>); done(); } });
  return { logger: createLogger({ service: 'test', destination }), lines };
}

/** A one-partition topic of the test's own (and its DLQ), with a codec and a publisher closed when the test ends. */
async function privateTopic(label: string): Promise<{ topic: string; codec: EventCodec; publisher: EventPublisher }> {
  const topic = `test.loop.${uniqueSuffix()}.${label}`;
  await createTestTopics(kafka, [topic, `${topic}.dlq`]);
  const codec = new EventCodec(testConfig.SCHEMA_REGISTRY_URL, new Map([[topic, schema]]));
  const publisher = await EventPublisher.connect(kafka, codec, createLogger({ service: 'test', level: 'silent' }));
  onTestFinished(async () => { await publisher.disconnect(); });
  return { topic, codec, publisher };
}

async function lagOf(registry: Registry, topic: string): Promise<number | undefined> {
  const values = (await registry.getSingleMetric('orbit_consumer_lag_messages')?.get())?.values ?? [];
  return values.find((value) => value.labels['topic'] === topic && value.labels['partition'] === '0')?.value;
}

const outage = (): StoreUnavailableError => new StoreUnavailableError('schema registry', Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:8081'), { code: 'ECONNREFUSED' }));

describe('consume loop, a partition stuck behind a store that is down', () => {
  it('warns of each decode it retries, naming the message by key and offset, and shows the lag growing behind it', async () => {
    const { topic, codec, publisher } = await privateTopic('stuck-decode');
    const { logger, lines } = capturingLogger();
    let registryDown = true;
    const handled: string[] = [];
    const loop = new ConsumeLoop<UploadRequested>({
      kafka, maxWaitTimeMs: FETCH_WAIT_MS, groupId: `group-${uniqueSuffix()}`, topics: [topic], logger, retryPolicy: fastRetry,
      decode: async (name, value) => {
        if (registryDown) throw outage();
        return codec.decode(name, value) as Promise<UploadRequested>;
      },
      handler: async (message) => { handled.push(message.event.eventId); },
    });
    const registry = createMetrics('test');
    instrumentConsumeLoop(registry, loop, [topic]);
    const stuck = sample('D'.repeat(60));
    const behind = [sample('E'.repeat(60)), sample('F'.repeat(60))];
    await loop.start();
    try {
      // 1. the registry is down when the first message comes: its decode is retried, with a warning each attempt
      await publisher.publish(topic, stuck);
      const warnings = (): Record<string, unknown>[] => lines.filter((line) => line['msg'] === DECODE_RETRY_LINE);
      await waitFor(() => warnings().length >= 2, { what: 'a warning for each of two decode attempts' });
      expect(warnings().slice(0, 2)).toMatchObject([
        { level: 'warn', topic, partition: 0, offset: '0', key: stuck.imageUID, attempt: 1, code: 'ORBIT_ERR_STORE_UNAVAILABLE', err: { code: 'ORBIT_ERR_STORE_UNAVAILABLE' } },
        { level: 'warn', topic, partition: 0, offset: '0', key: stuck.imageUID, attempt: 2 },
      ]);
      // Not decoded: the key's imageUID is a foreign producer's claim, so it is not logged as the event's own.
      for (const field of ['pid', 'correlationId', 'imageUID']) expect(warnings()[0]).not.toHaveProperty(field);
      // 2. messages arrive behind it: the partition's lag counts them and the stuck one
      for (const event of behind) await publisher.publish(topic, event);
      await waitFor(async () => (await lagOf(registry, topic)) === 3, { what: 'a lag of 3 on the stuck partition', timeoutMs: 15_000 });
      expect(handled).toEqual([]);
      // 3. the registry is back: all three are handled, in order, and the lag is gone
      registryDown = false;
      await waitFor(() => handled.length === 3, { what: 'the three messages handled' });
      expect(handled).toEqual([stuck, ...behind].map((event) => event.eventId));
      await waitFor(async () => (await lagOf(registry, topic)) === 0, { what: 'no lag once caught up' });
    } finally {
      await loop.stop();
    }
  });

  it('shows the lag of a partition whose handler keeps failing for now, growing as messages arrive behind it', async () => {
    const { topic, codec, publisher } = await privateTopic('stuck-handler');
    let storeDown = true;
    const handled: string[] = [];
    const loop = new ConsumeLoop<UploadRequested>({
      kafka, maxWaitTimeMs: FETCH_WAIT_MS, groupId: `group-${uniqueSuffix()}`, topics: [topic], logger: createLogger({ service: 'test', level: 'silent' }), retryPolicy: fastRetry,
      decode: (name, value) => codec.decode(name, value) as Promise<UploadRequested>,
      handler: async (message: ConsumedMessage<UploadRequested>) => {
        if (storeDown) throw outage();
        handled.push(message.event.eventId);
      },
    });
    const registry = createMetrics('test');
    instrumentConsumeLoop(registry, loop, [topic]);
    await loop.start();
    try {
      // 1. the first message fails for now; 2. three more arrive behind it; 3. the store comes back
      const retried = nextEvent<ConsumerEventPayloads['consumer.retry']>(loop, CONSUMER_EVENTS.retry);
      await publisher.publish(topic, sample('G'.repeat(60)));
      await retried;
      for (const letter of ['H', 'I', 'J']) await publisher.publish(topic, sample(letter.repeat(60)));
      await waitFor(async () => (await lagOf(registry, topic)) === 4, { what: 'a lag of 4 on the stuck partition', timeoutMs: 15_000 });
      storeDown = false;
      await waitFor(() => handled.length === 4, { what: 'the four messages handled' });
      await waitFor(async () => (await lagOf(registry, topic)) === 0, { what: 'no lag once caught up' });
    } finally {
      await loop.stop();
    }
  });
});
