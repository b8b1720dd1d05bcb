import { randomUUID } from 'node:crypto';
import { CONSUMER_EVENTS, ConsumeLoop, createMysqlPool, EventPublisher, HEADER, newImageUID, PROJECTED_TOPICS, REDRIVEN_FROM_HEADER, retryPolicy, TOPICS, type Kafka } from '@orbit/lib';
import { sampleEvents, type OrbitEvent } from '@orbit/schemas';
import type { Pool, RowDataPacket } from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { quietLogger, testConfig, uniqueSuffix, waitFor } from '../../../test/helpers/index.js';
import { privateLifecycleTopics, type PrivateTopics } from '../../../test/helpers/lifecycle-topics.js';
import { privateViewport, type PrivateViewport } from '../../../test/helpers/viewport-db.js';
import { passDeadLetters, passOtherGroupsRedrives, projectorBatchHandler, projectorDeadLetterHook, projectorHandler } from './handle.js';
import { rebuildProjection } from './rebuild.js';

/**
 * A message in a projected topic that can never be projected (undecodable
 * here) is set aside once, and the partition goes on: the messages after it
 * are projected, live and in a rebuild.
 */
let kafka: Kafka;
let viewport: PrivateViewport;
let projected: PrivateTopics;
let stored: string;
const before = sampleEvents(newImageUID(), randomUUID())['orbit.image.stored'];
const after = sampleEvents(newImageUID(), randomUUID())['orbit.image.stored'];

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

/** The projector loops' retry policy and fetch wait, short so a test does not wait long for either. */
const projectorRetry = retryPolicy({ initialDelayMs: 50, maxDelayMs: 500 });
const projectorMaxWaitMs = 200;

/**
 * A message handled again (a letter written twice, a failure announced twice) would come on a retry, within the
 * policy's longest delay, and be fetched within a fetch wait or two after: no poll can show it did not happen, so
 * the tests that prove it did not wait this long.
 */
const REPEAT_WOULD_SHOW_MS = projectorRetry.maxDelayMs + 2 * projectorMaxWaitMs;

/**
 * A consume loop that projects `topics` into the test's database as the live projector does, dead-letter hook included
 * (the live hook, announcing through `publish`, when it is given).
 */
function projectorLoop(copies: PrivateTopics, topics: readonly string[], groupId: string, publish?: (topic: string) => Promise<void>, pool: Pool = viewport.pool): ConsumeLoop<OrbitEvent> {
  const deps = { pool, groupId, publisher: { publish: publish ?? (async () => undefined) } };
  const hookDeps = { ...deps, lifecycleTopicOf: copies.lifecycleTopicOf };
  return new ConsumeLoop<OrbitEvent>({
    kafka: copies.kafka, groupId, topics, logger: quietLogger, retryPolicy: projectorRetry, maxWaitTimeMs: projectorMaxWaitMs,
    decode: (topic, value) => copies.codec.decode(topic, value) as Promise<OrbitEvent>, logicalTopicOf: copies.lifecycleTopicOf,
    handler: projectorHandler(deps), batchHandler: projectorBatchHandler(deps), onDeadLettered: publish ? projectorDeadLetterHook(hookDeps) : passDeadLetters(hookDeps),
    onPassedOver: passOtherGroupsRedrives({ ...deps, lifecycleTopicOf: copies.lifecycleTopicOf }),
  });
}

beforeAll(async () => {
  projected = await privateLifecycleTopics('projector-dlq', PROJECTED_TOPICS);
  ({ kafka } = projected);
  stored = projected.named(TOPICS.imageStored);
  viewport = await privateViewport('dlq');
  const publisher = await EventPublisher.connect(kafka, projected.codec, quietLogger);
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
    const loop = projectorLoop(projected, [stored], `projector-${uniqueSuffix()}`);
    await loop.start();
    try {
      await waitFor(async () => (await projectedImages()).includes(after.imageUID), { timeoutMs: 20_000, what: 'the image stored after the undecodable message' });
      await new Promise((resolve) => setTimeout(resolve, REPEAT_WOULD_SHOW_MS));
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
      kafka, codec: projected.codec, pool: viewport.pool, mysqlUrl: url.toString(), topics: projected.topics, liveGroup: `projector-${uniqueSuffix()}`,
      publisher: { publish: async () => undefined }, logger: quietLogger, lifecycleTopicOf: projected.lifecycleTopicOf,
    });
    expect(report.skipped).toEqual([{ at: `${stored}/0@1`, code: expect.stringMatching(/^ORBIT_ERR_/) }]);
    expect(report.eventsReplayed).toBe(2);
    expect((await projectedImages()).sort()).toEqual([before.imageUID, after.imageUID].sort());
    expect(await lettersIn(`${stored}.dlq`)).toBe(lettersBefore);
  }, 60_000);
});

