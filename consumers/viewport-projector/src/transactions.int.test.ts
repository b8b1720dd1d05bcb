import { randomUUID } from 'node:crypto';
import { ConsumeLoop, createLogger, newImageUID, PROJECTED_TOPICS, retryPolicy, setGroupOffsets, TOPICS, type Kafka, type Logger } from '@orbit/lib';
import { sampleEvents, type ImageStored, type OrbitEvent } from '@orbit/schemas';
import type { RowDataPacket } from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { quietLogger, testConfig, uniqueSuffix, waitFor } from '../../../test/helpers/index.js';
import { privateLifecycleTopics, type PrivateTopics } from '../../../test/helpers/lifecycle-topics.js';
import { privateViewport, type PrivateViewport } from '../../../test/helpers/viewport-db.js';
import { passDeadLetters, passOtherGroupsRedrives, projectorBatchHandler, projectorHandler } from './handle.js';
import { kafkaHighWatermarks } from './history.js';
import { rebuildProjection } from './rebuild.js';

/**
 * Records written by a transactional producer (MirrorMaker 2 or Connect with
 * exactly-once, Streams, Flink) leave offsets no consumer is handed: each
 * transaction's commit or abort marker, and the aborted records. The projector
 * took them for messages it had missed and re-read the partition for ever.
 */
let copies: PrivateTopics;
let kafka: Kafka;
let viewport: PrivateViewport;

beforeAll(async () => {
  copies = await privateLifecycleTopics('projector-txn', PROJECTED_TOPICS);
  ({ kafka } = copies);
  viewport = await privateViewport('txn');
});

const cleanups: (() => Promise<void>)[] = [];

afterAll(async () => {
  for (const cleanup of cleanups) await cleanup();
  await viewport.drop();
});

const storedEvent = (_label: string): ImageStored => sampleEvents(newImageUID(), randomUUID())[TOPICS.imageStored];

async function projected(pool = viewport.pool): Promise<string[]> {
  const [rows] = await pool.query<RowDataPacket[]>('SELECT image_uid FROM wp_image_uid ORDER BY id');
  return rows.map((row) => String(row['image_uid']));
}

/** Writes `events` to `topic` as Orbit would (a plain producer) or in one transaction committed or aborted. */
async function write(topic: string, events: readonly ImageStored[], how: 'plain' | 'commit' | 'abort'): Promise<void> {
  const messages = await Promise.all(events.map(async (event) => ({ key: event.imageUID, value: await copies.codec.encode(topic, event) })));
  if (how === 'plain') {
    const producer = kafka.producer();
    await producer.connect();
    try {
      await producer.send({ topic, messages });
    } finally {
      await producer.disconnect();
    }
    return;
  }
  const producer = kafka.producer({ transactionalId: `test-txn-${uniqueSuffix()}`, idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  try {
    const transaction = await producer.transaction();
    await transaction.send({ topic, messages });
    if (how === 'commit') await transaction.commit();
    else await transaction.abort();
  } finally {
    await producer.disconnect();
  }
}

/** Where the partition ends (its marker is written by the coordinator after the commit returns). */
async function endOf(topic: string): Promise<number> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    return Number((await admin.fetchTopicOffsets(topic))[0]?.high);
  } finally {
    await admin.disconnect();
  }
}

/** A logger that counts the consume loop's re-reads: each one is a seek and a fetch more. */
function countingSeeks(): { logger: Logger; seeks: () => number } {
  let seeks = 0;
  const logger = createLogger({ service: 'test', level: 'warn', destination: { write: (line: string) => { if (line.includes('re-reading the partition')) seeks += 1; } } });
  return { logger, seeks: () => seeks };
}

function projectorLoop(topic: string, groupId: string, logger: Logger, on: PrivateTopics = copies): ConsumeLoop<OrbitEvent> {
  // As main.ts wires it: a gap a call opens with is checked against the log start, and these (markers) are above it.
  const watermarks = kafkaHighWatermarks(on.kafka);
  cleanups.push(() => watermarks.close());
  const deps = { pool: viewport.pool, groupId, publisher: { publish: async () => undefined }, lowWatermark: (name: string, partition: number) => watermarks.low(on.named(name), partition) };
  const hookDeps = { ...deps, lifecycleTopicOf: on.lifecycleTopicOf };
  return new ConsumeLoop<OrbitEvent>({
    kafka: on.kafka, groupId, topics: [topic], logger, retryPolicy: retryPolicy({ initialDelayMs: 50, maxDelayMs: 500 }), maxWaitTimeMs: 200,
    decode: (name, value) => on.codec.decode(name, value) as Promise<OrbitEvent>, logicalTopicOf: on.lifecycleTopicOf,
    handler: projectorHandler(deps), batchHandler: projectorBatchHandler(deps), onDeadLettered: passDeadLetters(hookDeps), onPassedOver: passOtherGroupsRedrives(hookDeps),
  });
}

async function nextOffset(groupId: string): Promise<number | undefined> {
  const [rows] = await viewport.pool.query<RowDataPacket[]>('SELECT next_offset FROM viewport_applied_offsets WHERE consumer_group = ?', [groupId]);
  return rows[0] === undefined ? undefined : Number(rows[0]['next_offset']);
}

