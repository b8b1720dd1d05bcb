import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { Pool, RowDataPacket } from 'mysql2/promise';
import { childSpan, newImageUID, TOPICS, type ConsumedMessage, type EventEnvelope } from '@orbit/lib';
import { sampleEvents, type OrbitEvent } from '@orbit/schemas';
import { quietLogger, uniqueSuffix } from '../../../test/helpers/index.js';
import { privatePools } from '../../../test/helpers/viewport-db.js';
import { projectionChecksum } from './checksum.js';
import { projectorBatchHandler, projectorHandler } from './handle.js';
import { VersionNotProjectedYetError } from './plan.js';

/**
 * The set-based projection must leave exactly what one-by-one projection
 * leaves: the same history goes into two private databases, one message at a
 * time in causal order, and in random-sized batches topic by topic (charts
 * first, so batches have to wait for their versions), and the two databases
 * are compared row for row.
 */
const suffix = uniqueSuffix();
const poolOn = privatePools();

/** A seeded history: uploads that succeed, are rejected or fail at the chart, second versions (with or without a description and category), transfers on to Testing and Staging, late redeliveries. */
function history(images: number): { topic: string; event: OrbitEvent }[] {
  let seed = 42;
  const random = (): number => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  let clock = Date.parse('2026-11-01T00:00:00Z');
  const tick = (): number => (clock += 1 + Math.floor(random() * 5_000));
  const out: { topic: string; event: OrbitEvent }[] = [];
  // Every event its own id, as producers give them (ViewportUpdated ids derive from them).
  const push = (topic: string, event: OrbitEvent): void => { out.push({ topic, event: { ...event, eventId: randomUUID(), occurredAt: tick() } }); };
  for (let i = 0; i < images; i++) {
    const uid = newImageUID();
    for (const version of random() < 0.3 ? ['v1-0-00', 'v1-0-01'] : ['v1-0-00']) {
      const requestId = `req-${suffix}-${i}-${version}`;
      const events = sampleEvents(uid, requestId);
      // Uploads that give a description or category, a new one, or neither: the image keeps the newest given (image-text.ts).
      const given = (text: string): string | null => (random() < 0.4 ? null : `${text} ${i} ${version}`);
      const metadata = { ...events['orbit.image.validated'].metadata, imageVersion: version, imageName: `app-${i}`, description: given('Billing'), imageCategory: given('backend') };
      push(TOPICS.imageValidated, { ...events['orbit.image.validated'], metadata });
      const fate = random();
      if (fate < 0.15) { push(TOPICS.imageRejected, events['orbit.image.rejected']); continue; }
      push(TOPICS.imageStored, { ...events['orbit.image.stored'], metadata });
      if (fate < 0.25) { push(TOPICS.pipelineFailed, events['orbit.pipeline.failed']); continue; }
      push(TOPICS.chartGenerated, { ...events['orbit.chart.generated'], imageVersion: version });
      for (const target of ['Testing', 'Staging']) {
        if (random() < 0.5) break;
        push(TOPICS.chartPromoted, { ...events['orbit.chart.promoted'], requestId: `${requestId}-to-${target}`, imageVersion: version, targetEnvironment: target });
      }
      // A harbor-writer that died before committing stores again, late: the version must keep what it reached.
      if (random() < 0.2) {
        push(TOPICS.imageStored, { ...events['orbit.image.stored'], metadata });
        push(TOPICS.chartGenerated, { ...events['orbit.chart.generated'], imageVersion: version });
      }
    }
  }
  return out;
}

function asMessages(entries: readonly { topic: string; event: OrbitEvent }[]): ConsumedMessage<OrbitEvent>[] {
  const offsets = new Map<string, number>();
  return entries.map(({ topic, event }) => {
    const offset = offsets.get(topic) ?? 0;
    offsets.set(topic, offset + 1);
    return { topic, partition: 0, offset: String(offset), key: event.imageUID, event, headers: {}, trace: childSpan(undefined), log: quietLogger, signal: new AbortController().signal };
  });
}

async function rows(pool: Pool, sql: string): Promise<unknown[]> {
  const [result] = await pool.query<RowDataPacket[]>(sql);
  return result.map((row) => ({ ...row }));
}

describe('set-based projection', () => {
  it('leaves row for row what one-by-one projection leaves, announcing the same ViewportUpdated ids', async () => {
    const messages = asMessages(history(60));
    const announced = { single: new Set<string>(), batched: new Set<string>() };
    const publisherOf = (into: Set<string>) => ({ publish: async (_topic: string, event: EventEnvelope) => { into.add(event.eventId); } });

    const single = await poolOn('one');
    const one = projectorHandler({ pool: single, groupId: 'eq', publisher: publisherOf(announced.single) });
    for (const message of messages) await one(message);

    const batched = await poolOn('batch');
    const batch = projectorBatchHandler({ pool: batched, groupId: 'eq', publisher: publisherOf(announced.batched) });
    let waited = 0;
    let size = 1;
    for (const topic of [TOPICS.chartGenerated, TOPICS.imageValidated, TOPICS.imageStored, TOPICS.chartGenerated, TOPICS.chartPromoted, TOPICS.imageRejected, TOPICS.pipelineFailed]) {
      const ofTopic = messages.filter((message) => message.topic === topic);
      for (let start = 0; start < ofTopic.length;) {
        size = (size * 7) % 23 + 1;
        try {
          await batch(ofTopic.slice(start, start + size));
          start += size;
        } catch (error) {
          // Charts before their images: the batch keeps what it could and the rest waits; this run moves on to the images.
          expect(error).toBeInstanceOf(VersionNotProjectedYetError);
          waited += 1;
          break;
        }
      }
    }
    // The chart topic was offered before any image, so it waited at least once and was completed on the second pass.
    expect(waited).toBeGreaterThan(0);

    expect(await projectionChecksum(batched)).toEqual(await projectionChecksum(single));
    for (const [sql, atLeast] of [
      ['SELECT * FROM viewport_requests ORDER BY request_id', 60],
      ['SELECT topic, kafka_partition, next_offset FROM viewport_applied_offsets ORDER BY topic', 6],
      ["SELECT p.guid, p.post_content, p.search_category FROM wp_posts p WHERE p.post_type = 'orbit_image' AND p.post_content <> '' ORDER BY p.guid", 20],
      ["SELECT p.guid, m.meta_key, m.meta_value FROM wp_postmeta m JOIN wp_posts p ON p.ID = m.post_id WHERE m.meta_key = 'environments' ORDER BY p.guid", 40],
    ] as const) {
      const expected = await rows(single, sql);
      expect(expected.length).toBeGreaterThanOrEqual(atLeast);
      expect(await rows(batched, sql)).toEqual(expected);
    }
    expect(announced.batched).toEqual(announced.single);
    expect(announced.single.size).toBe(messages.length);
  });
});
