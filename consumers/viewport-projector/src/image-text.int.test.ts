import { randomUUID } from 'node:crypto';
import { childSpan, EventPublisher, newImageUID, PROJECTED_TOPICS, TOPICS, type ConsumedMessage } from '@orbit/lib';
import { sampleEvents, type ImageStored, type OrbitEvent } from '@orbit/schemas';
import { describe, expect, it } from 'vitest';
import { mysqlImageReader } from '../../../producers/portal-gateway/src/stores/mysql-images.js';
import { quietLogger, testConfig, uniqueSuffix } from '../../../test/helpers/index.js';
import { privateLifecycleTopics } from '../../../test/helpers/lifecycle-topics.js';
import { privateViewport } from '../../../test/helpers/viewport-db.js';
import { projectionChecksum } from './checksum.js';
import { passDeadLetters, projectorBatchHandler } from './handle.js';
import { rebuildProjection } from './rebuild.js';

describe('an image\'s description and category (found by a review: an upload without them wiped them, and ?category= and ?q= lost the image)', () => {
  it('are the newest upload\'s that gave them, through a bare upload and an older upload re-driven after a newer one, live and rebuilt alike', async () => {
    const copies = await privateLifecycleTopics('image-text', PROJECTED_TOPICS);
    const publisher = await EventPublisher.connect(copies.kafka, copies.codec, quietLogger);
    const live = await privateViewport('imagetext');
    const url = new URL(testConfig.MYSQL_URL);
    url.pathname = `/${live.database}`;
    const liveGroup = `viewport-projector-${uniqueSuffix()}`;
    const projector = projectorBatchHandler({ pool: live.pool, groupId: liveGroup, publisher: { publish: async () => undefined } });
    const setAside = passDeadLetters({ pool: live.pool, groupId: liveGroup });
    const images = mysqlImageReader(live.pool);
    const offsets = new Map<string, number>();
    /** Published; then projected as the live projector does, or set aside as it does a message it gave up on. */
    const publish = async (topic: string, event: OrbitEvent, fate: 'projected' | 'set aside' = 'projected') => {
      await publisher.publish(copies.named(topic), event);
      const offset = offsets.get(topic) ?? 0;
      offsets.set(topic, offset + 1);
      const message: ConsumedMessage<OrbitEvent> = {
        topic, partition: 0, offset: String(offset), key: event.imageUID, event, headers: {}, trace: childSpan(undefined), log: quietLogger, signal: new AbortController().signal,
      };
      if (fate === 'projected') await projector([message]);
      else await setAside({ topic, partition: 0, offset: String(offset), message, error: new Error('the database went away') });
    };
    const uid = newImageUID();
    const name = `text-${uid.slice(0, 8).toLowerCase()}`;
    const stored = (imageVersion: string, minute: number, given: { description?: string; imageCategory?: string }): ImageStored => {
      // A UUID, as the gateway makes them: the replay's decoder refuses another request id.
      const event = sampleEvents(uid, randomUUID())[TOPICS.imageStored];
      return {
        ...event, occurredAt: Date.parse('2026-11-22T10:00:00Z') + minute * 60_000,
        metadata: { ...event.metadata, imageName: name, imageVersion, description: null, imageCategory: null, ...given },
      };
    };
    /** What its owner reads: the image, and whether ?category= and ?q= find it. */
    const seen = async (category: string, q: string) => ({
      description: (await images.get(uid))?.description,
      byCategory: (await images.search({ owner: 'dev1', category, q: name, limit: 10 })).images.map((image) => image.imageUID),
      byWord: (await images.search({ owner: 'dev1', q, limit: 200 })).images.map((image) => image.imageUID).filter((found) => found === uid),
    });
    try {
      // 1. The first upload gives both.
      await publish(TOPICS.imageStored, stored('v1-0-00', 0, { description: `${name} Billing`, imageCategory: 'rwcat' }));
      expect(await seen('rwcat', `${name} Billing`)).toEqual({ description: `${name} Billing`, byCategory: [uid], byWord: [uid] });
      // 2. A newer one that gives neither keeps them.
      await publish(TOPICS.imageStored, stored('v1-0-01', 1, {}));
      expect(await seen('rwcat', `${name} Billing`)).toEqual({ description: `${name} Billing`, byCategory: [uid], byWord: [uid] });
      // 3. One that gives both is set aside (its ImageStored met a database outage) and re-driven after a newer one that
      //    gives a description alone: the description is the newer one's, the category the re-driven one's (the newest given).
      const redriven = stored('v1-0-02', 2, { description: `${name} Payments`, imageCategory: 'payments' });
      await publish(TOPICS.imageStored, redriven, 'set aside');
      await publish(TOPICS.imageStored, stored('v1-0-03', 3, { description: `${name} Ledger` }));
      await publish(TOPICS.imageStored, redriven);
      expect(await seen('payments', `${name} Ledger`)).toEqual({ description: `${name} Ledger`, byCategory: [uid], byWord: [uid] });
      expect(await seen('rwcat', `${name} Payments`)).toEqual({ description: `${name} Ledger`, byCategory: [], byWord: [] });
      const projected = await projectionChecksum(live.pool);

      // The rebuild projects the set-aside letter at its first place, before the second version: the same text all the same.
      const report = await rebuildProjection({
        kafka: copies.kafka, codec: copies.codec, pool: live.pool, mysqlUrl: url.toString(), topics: copies.topics, liveGroup,
        publisher: { publish: async () => undefined }, logger: quietLogger, lifecycleTopicOf: copies.lifecycleTopicOf, pollMs: 2_000,
      });
      expect(report).toMatchObject({ eventsReplayed: 5, skipped: [] });
      expect(await projectionChecksum(live.pool)).toEqual(projected);
      expect(await seen('payments', `${name} Ledger`)).toEqual({ description: `${name} Ledger`, byCategory: [uid], byWord: [uid] });
    } finally {
      await publisher.disconnect();
      await live.drop();
    }
  }, 90_000);

  it('are ordered by when their requests were accepted, through a harbor-writer re-run stamped after a newer upload: live and rebuilt from the events alike (found by a review)', async () => {
    const copies = await privateLifecycleTopics('image-text-rerun', PROJECTED_TOPICS);
    const publisher = await EventPublisher.connect(copies.kafka, copies.codec, quietLogger);
    const live = await privateViewport('imagererun');
    const url = new URL(testConfig.MYSQL_URL);
    url.pathname = `/${live.database}`;
    const liveGroup = `viewport-projector-${uniqueSuffix()}`;
    const projector = projectorBatchHandler({ pool: live.pool, groupId: liveGroup, publisher: { publish: async () => undefined } });
    const setAside = passDeadLetters({ pool: live.pool, groupId: liveGroup });
    let offset = 0;
    const publish = async (event: OrbitEvent, fate: 'projected' | 'set aside' = 'projected') => {
      await publisher.publish(copies.named(TOPICS.imageStored), event);
      const message: ConsumedMessage<OrbitEvent> = {
        topic: TOPICS.imageStored, partition: 0, offset: String(offset), key: event.imageUID, event, headers: {}, trace: childSpan(undefined), log: quietLogger, signal: new AbortController().signal,
      };
      offset += 1;
      if (fate === 'projected') await projector([message]);
      else await setAside({ topic: TOPICS.imageStored, partition: 0, offset: message.offset, message, error: new Error('the database went away') });
    };
    const uid = newImageUID();
    /** An upload accepted at `accepted` (its UploadRequested's occurredAt, carried as requestedAt) and stored a minute later. */
    const upload = (imageVersion: string, accepted: string, description: string): ImageStored => {
      const event = sampleEvents(uid, randomUUID())[TOPICS.imageStored];
      return {
        ...event, occurredAt: Date.parse(accepted) + 60_000, requestedAt: Date.parse(accepted),
        metadata: { ...event.metadata, imageName: `rerun-${uid.slice(0, 8).toLowerCase()}`, imageVersion, description, imageCategory: null },
      };
    };
    const first = upload('v1-0-00', '2026-11-22T09:59:00Z', 'first');
    const second = upload('v1-0-01', '2026-11-22T10:59:00Z', 'second');
    try {
      // 1. v1's ImageStored is set aside, v2's projected, v1 stored again by a harbor-writer re-run at 12:00, then the letter re-driven.
      await publish(first, 'set aside');
      await publish(second);
      await publish({ ...first, occurredAt: Date.parse('2026-11-22T12:00:00Z') });
      await publish(first);
      const description = async () => (await mysqlImageReader(live.pool).get(uid))?.description;
      expect(await description()).toBe('second');
      const projected = await projectionChecksum(live.pool);
      // 2. A rebuild projects the set-aside copy at its first place, with no request row of the gateway's to read (there is none here).
      const report = await rebuildProjection({
        kafka: copies.kafka, codec: copies.codec, pool: live.pool, mysqlUrl: url.toString(), topics: copies.topics, liveGroup,
        publisher: { publish: async () => undefined }, logger: quietLogger, lifecycleTopicOf: copies.lifecycleTopicOf, pollMs: 2_000,
      });
      expect(report).toMatchObject({ eventsReplayed: 4, skipped: [] });
      expect(await projectionChecksum(live.pool)).toEqual(projected);
      expect(await description()).toBe('second');
    } finally {
      await publisher.disconnect();
      await live.drop();
    }
  }, 90_000);
});