describe('the projector on a topic a transactional producer writes to', () => {
  it('projects every committed event and not the aborted one, whether a transaction\'s marker comes in the same fetch or alone before the next event', async () => {
    const topic = copies.named(TOPICS.imageStored);
    const [plainFirst, committed, aborted, plainAfter, last] = ['plain-first', 'committed', 'aborted', 'plain-after', 'last'].map(storedEvent) as [ImageStored, ImageStored, ImageStored, ImageStored, ImageStored];
    // Before the projector runs, so it fetches them together: plainFirst@0, committed@1, marker@2, aborted@3, marker@4, plainAfter@5.
    await write(topic, [plainFirst], 'plain');
    await write(topic, [committed], 'commit');
    await write(topic, [aborted], 'abort');
    await write(topic, [plainAfter], 'plain');
    const groupId = `projector-${uniqueSuffix()}`;
    const { logger, seeks } = countingSeeks();
    const loop = projectorLoop(topic, groupId, logger);
    await loop.start();
    try {
      await waitFor(async () => (await projected()).includes(plainAfter.imageUID), { timeoutMs: 20_000, what: 'the event after the transactions' });
      // With the projector idle: a transaction ends the partition (its marker fetched on its own), then an event after it.
      await write(topic, [aborted], 'abort');
      await waitFor(async () => (await endOf(topic)) === 8, { timeoutMs: 10_000, what: 'the abort marker' });
      await write(topic, [last], 'plain');
      await waitFor(async () => (await projected()).includes(last.imageUID), { timeoutMs: 20_000, what: 'the event after a transaction fetched alone' });
    } finally {
      await loop.stop();
    }
    expect((await projected()).sort()).toEqual([plainFirst.imageUID, committed.imageUID, plainAfter.imageUID, last.imageUID].sort());
    expect(await nextOffset(groupId)).toBe(9);
    // The one after the lone marker is re-read once to make sure the offsets before it hold nothing: a few seeks, not thousands.
    expect(seeks()).toBeLessThanOrEqual(3);
  });

  it('still re-reads an event the database has not got when the group has committed past it, and skips nothing', async () => {
    const own = await privateLifecycleTopics('projector-miss', [TOPICS.imageStored]);
    const topic = own.named(TOPICS.imageStored);
    const events = ['one', 'two', 'three'].map(storedEvent);
    const producer = own.kafka.producer();
    await producer.connect();
    for (const event of events) await producer.send({ topic, messages: [{ key: event.imageUID, value: await own.codec.encode(topic, event) }] });
    await producer.disconnect();
    const groupId = `projector-${uniqueSuffix()}`;
    // As after a restore from an older backup: the database expects offset 1, Kafka's group is at 2.
    await viewport.pool.query('INSERT INTO viewport_applied_offsets (consumer_group, topic, kafka_partition, next_offset, updated_at) VALUES (?, ?, 0, 1, UTC_TIMESTAMP(3))', [groupId, TOPICS.imageStored]);
    await setGroupOffsets(own.kafka, groupId, [{ topic, partition: 0, offset: '2' }]);
    const loop = projectorLoop(topic, groupId, quietLogger, own);
    await loop.start();
    try {
      await waitFor(async () => (await nextOffset(groupId)) === 3, { timeoutMs: 20_000, what: 'the events after the restored offset applied' });
    } finally {
      await loop.stop();
    }
    const images = await projected();
    expect(events.map((event) => images.includes(event.imageUID))).toEqual([false, true, true]);
  });
});

describe('a rebuild of topics a transactional producer writes to', () => {
  it('finishes, with every committed event and not the aborted ones, when a partition starts with aborted records and ends with a commit marker', async () => {
    const fixture = await privateLifecycleTopics('rebuild-txn', PROJECTED_TOPICS);
    const topic = fixture.named(TOPICS.imageStored);
    const live = await privateViewport('rebuildtxn');
    const [aborted, plain, committed] = ['aborted', 'plain', 'committed'].map(storedEvent) as [ImageStored, ImageStored, ImageStored];
    try {
      const encode = async (event: ImageStored) => ({ key: event.imageUID, value: await fixture.codec.encode(topic, event) });
      const transactional = async (event: ImageStored, how: 'commit' | 'abort'): Promise<void> => {
        const producer = fixture.kafka.producer({ transactionalId: `test-txn-${uniqueSuffix()}`, idempotent: true, maxInFlightRequests: 1 });
        await producer.connect();
        const transaction = await producer.transaction();
        await transaction.send({ topic, messages: [await encode(event)] });
        if (how === 'commit') await transaction.commit();
        else await transaction.abort();
        await producer.disconnect();
      };
      // aborted@0, marker@1, plain@2, committed@3, marker@4: the history's end is a marker.
      await transactional(aborted, 'abort');
      const producer = fixture.kafka.producer();
      await producer.connect();
      await producer.send({ topic, messages: [await encode(plain)] });
      await producer.disconnect();
      await transactional(committed, 'commit');
      const admin = fixture.kafka.admin();
      await admin.connect();
      await waitFor(async () => Number((await admin.fetchTopicOffsets(topic))[0]?.high) === 5, { timeoutMs: 10_000, what: 'the commit marker' });
      await admin.disconnect();
      const url = new URL(testConfig.MYSQL_URL);
      url.pathname = `/${live.database}`;
      const rebuilt = rebuildProjection({
        kafka: fixture.kafka, codec: fixture.codec, pool: live.pool, mysqlUrl: url.toString(), topics: fixture.topics, liveGroup: `viewport-projector-${uniqueSuffix()}`,
        publisher: { publish: async () => undefined }, logger: quietLogger, lifecycleTopicOf: fixture.lifecycleTopicOf, pollMs: 100,
      });
      const outcome = await Promise.race([rebuilt.then(() => 'finished'), new Promise((resolve) => { setTimeout(resolve, 60_000, 'still waiting'); })]);
      expect(outcome).toBe('finished');
      expect((await projected(live.pool)).sort()).toEqual([plain.imageUID, committed.imageUID].sort());
    } finally {
      await live.drop();
    }
  }, 120_000);
});
