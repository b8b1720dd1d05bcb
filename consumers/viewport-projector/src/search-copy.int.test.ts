import { randomUUID } from 'node:crypto';
import { childSpan, EventPublisher, newImageUID, PROJECTED_TOPICS, TOPICS, type ConsumedMessage } from '@orbit/lib';
import { sampleEvents, type ImageStored, type OrbitEvent } from '@orbit/schemas';
import type { RowDataPacket } from 'mysql2/promise';
import { describe, expect, it } from 'vitest';
import { quietLogger, testConfig, uniqueSuffix } from '../../../test/helpers/index.js';
import { privateLifecycleTopics } from '../../../test/helpers/lifecycle-topics.js';
import { privateViewport } from '../../../test/helpers/viewport-db.js';
import { projectionChecksum } from './checksum.js';
import { projectorBatchHandler } from './handle.js';
import { rebuildProjection } from './rebuild.js';
import { fillSearchCopies } from './search-backfill.js';

describe('the search copy of descriptions and categories (found by a review: NFC and NFD "Béla" were two words)', () => {
  it('is the same written live, backfilled on rows from before it, and rebuilt from the events: viewport:checksum agrees', async () => {
    const copies = await privateLifecycleTopics('search-copy', PROJECTED_TOPICS);
    const publisher = await EventPublisher.connect(copies.kafka, copies.codec, quietLogger);
    const live = await privateViewport('searchcopy');
    const url = new URL(testConfig.MYSQL_URL);
    url.pathname = `/${live.database}`;
    const liveGroup = `viewport-projector-${uniqueSuffix()}`;
    const projector = projectorBatchHandler({ pool: live.pool, groupId: liveGroup, publisher: { publish: async () => undefined } });
    const offsets = new Map<string, number>();
    /** Published, and projected one by one as the live projector does. */
    const publishAndProject = async (topic: string, event: OrbitEvent) => {
      await publisher.publish(copies.named(topic), event);
      const offset = offsets.get(topic) ?? 0;
      offsets.set(topic, offset + 1);
      const message: ConsumedMessage<OrbitEvent> = {
        topic, partition: 0, offset: String(offset), key: event.imageUID, event, headers: {}, trace: childSpan(undefined), log: quietLogger, signal: new AbortController().signal,
      };
      await projector([message]);
    };
    const nfd = newImageUID();
    const stored = (imageUID: string, imageVersion: string, description: string | null, imageCategory: string | null): ImageStored => {
      // A UUID, as the gateway makes them: the replay's decoder refuses another request id.
      const event = sampleEvents(imageUID, randomUUID())[TOPICS.imageStored];
      return { ...event, metadata: { ...event.metadata, imageName: `uni-${imageUID.slice(0, 8).toLowerCase()}`, imageVersion, description, imageCategory } };
    };
    try {
      await publishAndProject(TOPICS.imageStored, stored(nfd, 'v1-0-00', 'Be\u0301la notes', 'Be\u0301la'));
      await publishAndProject(TOPICS.imageStored, stored(nfd, 'v2-0-00', 'Bel\u200Ba \ufb01le', null));
      await publishAndProject(TOPICS.imageStored, stored(newImageUID(), 'v1-0-00', 'B\u00e9la notes', 'B\u00e9la'));
      const [rows] = await live.pool.query<RowDataPacket[]>(
        'SELECT p.post_name, p.post_content, p.search_description, p.search_category FROM wp_posts p JOIN wp_image_uid u ON p.ID = u.post_id OR p.post_parent = u.post_id WHERE u.image_uid = ? ORDER BY p.ID', [nfd]);
      expect(rows.map((row) => ({ ...row }))).toEqual([
        // The image: the newest upload's description, the content as sent, and the category of the newest that gave one.
        { post_name: `uni-${nfd.slice(0, 8).toLowerCase()}`, post_content: 'Bel\u200Ba \ufb01le', search_description: 'Bela file', search_category: 'B\u00e9la' },
        { post_name: 'v1-0-00', post_content: '', search_description: 'B\u00e9la notes', search_category: 'B\u00e9la' },
        { post_name: 'v2-0-00', post_content: '', search_description: 'Bela file', search_category: '' },
      ]);
      const projected = await projectionChecksum(live.pool);

      // As migration 0017 leaves rows projected before it, then the projector's backfill.
      await live.pool.query('UPDATE wp_posts SET search_description = NULL, search_category = NULL');
      expect((await projectionChecksum(live.pool)).sha256).not.toBe(projected.sha256);
      expect(await fillSearchCopies(live.pool)).toBe(5);
      expect(await projectionChecksum(live.pool)).toEqual(projected);
      // As a projector of the build before 0017 leaves a post it re-describes beside a newer one: new text, the old copy.
      await live.pool.query("UPDATE wp_posts SET post_content = 'Zoltan only' WHERE post_content = 'Bel\u200Ba \ufb01le'");
      expect(await fillSearchCopies(live.pool)).toBe(1);
      const [[image]] = await live.pool.query<RowDataPacket[]>("SELECT search_description FROM wp_posts WHERE post_content = 'Zoltan only'");
      expect(image?.['search_description']).toBe('Zoltan only');
      await live.pool.query("UPDATE wp_posts SET post_content = 'Bel\u200Ba \ufb01le', search_description = 'Bela file' WHERE post_content = 'Zoltan only'");
      expect(await fillSearchCopies(live.pool)).toBe(0);
      expect(await projectionChecksum(live.pool)).toEqual(projected);

      const report = await rebuildProjection({
        kafka: copies.kafka, codec: copies.codec, pool: live.pool, mysqlUrl: url.toString(), topics: copies.topics, liveGroup,
        publisher: { publish: async () => undefined }, logger: quietLogger, lifecycleTopicOf: copies.lifecycleTopicOf, pollMs: 2_000,
      });
      expect(report).toMatchObject({ eventsReplayed: 3, skipped: [] });
      expect(await projectionChecksum(live.pool)).toEqual(projected);
    } finally {
      await publisher.disconnect();
      await live.drop();
    }
  }, 60_000);
});