describe('chart events of a version whose ImageStored was set aside', () => {
  it('are set aside too, instead of holding their partition until someone re-drives the ImageStored', async () => {
    const own = await privateLifecycleTopics('projector-aside', [TOPICS.imageStored, TOPICS.chartGenerated]);
    const lost = sampleEvents(newImageUID(), randomUUID());
    const fine = sampleEvents(newImageUID(), randomUUID());
    // A name ViewPort's columns cannot hold (the gateway refuses it; a foreign producer might not): MariaDB refuses the row for good.
    const unstorable = { ...lost['orbit.image.stored'], actor: { ...lost['orbit.image.stored'].actor, username: 'u'.repeat(300) } };
    const publisher = await EventPublisher.connect(kafka, own.codec, quietLogger);
    await publisher.publish(own.named(TOPICS.imageStored), unstorable);
    await publisher.publish(own.named(TOPICS.imageStored), fine['orbit.image.stored']);
    // One chart partition: the fine image's chart comes after the one that can never find its version.
    await publisher.publish(own.named(TOPICS.chartGenerated), lost['orbit.chart.generated']);
    await publisher.publish(own.named(TOPICS.chartGenerated), fine['orbit.chart.generated']);
    await publisher.disconnect();

    const groupId = `projector-${uniqueSuffix()}`;
    const loop = projectorLoop(own, own.topics, groupId);
    const fineVersion = `orbit:image:${fine['orbit.image.stored'].imageUID}:${fine['orbit.image.stored'].metadata.imageVersion}`;
    await loop.start();
    try {
      await waitFor(async () => {
        const [rows] = await viewport.pool.query<RowDataPacket[]>('SELECT post_status FROM wp_posts WHERE guid = ?', [fineVersion]);
        return rows[0]?.['post_status'] === 'ready' ? true : undefined;
      }, { timeoutMs: 30_000, what: 'the chart after the one whose version was set aside' });
    } finally {
      await loop.stop();
    }
    expect(await lettersIn(`${own.named(TOPICS.imageStored)}.dlq`)).toBe(1);
    expect(await lettersIn(`${own.named(TOPICS.chartGenerated)}.dlq`)).toBe(1);
    const [setAside] = await viewport.pool.query<RowDataPacket[]>('SELECT topic, version_guid, error_code FROM viewport_set_aside WHERE consumer_group = ? ORDER BY topic', [groupId]);
    expect(setAside.map((row) => [row['topic'], row['error_code']])).toEqual([[TOPICS.chartGenerated, 'ORBIT_ERR_VERSION_SET_ASIDE'], [TOPICS.imageStored, 'ER_DATA_TOO_LONG']]);
    expect(setAside[1]?.['version_guid']).toBe(`orbit:image:${lost['orbit.image.stored'].imageUID}:${lost['orbit.image.stored'].metadata.imageVersion}`);
  }, 60_000);
});

describe('a request failure the broker will not take', () => {
  it('does not stop the letter being passed: the partition goes on (it was re-read and the message set aside for ever)', async () => {
    const own = await privateLifecycleTopics('projector-refused', [TOPICS.imageStored]);
    const topic = own.named(TOPICS.imageStored);
    const lost = sampleEvents(newImageUID(), randomUUID())['orbit.image.stored'];
    const fine = sampleEvents(newImageUID(), randomUUID())['orbit.image.stored'];
    const publisher = await EventPublisher.connect(kafka, own.codec, quietLogger);
    // Decodable, with a request to fail, and a name ViewPort's columns cannot hold: set aside for good.
    await publisher.publish(topic, { ...lost, actor: { ...lost.actor, username: 'u'.repeat(300) } });
    await publisher.publish(topic, fine);
    await publisher.disconnect();
    let refusals = 0;
    // What kafkajs throws when an ACL leaves the topic out: not retriable. ViewportUpdated still goes out.
    const refuse = async (to: string): Promise<void> => {
      if (to !== TOPICS.pipelineFailed) return;
      refusals += 1;
      throw Object.assign(new Error('Not authorized to access topics: [Topic authorization failed]'), { name: 'KafkaJSProtocolError', type: 'TOPIC_AUTHORIZATION_FAILED', code: 29, retriable: false });
    };

    const loop = projectorLoop(own, own.topics, `projector-${uniqueSuffix()}`, refuse);
    await loop.start();
    try {
      await waitFor(async () => (await projectedImages()).includes(fine.imageUID), { timeoutMs: 30_000, what: 'the image after the message whose failure was refused' });
      await new Promise((resolve) => setTimeout(resolve, REPEAT_WOULD_SHOW_MS));
    } finally {
      await loop.stop();
    }
    expect({ refusals, letters: await lettersIn(`${topic}.dlq`) }).toEqual({ refusals: 1, letters: 1 });
  }, 60_000);
});

/** Retries of the projector's policy until its delay reaches maxDelayMs, and one more at that delay. */
const RETRIES_PAST_LONGEST_DELAY = Math.ceil(Math.log2(projectorRetry.maxDelayMs / projectorRetry.initialDelayMs)) + 2;

