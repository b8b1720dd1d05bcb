import { childSpan, newImageUID, TOPICS, type ConsumedMessage } from '@orbit/lib';
import { sampleEvents, type ImageStored, type OrbitEvent } from '@orbit/schemas';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { projectorBatchHandler } from '../../../../consumers/viewport-projector/src/handle.js';
import { quietLogger, uniqueSuffix } from '../../../../test/helpers/index.js';
import { privateViewport, type PrivateViewport } from '../../../../test/helpers/viewport-db.js';
import { mysqlImageReader } from './mysql-images.js';

const OWNER = `upgraded-${uniqueSuffix()}`;
const FACTS = ['imageReference', 'imageTag', 'archiveCompression', 'chartSha256'] as const;
let viewport: PrivateViewport;
/** Stored and charted by this release, then stripped of the facts an older release did not keep. */
const old = newImageUID();
/** Stored by this release, uncompressed, not charted yet. */
const fresh = newImageUID();

beforeAll(async () => {
  viewport = await privateViewport('upgraded');
  const project = projectorBatchHandler({ pool: viewport.pool, groupId: `upgraded-${uniqueSuffix()}`, publisher: { publish: async () => undefined } });
  const eventsOf = (uid: string, compression: ImageStored['image']['compression'], charted: boolean): OrbitEvent[] => {
    const events = sampleEvents(uid, `req-${uniqueSuffix()}`);
    const stored = events[TOPICS.imageStored];
    const chart = events[TOPICS.chartGenerated];
    return [
      { ...stored, actor: { ...stored.actor, username: OWNER }, image: { ...stored.image, compression }, metadata: { ...stored.metadata, imageName: `n-${uid.slice(0, 8).toLowerCase()}` } },
      ...(charted ? [{ ...chart, actor: { ...chart.actor, username: OWNER } }] : []),
    ];
  };
  const events = [...eventsOf(old, 'GZIP', true), ...eventsOf(fresh, 'NONE', false)];
  await project(events.map((event, offset): ConsumedMessage<OrbitEvent> => ({
    topic: offset === 1 ? TOPICS.chartGenerated : TOPICS.imageStored, partition: 0, offset: String(offset), key: event.imageUID, event, headers: {},
    trace: childSpan(undefined), log: quietLogger, signal: new AbortController().signal,
  })));
  // What the release of 2026-12-02 02:56 left of a version: none of those four meta rows.
  await viewport.pool.query(
    `DELETE m FROM wp_postmeta m JOIN wp_posts v ON v.ID = m.post_id JOIN wp_image_uid u ON u.post_id = v.post_parent
     WHERE u.image_uid = ? AND m.meta_key IN (?)`, [old, FACTS]);
});

afterAll(async () => { await viewport.drop(); });

/** The four facts of a version record as it is answered: null, a value, or absent (undefined). */
const factsOf = (version: Record<string, unknown> | undefined) => Object.fromEntries(FACTS.map((fact) => [fact, version && fact in version ? version[fact] : 'absent']));

describe('versions projected before some facts were kept (found by an upgrade review: 32 of 32 old versions lacked four fields)', () => {
  it('answer those facts as null in every read of whole versions, as README\'s Upgrading says, and no other version changes', async () => {
    const reader = mysqlImageReader(viewport.pool);
    const viewer = { viewer: OWNER, readable: [], newest: 10 };
    const answers = async (uid: string) => [
      (await reader.get(uid))?.versions[0], (await reader.getVersion(uid, 'v1-0-00'))?.versions[0], (await reader.overview(uid, viewer))?.versions[0],
      (await reader.versionsPage(uid, { ...viewer, limit: 10 }))?.versions[0],
      (await reader.search({ owner: OWNER, limit: 10, newest: 10 })).images.find((image) => image.imageUID === uid)?.versions[0],
    ].map(factsOf);
    const unknown = { imageReference: null, imageTag: null, archiveCompression: null, chartSha256: null };
    expect(await answers(old)).toEqual(Array(5).fill(unknown));
    // Projected with them: uncompressed is null too (it was absent); a version not charted has no chart facts yet.
    const sample = sampleEvents(fresh, 'r')[TOPICS.imageStored];
    expect(await answers(fresh)).toEqual(Array(5).fill({ imageReference: sample.imageReference ?? null, imageTag: sample.imageTag ?? null, archiveCompression: null, chartSha256: 'absent' }));
  });
});
