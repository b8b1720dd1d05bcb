/**
 * A lifecycle topic deleted and created again (its offsets start at 0 again), or compacted: the live projector holds
 * the partition instead of dropping the new topic's first events as applied ones, and viewport:rebuild refuses
 * instead of swapping in less or waiting for ever for an offset the topic no longer reaches (found by a review).
 */
import { randomUUID } from 'node:crypto';
import { childSpan, ConfigResourceTypes, EventPublisher, newImageUID, PROJECTED_TOPICS, TOPICS, type ConsumedMessage, type Kafka } from '@orbit/lib';
import { sampleEvents, type OrbitEvent } from '@orbit/schemas';
import type { RowDataPacket } from 'mysql2/promise';
import { afterAll, describe, expect, it } from 'vitest';
import { quietLogger, testConfig, uniqueSuffix, waitFor } from '../../../test/helpers/index.js';
import { privateLifecycleTopics, type PrivateTopics } from '../../../test/helpers/lifecycle-topics.js';
import { privateViewport, type PrivateViewport } from '../../../test/helpers/viewport-db.js';
import { projectorBatchHandler, projectorHandler } from './handle.js';
import { HistoryCompactedError, HistoryReplacedError, kafkaHighWatermarks } from './history.js';
import { rebuildProjection } from './rebuild.js';

const cleanups: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
});

async function fixture(label: string): Promise<PrivateTopics & { publisher: EventPublisher; live: PrivateViewport; url: URL }> {
  const copies = await privateLifecycleTopics(label, PROJECTED_TOPICS);
  const publisher = await EventPublisher.connect(copies.kafka, copies.codec, quietLogger);
  const live = await privateViewport(label);
  cleanups.push(async () => {
    await publisher.disconnect();
    await live.drop();
    const admin = copies.kafka.admin();
    await admin.connect();
    await admin.deleteTopics({ topics: [...copies.topics] }).finally(() => admin.disconnect());
  });
  const url = new URL(testConfig.MYSQL_URL);
  url.pathname = `/${live.database}`;
  return { ...copies, publisher, live, url };
}

/** As an operator's `kafka-topics --delete` and a provisioning after it: the same names, offsets from 0 again. */
async function recreate(kafka: Kafka, topics: readonly string[]): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    await admin.deleteTopics({ topics: [...topics] });
    // Deletion finishes in the background: created again once the broker no longer has the old ones.
    await waitFor(async () => admin.createTopics({ waitForLeaders: true, topics: topics.map((topic) => ({ topic, numPartitions: 1, replicationFactor: 1 })) }).then(() => true), { what: 'the topics created again', timeoutMs: 60_000, intervalMs: 500 });
  } finally {
    await admin.disconnect();
  }
}

async function imageCount(live: PrivateViewport): Promise<number> {
  const [rows] = await live.pool.query<RowDataPacket[]>('SELECT COUNT(*) AS n FROM wp_image_uid');
  return Number(rows[0]?.['n']);
}