describe('a database that refuses the projector\'s user (a rotated password)', () => {
  it('holds the message instead of setting it aside and failing its request, and it is projected once the user is let in', async () => {
    const own = await privateLifecycleTopics('projector-denied', [TOPICS.imageStored]);
    const topic = own.named(TOPICS.imageStored);
    const event = sampleEvents(newImageUID(), randomUUID())['orbit.image.stored'];
    const publisher = await EventPublisher.connect(kafka, own.codec, quietLogger);
    await publisher.publish(topic, event);
    await publisher.disconnect();
    const groupId = `projector-${uniqueSuffix()}`;
    const url = new URL(testConfig.MYSQL_URL);
    url.pathname = `/${viewport.database}`;
    url.password = 'not-the-password';
    const refusedPool = createMysqlPool(url.toString(), 2);
    const published: string[] = [];
    const refused = projectorLoop(own, own.topics, groupId, async (to) => { published.push(to); }, refusedPool);
    const retriedFor: unknown[] = [];
    refused.on(CONSUMER_EVENTS.retry, ({ error }: { error: unknown }) => retriedFor.push(error));
    await refused.start();
    try {
      // Retried until the backoff reaches its longest delay (50, 100, 200, 400, then 500 ms), and once more: a message
      // the loop gave up on would have been set aside by then, so still no letter and no failure announced.
      await waitFor(async () => retriedFor.length >= RETRIES_PAST_LONGEST_DELAY, { timeoutMs: 20_000, what: `the refused login retried ${RETRIES_PAST_LONGEST_DELAY} times` });
    } finally {
      await refused.stop();
      await refusedPool.end();
    }
    expect(retriedFor[0]).toMatchObject({ code: 'ORBIT_ERR_STORE_UNAVAILABLE', mysqlCode: 'ER_ACCESS_DENIED_ERROR' });
    expect(published).toEqual([]);
    expect(await lettersIn(`${topic}.dlq`)).toBe(0);

    // The secret put right (a restart with it): the same group projects the message it held.
    const loop = projectorLoop(own, own.topics, groupId);
    await loop.start();
    try {
      await waitFor(async () => (await projectedImages()).includes(event.imageUID), { timeoutMs: 30_000, what: 'the held message projected' });
    } finally {
      await loop.stop();
    }
  }, 90_000);
});

describe('a message re-driven from a DLQ', () => {
  it('is passed over when re-driven for another group, and projected when for the projector, live and in a rebuild (the gap it left re-read the partition for ever)', async () => {
    const own = await privateLifecycleTopics('projector-redriven', [TOPICS.imageStored]);
    const topic = own.named(TOPICS.imageStored);
    const groupId = `projector-${uniqueSuffix()}`;
    const [first, otherGroups, ours, last] = ['first', 'other', 'ours', 'last'].map(() => sampleEvents(newImageUID(), randomUUID())['orbit.image.stored']);
    if (!first || !otherGroups || !ours || !last) throw new Error('four samples');
    const publisher = await EventPublisher.connect(kafka, own.codec, quietLogger);
    await publisher.publish(topic, first);
    await publisher.sendRaw(topic, [
      // As dlq:redrive writes them: the group, and the letter of this topic's DLQ it was re-driven from.
      { key: otherGroups.imageUID, value: await own.codec.encode(topic, otherGroups), headers: { [HEADER.redriveGroup]: 'harbor-writer', [REDRIVEN_FROM_HEADER]: `${topic}.dlq/0@0` } },
      { key: ours.imageUID, value: await own.codec.encode(topic, ours), headers: { [HEADER.redriveGroup]: groupId, [REDRIVEN_FROM_HEADER]: `${topic}.dlq/0@1` } },
    ]);
    await publisher.publish(topic, last);
    await publisher.disconnect();
    const imagesOf = async (): Promise<string[]> => (await projectedImages()).filter((uid) => [first, otherGroups, ours, last].some((event) => event.imageUID === uid)).sort();
    const expected = [first.imageUID, ours.imageUID, last.imageUID].sort();

    const loop = projectorLoop(own, own.topics, groupId);
    await loop.start();
    try {
      await waitFor(async () => (await projectedImages()).includes(last.imageUID), { timeoutMs: 30_000, what: 'the image after the re-driven ones' });
    } finally {
      await loop.stop();
    }
    expect(await imagesOf()).toEqual(expected);
    expect(await lettersIn(`${topic}.dlq`)).toBe(0);

    const url = new URL(testConfig.MYSQL_URL);
    url.pathname = `/${viewport.database}`;
    const report = await rebuildProjection({
      kafka, codec: own.codec, pool: viewport.pool, mysqlUrl: url.toString(), topics: own.topics, liveGroup: groupId,
      publisher: { publish: async () => undefined }, logger: quietLogger, lifecycleTopicOf: own.lifecycleTopicOf,
    });
    expect(report.skipped).toEqual([]);
    expect(await imagesOf()).toEqual(expected);
  }, 90_000);
});
