/**
 * ViewPort restored from a backup older than a lifecycle topic's retention: it expects an offset the topic no longer
 * holds. The live projector passed the removed offsets over after two re-reads, their events never projected, with
 * an info line to say so (found by a disaster-recovery review). It holds the partition with
 * ORBIT_ERR_HISTORY_TRUNCATED until the topic is restored or the loss accepted with the UPDATE docs/errors.md gives.
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { childSpan, EventPublisher, newImageUID, SeekRequest, TOPICS, type ConsumedMessage } from '@orbit/lib';
import { sampleEvents, type OrbitEvent } from '@orbit/schemas';
import type { RowDataPacket } from 'mysql2/promise';
import { afterAll, describe, expect, it } from 'vitest';
import { quietLogger, uniqueSuffix } from '../../../test/helpers/index.js';
import { privateLifecycleTopics } from '../../../test/helpers/lifecycle-topics.js';
import { memoryLogger } from '../../../test/helpers/memory-logger.js';
import { privateViewport } from '../../../test/helpers/viewport-db.js';
import { projectorBatchHandler, projectorHandler } from './handle.js';
import { HistoryTruncatedLiveError, kafkaHighWatermarks } from './history.js';

const cleanups: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
});

/** docs/errors.md, ORBIT_ERR_HISTORY_TRUNCATED: the operator's way to accept the loss, word for word but for the placeholders. */
const ACCEPT_LOSS = "UPDATE viewport_applied_offsets SET next_offset = <low watermark>, updated_at = UTC_TIMESTAMP(3) WHERE consumer_group = 'viewport-projector' AND topic = '<topic>' AND kafka_partition = <n> AND next_offset < <low watermark>";

describe('a lifecycle topic whose records ViewPort still expects were removed by retention', () => {
  it('docs/errors.md gives the statement this test runs', () => {
    expect(readFileSync(new URL('../../../docs/errors.md', import.meta.url), 'utf8')).toContain(`\`${ACCEPT_LOSS}\``);
  });

  it('the live projector holds the partition with ORBIT_ERR_HISTORY_TRUNCATED, nothing projected or skipped, and goes on after the documented UPDATE', async () => {
    const copies = await privateLifecycleTopics('s45ft', [TOPICS.imageStored]);
    const { kafka, named } = copies;
    const topic = named(TOPICS.imageStored);
    const publisher = await EventPublisher.connect(kafka, copies.codec, quietLogger);
    const live = await privateViewport('s45ft');
    const watermarks = kafkaHighWatermarks(kafka);
    const admin = kafka.admin();
    await admin.connect();
    cleanups.push(async () => {
      await watermarks.close();
      await publisher.disconnect();
      await live.drop();
      await admin.deleteTopics({ topics: [topic, `${topic}.dlq`] }).finally(() => admin.disconnect());
    });
    const { logger, lines } = memoryLogger();
    const groupId = `viewport-projector-s45ft-${uniqueSuffix()}`;
    const deps = {
      pool: live.pool, groupId, publisher: { publish: async () => undefined },
      highWatermark: (name: string, partition: number) => watermarks(named(name), partition),
      lowWatermark: (name: string, partition: number) => watermarks.low(named(name), partition),
    };
    const single = projectorHandler(deps);
    const batch = projectorBatchHandler(deps);
    const events = Array.from({ length: 8 }, () => sampleEvents(newImageUID(), randomUUID())[TOPICS.imageStored]);
    for (const event of events) await publisher.publish(topic, event);
    const message = (offset: number): ConsumedMessage<OrbitEvent> => ({
      topic: TOPICS.imageStored, partition: 0, offset: String(offset), key: events[offset]?.imageUID ?? null, event: events[offset] as OrbitEvent,
      headers: {}, trace: childSpan(undefined), log: logger, signal: new AbortController().signal,
    });
    const state = async (): Promise<{ images: number; nextOffset: string | undefined }> => {
      const [images] = await live.pool.query<RowDataPacket[]>('SELECT COUNT(*) AS n FROM wp_image_uid');
      const [offsets] = await live.pool.query<RowDataPacket[]>('SELECT next_offset FROM viewport_applied_offsets WHERE consumer_group = ?', [groupId]);
      return { images: Number(images[0]?.['n']), nextOffset: offsets[0] === undefined ? undefined : String(offsets[0]['next_offset']) };
    };

    // The backup: offsets 0 and 1 applied. Retention then removes 0..4 (a restore older than the topic's retention).
    await batch([message(0), message(1)]);
    expect(await state()).toEqual({ images: 2, nextOffset: '2' });
    await admin.fetchTopicMetadata({ topics: [topic] });
    await admin.deleteTopicRecords({ topic, partitions: [{ partition: 0, offset: '5' }] });
    expect((await admin.fetchTopicOffsets(topic))[0]).toMatchObject({ low: '5', high: '8' });

    // At the group's committed offset, at the log start the re-read resets to, twice (before: the second was taken as
    // proof and 2..4 passed over), and as a batch.
    for (const work of [() => single(message(6)), () => single(message(5)), () => single(message(5)), () => batch([5, 6, 7].map(message))]) {
      const held = await work().then(() => 'projected', (error: unknown) => error);
      expect(held).toBeInstanceOf(HistoryTruncatedLiveError);
      expect(held).toMatchObject({ code: 'ORBIT_ERR_HISTORY_TRUNCATED', retriable: true, low: 5n, expected: 2n });
    }
    expect(await state()).toEqual({ images: 2, nextOffset: '2' });
    const said = lines.filter((line) => line['code'] === 'ORBIT_ERR_HISTORY_TRUNCATED');
    expect(said.map((line) => [line['level'], line['lowWatermark'], line['expected']])).toEqual([['error', '5', '2']]);
    expect(lines.filter((line) => line['passedOver'] !== undefined)).toEqual([]);

    // The operator accepts the loss of 2..4: the statement of docs/errors.md, as typed (consumer group: this test's).
    const { low } = (await admin.fetchTopicOffsets(topic))[0] ?? { low: '' };
    const statement = ACCEPT_LOSS.replaceAll('<low watermark>', low).replace('<topic>', TOPICS.imageStored).replace('<n>', '0').replace("'viewport-projector'", `'${groupId}'`);
    const [updated] = await live.pool.query(statement);
    expect(updated).toMatchObject({ affectedRows: 1 });
    expect(await state()).toEqual({ images: 2, nextOffset: '5' });

    // The projector goes on by itself: the committed offset re-reads from 5 (above the log start now), then 5..7 project.
    const seek = single(message(6));
    await expect(seek).rejects.toBeInstanceOf(SeekRequest);
    await expect(seek).rejects.toMatchObject({ code: 'ORBIT_ERR_SEEK', offset: '5' });
    await single(message(5));
    await batch([6, 7].map(message));
    expect(await state()).toEqual({ images: 5, nextOffset: '8' });
  }, 120_000);
});
