import { ConsumeLoop, EventCodec, EventPublisher, newImageUID, retryPolicy, TOPICS, type Kafka } from '@orbit/lib';
import { loadSchemas, sampleEvents, type OrbitEvent } from '@orbit/schemas';
import type { RowDataPacket } from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestTopics, quietLogger, testConfig, testKafka, uniqueSuffix, waitFor } from '../../../test/helpers/index.js';
import { privateViewport, type PrivateViewport } from '../../../test/helpers/viewport-db.js';
import { passDeadLetters, projectorBatchHandler, projectorHandler } from './handle.js';
import { rebuildProjection } from './rebuild.js';
import { PROJECTED_TOPICS } from './topics.js';

/**
 * A message in a projected topic that can never be projected (undecodable
 * here) is set aside once, and the partition goes on: the messages after it
 * are projected, live and in a rebuild.
 */
let kafka: Kafka;
let viewport: PrivateViewport;
const prefix = `test.projector-dlq.${uniqueSuffix()}.`;
const topics = PROJECTED_TOPICS.map((topic) => `${prefix}${topic}`);
const stored = `${prefix}${TOPICS.imageStored}`;
const schemas = loadSchemas();
const codec = new EventCodec(testConfig.SCHEMA_REGISTRY_URL, new Map([...schemas, ...[...schemas].map(([topic, schema]) => [`${prefix}${topic}`, schema] as const)]));
const lifecycleTopicOf = (topic: string): string => topic.slice(prefix.length);
const before = sampleEvents(newImageUID(), `req-before-${uniqueSuffix()}`)['orbit.image.stored'];
const after = sampleEvents(newImageUID(), `req-after-${uniqueSuffix()}`)['orbit.image.stored'];

async function projectedImages(): Promise<string[]> {
  const [rows] = await viewport.pool.query<RowDataPacket[]>('SELECT image_uid FROM wp_image_uid ORDER BY id');
  return rows.map((row) => String(row['image_uid']));
}

async function lettersIn(topic: string): Promise<number> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    return (await admin.fetchTopicOffsets(topic)).reduce((sum, partition) => sum + Number(partition.high) - Number(partition.low), 0);
  } finally {
    await admin.disconnect();
  }
}

beforeAll(async () => {
  kafka = testKafka();
  await createTestTopics(kafka, topics.flatMap((topic) => [topic, `${topic}.dlq`]));
  viewport = await privateViewport('dlq');
  const publisher = await EventPublisher.connect(kafka, codec, quietLogger);
  await publisher.publish(stored, before);
  await publisher.sendRaw(stored, [{ key: before.imageUID, value: Buffer.from('not avro at all') }]);
  await publisher.publish(stored, after);
  await publisher.disconnect();
});

afterAll(async () => {
  await viewport.drop();
});

describe('a message the projector cannot project', () => {
  it('is dead-lettered once and the partition goes on (it used to be re-read and dead-lettered for ever)', async () => {
    const groupId = `projector-${uniqueSuffix()}`;
    const deps = { pool: viewport.pool, groupId, publisher: { publish: async () => undefined } };
    const loop = new ConsumeLoop<OrbitEvent>({
      kafka, groupId, topics: [stored], logger: quietLogger, retryPolicy: retryPolicy({ initialDelayMs: 50, maxDelayMs: 500 }), maxWaitTimeMs: 200,
      decode: (topic, value) => codec.decode(topic, value) as Promise<OrbitEvent>, logicalTopicOf: lifecycleTopicOf,
      handler: projectorHandler(deps), batchHandler: projectorBatchHandler(deps), onDeadLettered: passDeadLetters({ ...deps, lifecycleTopicOf }),
    });
    await loop.start();
    try {
      await waitFor(async () => (await projectedImages()).includes(after.imageUID), { timeoutMs: 20_000, what: 'the image stored after the undecodable message' });
      await new Promise((resolve) => setTimeout(resolve, 1_000));
    } finally {
      await loop.stop();
    }
    expect(await projectedImages()).toEqual([before.imageUID, after.imageUID]);
    expect(await lettersIn(`${stored}.dlq`)).toBe(1);
  });

  it('is passed over by a rebuild, which reports it and adds no second dead letter', async () => {
    const url = new URL(testConfig.MYSQL_URL);
    url.pathname = `/${viewport.database}`;
    const lettersBefore = await lettersIn(`${stored}.dlq`);
    const report = await rebuildProjection({
      kafka, codec, pool: viewport.pool, mysqlUrl: url.toString(), topics, liveGroup: `projector-${uniqueSuffix()}`,
      publisher: { publish: async () => undefined }, logger: quietLogger, lifecycleTopicOf,
    });
    expect(report.skipped).toEqual([`${stored}/0@1`]);
    expect(report.eventsReplayed).toBe(2);
    expect((await projectedImages()).sort()).toEqual([before.imageUID, after.imageUID].sort());
    expect(await lettersIn(`${stored}.dlq`)).toBe(lettersBefore);
  }, 60_000);
});