describe('a lifecycle topic deleted and created again', () => {
  it('the live projector holds the partition with ORBIT_ERR_HISTORY_REPLACED instead of dropping the new topic\'s first events, and still passes over a redelivery', async () => {
    const { kafka, named, publisher, live } = await fixture('replaced-live');
    const watermarks = kafkaHighWatermarks(kafka);
    cleanups.push(() => watermarks.close());
    const groupId = `viewport-projector-${uniqueSuffix()}`;
    const deps = { pool: live.pool, groupId, publisher: { publish: async () => undefined }, highWatermark: (topic: string, partition: number) => watermarks(named(topic), partition) };
    const batch = projectorBatchHandler(deps);
    const single = projectorHandler(deps);
    const message = (event: OrbitEvent, offset: number): ConsumedMessage<OrbitEvent> => ({
      topic: TOPICS.imageStored, partition: 0, offset: String(offset), key: event.imageUID, event, headers: {}, trace: childSpan(undefined), log: quietLogger, signal: new AbortController().signal,
    });
    const stored = async (count: number): Promise<OrbitEvent[]> => {
      const events = Array.from({ length: count }, () => sampleEvents(newImageUID(), randomUUID())[TOPICS.imageStored]);
      for (const event of events) await publisher.publish(named(TOPICS.imageStored), event);
      return events;
    };

    const old = await stored(3);
    await batch(old.map((event, offset) => message(event, offset)));
    expect(await imageCount(live)).toBe(3);
    // Redelivered (a crash before the commit to Kafka), the topic reaching past them: passed over, the next one applied.
    const fourth = await stored(1);
    await batch([...old, ...fourth].map((event, offset) => message(event, offset)));
    expect(await imageCount(live)).toBe(4);

    await recreate(kafka, [named(TOPICS.imageStored)]);
    const fresh = await stored(2);
    // The new topic's offsets 0 and 1 are below the 4 applied: not taken for applied ones.
    const held = batch(fresh.map((event, offset) => message(event, offset)));
    await expect(held).rejects.toBeInstanceOf(HistoryReplacedError);
    await expect(held).rejects.toMatchObject({ code: 'ORBIT_ERR_HISTORY_REPLACED', retriable: true });
    await expect(held).rejects.toThrow(`${TOPICS.imageStored}/0 (ends at offset 2, ViewPort applied up to 4)`);
    await expect(single(message(fresh[0] as OrbitEvent, 0))).rejects.toBeInstanceOf(HistoryReplacedError);
    // Nothing applied nor skipped: the applied offset stays where the old topic left it.
    expect(await imageCount(live)).toBe(4);
    const [offsets] = await live.pool.query<RowDataPacket[]>('SELECT next_offset FROM viewport_applied_offsets WHERE consumer_group = ?', [groupId]);
    expect(offsets.map((row) => String(row['next_offset']))).toEqual(['4']);
  }, 120_000);

  it('viewport:rebuild refuses with ORBIT_ERR_HISTORY_REPLACED instead of waiting for ever for the old end, and leaves the live projection alone', async () => {
    const { kafka, codec, topics, named, lifecycleTopicOf, publisher, live, url } = await fixture('replaced-rebuild');
    const deps = {
      kafka, codec, pool: live.pool, mysqlUrl: url.toString(), topics, liveGroup: `viewport-projector-${uniqueSuffix()}`,
      publisher: { publish: async () => undefined }, logger: quietLogger, lifecycleTopicOf, gateTimeoutMs: 10_000,
    };
    const images = async (count: number): Promise<void> => {
      for (let i = 0; i < count; i += 1) {
        const events = sampleEvents(newImageUID(), randomUUID());
        await publisher.publish(named(TOPICS.imageStored), events[TOPICS.imageStored]);
        await publisher.publish(named(TOPICS.chartGenerated), events[TOPICS.chartGenerated]);
      }
    };
    await images(3);
    await rebuildProjection(deps);
    expect(await imageCount(live)).toBe(3);

    await recreate(kafka, topics);
    await images(2);
    const refused = rebuildProjection(deps);
    // Before: it waited for offset 3 of topics that now end at 2 (no answer in minutes).
    const bounded = Promise.race([refused.then(() => 'rebuilt', (error: unknown) => error), new Promise((resolve) => { setTimeout(() => resolve('still waiting after 60 s'), 60_000); })]);
    const outcome = await bounded;
    expect(outcome).toBeInstanceOf(HistoryReplacedError);
    expect(String((outcome as Error).message)).toContain(`${TOPICS.imageStored}/0 (ends at offset 2, ViewPort applied up to 3)`);
    expect(await imageCount(live)).toBe(3);
    const [shadows] = await live.pool.query<RowDataPacket[]>('SELECT SCHEMA_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME IN (?, ?)', [`${live.database}_rebuild`, `${live.database}_previous`]);
    // The first rebuild's previous copy stays; no shadow was made.
    expect(shadows.map((row) => row['SCHEMA_NAME'])).toEqual([`${live.database}_previous`]);
  }, 180_000);
});

describe('a compacted lifecycle topic', () => {
  it.each(['compact', 'compact,delete'])('viewport:rebuild refuses a topic whose cleanup.policy is %s with ORBIT_ERR_HISTORY_COMPACTED', async (policy) => {
    const { kafka, codec, topics, named, lifecycleTopicOf, publisher, live, url } = await fixture('compacted');
    const events = sampleEvents(newImageUID(), randomUUID());
    await publisher.publish(named(TOPICS.imageStored), events[TOPICS.imageStored]);
    const admin = kafka.admin();
    await admin.connect();
    try {
      await admin.alterConfigs({ validateOnly: false, resources: [{ type: ConfigResourceTypes.TOPIC, name: named(TOPICS.imageStored), configEntries: [{ name: 'cleanup.policy', value: policy }] }] });
    } finally {
      await admin.disconnect();
    }
    const refused = rebuildProjection({
      kafka, codec, pool: live.pool, mysqlUrl: url.toString(), topics, liveGroup: `viewport-projector-${uniqueSuffix()}`,
      publisher: { publish: async () => undefined }, logger: quietLogger, lifecycleTopicOf,
    });
    await expect(refused).rejects.toBeInstanceOf(HistoryCompactedError);
    await expect(refused).rejects.toMatchObject({ code: 'ORBIT_ERR_HISTORY_COMPACTED' });
    await expect(refused).rejects.toThrow(`${named(TOPICS.imageStored)} has cleanup.policy=${policy}`);
    expect(await imageCount(live)).toBe(0);
  }, 120_000);
});
