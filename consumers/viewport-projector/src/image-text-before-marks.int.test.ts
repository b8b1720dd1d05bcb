import { randomUUID } from 'node:crypto';
import { childSpan, newImageUID, TOPICS, type ConsumedMessage } from '@orbit/lib';
import { sampleEvents, type ImageStored, type OrbitEvent } from '@orbit/schemas';
import type { Pool, RowDataPacket } from 'mysql2/promise';
import { describe, expect, it } from 'vitest';
import { mysqlImageReader } from '../../../producers/portal-gateway/src/stores/mysql-images.js';
import { quietLogger, uniqueSuffix } from '../../../test/helpers/index.js';
import { privatePools } from '../../../test/helpers/viewport-db.js';
import { projectionChecksum } from './checksum.js';
import { projectorBatchHandler } from './handle.js';
import { imageGuid } from './plan.js';

const pools = privatePools();

/** A projector on `pool` that projects each event as its own batch, at the next offset. */
function projectorOn(pool: Pool): (event: OrbitEvent) => Promise<void> {
  const projector = projectorBatchHandler({ pool, groupId: `viewport-projector-${uniqueSuffix()}`, publisher: { publish: async () => undefined } });
  let offset = 0;
  return async (event) => {
    const message: ConsumedMessage<OrbitEvent> = {
      topic: TOPICS.imageStored, partition: 0, offset: String(offset), key: event.imageUID, event, headers: {}, trace: childSpan(undefined), log: quietLogger,
      signal: new AbortController().signal,
    };
    offset += 1;
    await projector([message]);
  };
}

describe('the text of an image projected before the descriptionFrom and categoryFrom marks (found by an upgrade review)', () => {
  it('is not overwritten by an older ImageStored re-driven after the upgrade: the upgraded database ends as HEAD\'s projection of the same history', async () => {
    const upgraded = await pools('premarks');
    const replayed = await pools('premarksref');
    const uid = newImageUID();
    const name = `premarks-${uid.slice(0, 8).toLowerCase()}`;
    /** An upload stored at `storedAt`, written before requestedAt (as an older release's letters are). */
    const stored = (imageVersion: string, storedAt: string, given: { description: string; imageCategory: string }): ImageStored => {
      const event = sampleEvents(uid, randomUUID())[TOPICS.imageStored];
      return { ...event, occurredAt: Date.parse(storedAt), requestedAt: null, metadata: { ...event.metadata, imageName: name, imageVersion, ...given } };
    };
    const history = [
      stored('v1-0-00', '2026-11-24T10:00:00Z', { description: 'first', imageCategory: 'cat-a' }),
      stored('v1-0-01', '2026-11-25T10:00:00Z', { description: 'newer text', imageCategory: 'cat-b' }),
    ];
    const late = stored('v0-9-00', '2026-11-20T09:00:00Z', { description: 'OLDER TEXT from 2026-11-20', imageCategory: 'old-cat' });
    const live = projectorOn(upgraded);
    const replay = projectorOn(replayed);
    for (const event of history) {
      await live(event);
      await replay(event);
    }
    // What an older release left of the image: its text without the marks, which came later.
    await upgraded.query(
      "DELETE m FROM wp_postmeta m JOIN wp_posts p ON p.ID = m.post_id WHERE p.guid = ? AND m.meta_key IN ('descriptionFrom', 'categoryFrom')", [imageGuid(uid)]);

    await live(late);
    await replay(late);
    const text = async (pool: Pool) => {
      const [[row]] = await pool.query<RowDataPacket[]>(
        "SELECT p.post_content AS description, m.meta_value AS category FROM wp_posts p JOIN wp_postmeta m ON m.post_id = p.ID AND m.meta_key = 'imageCategory' WHERE p.guid = ?",
        [imageGuid(uid)]);
      return { description: row?.['description'] as unknown, category: row?.['category'] as unknown, shown: (await mysqlImageReader(pool).get(uid))?.description };
    };
    expect(await text(upgraded)).toEqual({ description: 'newer text', category: 'cat-b', shown: 'newer text' });
    expect(await text(replayed)).toEqual({ description: 'newer text', category: 'cat-b', shown: 'newer text' });
    // The marks it wrote are the ones HEAD's projection holds: a rebuild of the upgraded database changes nothing.
    expect(await projectionChecksum(upgraded)).toEqual(await projectionChecksum(replayed));
  }, 60_000);
});
