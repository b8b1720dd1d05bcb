import { childSpan, createMysqlPool, newImageUID, TOPICS, type ConsumedMessage } from '@orbit/lib';
import { sampleEvents, type OrbitEvent } from '@orbit/schemas';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { projectorBatchHandler } from '../../../../consumers/viewport-projector/src/handle.js';
import { REBUILT_DATABASE_TABLES } from '../../../../consumers/viewport-projector/src/rebuild.js';
import { quietLogger, testConfig, uniqueSuffix } from '../../../../test/helpers/index.js';
import { privateViewport, type PrivateViewport } from '../../../../test/helpers/viewport-db.js';
import type { RowDataPacket } from 'mysql2/promise';
import { chartFileName, helmIndex } from '../helm-index.js';
import type { ImageQuery, ImageView } from '../ports.js';
import { visibleImage } from '../read-access.js';
import { mysqlImageReader, mysqlOwnerMark, mysqlVersionStored } from './mysql-images.js';

const OWNER = `pager-${uniqueSuffix()}`;
let viewport: PrivateViewport;
/** The image and version of the first stored event, for the version look-up. */
let storedOne: { imageUID: string; imageVersion: string };

/** Stores (through the projector's own code) one image per name for OWNER, and one of someone else's. */
beforeAll(async () => {
  viewport = await privateViewport('images');
  const project = projectorBatchHandler({ pool: viewport.pool, groupId: `pager-${uniqueSuffix()}`, publisher: { publish: async () => undefined } });
  const images: [string, string][] = [['delta', OWNER], ['alpha', OWNER], ['echo', OWNER], ['charlie', OWNER], ['bravo', OWNER], ['alpha', 'someone-else']];
  const messages = images.map(([imageName, username], offset): ConsumedMessage<OrbitEvent> => {
    const stored = sampleEvents(newImageUID(), `req-${uniqueSuffix()}`)[TOPICS.imageStored];
    const event = { ...stored, actor: { ...stored.actor, username }, metadata: { ...stored.metadata, imageName } };
    return { topic: TOPICS.imageStored, partition: 0, offset: String(offset), key: event.imageUID, event, headers: {}, trace: childSpan(undefined), log: quietLogger, signal: new AbortController().signal };
  });
  await project(messages);
  const first = messages[0]!.event as OrbitEvent & { metadata: { imageVersion: string } };
  storedOne = { imageUID: first.imageUID, imageVersion: first.metadata.imageVersion };
});

afterAll(async () => { await viewport.drop(); });

describe('image search against MariaDB', () => {
  it('pages through a caller\'s images in name order, each once, and says when there is no next page', async () => {
    const reader = mysqlImageReader(viewport.pool);
    const pages: string[][] = [];
    let query: ImageQuery = { owner: OWNER, limit: 2 };
    for (;;) {
      const page = await reader.search(query);
      pages.push(page.images.map((image) => image.imageName));
      if (!page.next) break;
      query = { ...query, after: page.next };
    }
    expect(pages).toEqual([['alpha', 'bravo'], ['charlie', 'delta'], ['echo']]);
    // A page exactly as long as what is left has no next page either.
    expect((await reader.search({ owner: OWNER, limit: 5 })).next).toBeUndefined();
    // Filters hold on every page.
    const first = await reader.search({ owner: OWNER, limit: 1, q: 'ha' });
    expect([first.images.map((image) => image.imageName), first.next?.imageName]).toEqual([['alpha'], 'alpha']);
    const second = await reader.search({ owner: OWNER, limit: 1, q: 'ha', after: first.next });
    expect([second.images.map((image) => image.imageName), second.next]).toEqual([['charlie'], undefined]);
    // A search ignores letter case.
    expect((await reader.search({ owner: OWNER, limit: 5, q: 'HA' })).images.map((image) => image.imageName)).toEqual(['alpha', 'charlie']);
  });

  it('matches q and category against what the caller sees: another owner\'s description and category only in versions they may read (found by a probe)', async () => {
    const imageUID = newImageUID();
    const project = projectorBatchHandler({ pool: viewport.pool, groupId: `described-${uniqueSuffix()}`, publisher: { publish: async () => undefined } });
    const stored = sampleEvents(imageUID, `req-${uniqueSuffix()}`)[TOPICS.imageStored];
    const owner = `describer-${uniqueSuffix()}`;
    const imageName = `described-${uniqueSuffix()}`.slice(0, 30);
    const messages = ([['v1-0-00', `shared release notes ${'at length '.repeat(60)}closing-word`, 'billing'], ['v2-0-00', 'secret rotation plan', 'security']] as const).map(([imageVersion, description, imageCategory], offset): ConsumedMessage<OrbitEvent> => {
      const event = { ...stored, requestId: `req-${uniqueSuffix()}`, actor: { ...stored.actor, username: owner }, metadata: { ...stored.metadata, imageName, imageVersion, description, imageCategory } };
      return { topic: TOPICS.imageStored, partition: 0, offset: String(offset), key: imageUID, event, headers: {}, trace: childSpan(undefined), log: quietLogger, signal: new AbortController().signal };
    });
    await project(messages);
    // v1 reached Testing (what a promotion's projection writes), v2 did not.
    await viewport.pool.query(
      `UPDATE wp_postmeta m JOIN wp_posts v ON v.ID = m.post_id JOIN wp_image_uid u ON u.post_id = v.post_parent
       SET m.meta_value = '["Development","Testing"]' WHERE u.image_uid = ? AND v.post_name = 'v1-0-00' AND m.meta_key = 'environments'`, [imageUID]);
    const reader = mysqlImageReader(viewport.pool);
    const found = async (viewer: string, q: string) => (await reader.search({ owner: viewer, alsoIn: viewer === owner ? [] : ['Testing'], q, limit: 50 })).images.map((image) => image.imageUID);
    expect(await found(owner, 'SECRET')).toEqual([imageUID]);
    expect(await found('a-release-manager', 'secret')).toEqual([]);
    expect(await found('a-release-manager', 'Shared Release')).toEqual([imageUID]);
    // Past 512 characters too (MySQL's JSON_VALUE is a VARCHAR(512) without RETURNING: a longer text was NULL there).
    expect(await found('a-release-manager', 'closing-word')).toEqual([imageUID]);
    expect(await found('a-release-manager', imageName.slice(0, 12))).toEqual([imageUID]);
    // The same for the category filter: the owner's is the latest upload's, another's only a version they read.
    const inCategory = async (viewer: string, category: string) => (await reader.search({ owner: viewer, alsoIn: viewer === owner ? [] : ['Testing'], category, limit: 50 })).images.map((image) => image.imageUID);
    expect(await inCategory(owner, 'security')).toEqual([imageUID]);
    expect(await inCategory('a-release-manager', 'security')).toEqual([]);
    expect(await inCategory('a-release-manager', 'billing')).toEqual([imageUID]);
  });

  it('shows a tag the registry had none for as null, not as the text "null"', async () => {
    const project = projectorBatchHandler({ pool: viewport.pool, groupId: `pager-${uniqueSuffix()}`, publisher: { publish: async () => undefined } });
    const events = sampleEvents(newImageUID(), `req-${uniqueSuffix()}`);
    const stored = { ...events[TOPICS.imageStored], actor: { ...events[TOPICS.imageStored].actor, username: `tags-${uniqueSuffix()}` }, imageTag: null };
    // A third version whose chart version two others have already: the chart is pushed by digest, with no tag of its own.
    const chart = { ...events[TOPICS.chartGenerated], actor: stored.actor, chartTag: null };
    const message = (topic: string, event: OrbitEvent, offset: number): ConsumedMessage<OrbitEvent> => ({
      topic, partition: 0, offset: String(offset), key: event.imageUID, event, headers: {}, trace: childSpan(undefined), log: quietLogger, signal: new AbortController().signal,
    });
    await project([message(TOPICS.imageStored, stored, 0), message(TOPICS.chartGenerated, chart, 1)]);
    const version = (await mysqlImageReader(viewport.pool).get(stored.imageUID))?.versions[0];
    expect(version).toMatchObject({ imageTag: null, chartTag: null, chartReference: chart.chartReference, imageReference: stored.imageReference });
  });

  it('names the stored version a new one clashes with, the same or another spelling of its chart version, without reading the image whole', async () => {
    const stored = mysqlVersionStored(viewport.pool);
    expect(await stored(storedOne.imageUID, storedOne.imageVersion)).toBe(storedOne.imageVersion);
    expect(await stored(storedOne.imageUID, `${storedOne.imageVersion}-not`)).toBeUndefined();
    expect(await stored(newImageUID(), storedOne.imageVersion)).toBeUndefined();
    // Another spelling of its chart version (v1-0-00 is 1.0.0) clashes with it; another chart version does not.
    expect(storedOne.imageVersion).toBe('v1-0-00');
    expect(await stored(storedOne.imageUID, '1.0.0')).toBe('v1-0-00');
    expect(await stored(storedOne.imageUID, 'v1-00-000')).toBe('v1-0-00');
    expect(await stored(storedOne.imageUID, '1.0.1')).toBeUndefined();
  });

  it('gives an owner a mark that moves with each change the projector commits to their images, not with other owners\' (found by a scale review: any upload re-rendered every index)', async () => {
    const mark = mysqlOwnerMark(viewport.pool);
    const other = `marked-other-${uniqueSuffix()}`;
    // Never projected for: no row, one value all the same (an index of nothing stays kept).
    expect(await mark(other)).toBe('none');
    const before = await mark(OWNER);
    expect(before).toMatch(/^\d+$/);
    expect(await mark(OWNER)).toBe(before);
    const project = projectorBatchHandler({ pool: viewport.pool, groupId: `version-${uniqueSuffix()}`, publisher: { publish: async () => undefined } });
    const message = (owner: string, offset: number): ConsumedMessage<OrbitEvent> => {
      const stored = sampleEvents(newImageUID(), `req-${uniqueSuffix()}`)[TOPICS.imageStored];
      const event = { ...stored, actor: { ...stored.actor, username: owner } };
      return { topic: TOPICS.imageStored, partition: 0, offset: String(offset), key: event.imageUID, event, headers: {}, trace: childSpan(undefined), log: quietLogger, signal: new AbortController().signal };
    };
    // Another owner's upload: OWNER's mark stays.
    const theirs = message(other, 0);
    await project([theirs]);
    const otherMark = await mark(other);
    expect(otherMark).not.toBe('none');
    expect(await mark(OWNER)).toBe(before);
    // Delivered again: recognised by its offset, nothing written, the mark unmoved.
    await project([theirs]);
    expect(await mark(other)).toBe(otherMark);
    // OWNER's own upload moves OWNER's mark alone.
    await project([message(OWNER, 1)]);
    expect(await mark(OWNER)).not.toBe(before);
    expect(await mark(other)).toBe(otherMark);
  });

  it('pages through one image\'s versions newest first without reading the others, and shows another owner\'s only in the environments given', async () => {
    const imageUID = newImageUID();
    const project = projectorBatchHandler({ pool: viewport.pool, groupId: `versions-${uniqueSuffix()}`, publisher: { publish: async () => undefined } });
    const stored = sampleEvents(imageUID, `req-${uniqueSuffix()}`)[TOPICS.imageStored];
    const messages = [1, 2, 3, 4, 5].map((major, offset): ConsumedMessage<OrbitEvent> => {
      const event = { ...stored, requestId: `req-${uniqueSuffix()}`, metadata: { ...stored.metadata, imageVersion: `v${major}-0-00` } };
      return { topic: TOPICS.imageStored, partition: 0, offset: String(offset), key: imageUID, event, headers: {}, trace: childSpan(undefined), log: quietLogger, signal: new AbortController().signal };
    });
    await project(messages);
    const reader = mysqlImageReader(viewport.pool);
    const owner = stored.actor.username;
    const seen: string[][] = [];
    let before: number | undefined;
    do {
      const page = await reader.versionsPage(imageUID, { limit: 2, before, viewer: owner, readable: [] });
      seen.push((page?.versions ?? []).map((version) => String(version['imageVersion'])));
      before = page?.next;
    } while (before !== undefined);
    expect(seen).toEqual([['v5-0-00', 'v4-0-00'], ['v3-0-00', 'v2-0-00'], ['v1-0-00']]);
    // A cursor from before a rebuild: its row position names nothing now (or another version), its version's name still holds.
    const renumbered = await reader.versionsPage(imageUID, { limit: 2, before: 2_000_000_000, beforeVersion: 'v4-0-00', viewer: owner, readable: [] });
    expect(renumbered?.versions.map((version) => version['imageVersion'])).toEqual(['v3-0-00', 'v2-0-00']);
    // A version gone from the image (or a name padded with a space, which MariaDB's collation would match): the position is used.
    expect((await reader.versionsPage(imageUID, { limit: 1, before: 2_000_000_000, beforeVersion: 'v4-0-00 ', viewer: owner, readable: [] }))?.versions.map((version) => version['imageVersion'])).toEqual(['v5-0-00']);
    const whole = await reader.get(imageUID);
    expect((await reader.versionsPage(imageUID, { limit: 10, viewer: owner, readable: [] }))?.versions).toEqual([...(whole?.versions ?? [])].reverse());
    // Someone else: the versions in an environment they read, else nothing at all (404 at the route).
    expect((await reader.versionsPage(imageUID, { limit: 10, viewer: 'someone-else', readable: ['Development'] }))?.versions).toHaveLength(5);
    expect(await reader.versionsPage(imageUID, { limit: 10, viewer: 'someone-else', readable: ['Testing'] })).toBeUndefined();
    expect(await reader.versionsPage(imageUID, { limit: 10, viewer: 'someone-else', readable: [] })).toBeUndefined();
    expect(await reader.versionsPage(newImageUID(), { limit: 10, viewer: owner, readable: [] })).toBeUndefined();
    // A cursor made by hand naming a version hidden from the caller answers as one naming no version: it neither
    // confirms the hidden one nor places it among those seen (found by a review).
    await viewport.pool.query(
      `UPDATE wp_postmeta m JOIN wp_posts v ON v.ID = m.post_id JOIN wp_image_uid u ON u.post_id = v.post_parent
       SET m.meta_value = '["Development","Testing"]' WHERE u.image_uid = ? AND v.post_name IN ('v2-0-00', 'v4-0-00') AND m.meta_key = 'environments'`, [imageUID]);
    const probed = async (beforeVersion: string) => (await reader.versionsPage(imageUID, { limit: 10, before: 2_000_000_000, beforeVersion, viewer: 'someone-else', readable: ['Testing'] }))?.versions.map((version) => version['imageVersion']);
    expect(await probed('v9-9-99')).toEqual(['v4-0-00', 'v2-0-00']);
    expect(await probed('v3-0-00')).toEqual(['v4-0-00', 'v2-0-00']);
    expect(await probed('v4-0-00')).toEqual(['v2-0-00']);
  });

  it('shows an image\'s overview: its newest versions as the whole image has them, counted and placed over every one, alone and in a listing page', async () => {
    const imageUID = newImageUID();
    const owner = `overviewer-${uniqueSuffix()}`;
    const project = projectorBatchHandler({ pool: viewport.pool, groupId: `overview-${uniqueSuffix()}`, publisher: { publish: async () => undefined } });
    const stored = sampleEvents(imageUID, `req-${uniqueSuffix()}`)[TOPICS.imageStored];
    const messages = Array.from({ length: 12 }, (_, index): ConsumedMessage<OrbitEvent> => {
      const event = {
        ...stored, requestId: `req-${uniqueSuffix()}`, actor: { ...stored.actor, username: owner },
        metadata: { ...stored.metadata, imageName: 'many', imageVersion: `v1-0-${String(index + 1).padStart(2, '0')}`, description: `release ${index + 1}` },
      };
      return { topic: TOPICS.imageStored, partition: 0, offset: String(index), key: imageUID, event, headers: {}, trace: childSpan(undefined), log: quietLogger, signal: new AbortController().signal };
    });
    // And a second image of one version, for the listing page.
    const few = sampleEvents(newImageUID(), `req-${uniqueSuffix()}`)[TOPICS.imageStored];
    const single = { ...few, actor: { ...few.actor, username: owner }, metadata: { ...few.metadata, imageName: 'one' } };
    messages.push({ topic: TOPICS.imageStored, partition: 0, offset: '12', key: single.imageUID, event: single, headers: {}, trace: childSpan(undefined), log: quietLogger, signal: new AbortController().signal });
    await project(messages);
    const reader = mysqlImageReader(viewport.pool);
    const whole = await reader.get(imageUID);
    expect(whole?.versions).toHaveLength(12);
    const overview = await reader.overview(imageUID, { viewer: owner, readable: [], newest: 5 });
    expect(overview).toEqual({ ...whole, versions: whole?.versions.slice(7), versionCount: 12 });
    expect((await reader.overview(imageUID, { viewer: owner, readable: [], newest: 50 }))?.versions).toEqual(whole?.versions);
    // Someone else reading Development sees the same versions, and the newest one's description; reading only Testing, nothing.
    expect(await reader.overview(imageUID, { viewer: 'someone-else', readable: ['Development'], newest: 3 }))
      .toEqual({ ...whole, versions: whole?.versions.slice(9), versionCount: 12, description: 'release 12' });
    expect(await reader.overview(imageUID, { viewer: 'someone-else', readable: ['Testing'], newest: 3 })).toBeUndefined();
    expect(await reader.overview(newImageUID(), { viewer: owner, readable: [], newest: 3 })).toBeUndefined();
    // A listing page of overviews: each image with its newest versions and its count.
    const page = await reader.search({ owner, limit: 10, newest: 2 });
    expect(page.images.map((image) => [image.imageName, image.versionCount, image.versions.map((version) => version['imageVersion'])]))
      .toEqual([['many', 12, ['v1-0-11', 'v1-0-12']], ['one', 1, [single.metadata.imageVersion]]]);
    expect(page.images[0]).toEqual({ ...whole, versions: whole?.versions.slice(10), versionCount: 12 });
  });

  it('under ?environment= shows, counts and pages the versions present there, not the newest of all (found by a review: 10 Development-only shown under Testing)', async () => {
    const imageUID = newImageUID();
    const owner = `envfilter-${uniqueSuffix()}`;
    const imageName = `envfilter-${uniqueSuffix()}`.slice(0, 30);
    const project = projectorBatchHandler({ pool: viewport.pool, groupId: `envfilter-${uniqueSuffix()}`, publisher: { publish: async () => undefined } });
    const stored = sampleEvents(imageUID, `req-${uniqueSuffix()}`)[TOPICS.imageStored];
    const messages = Array.from({ length: 12 }, (_, index): ConsumedMessage<OrbitEvent> => {
      const event = { ...stored, requestId: `req-${uniqueSuffix()}`, actor: { ...stored.actor, username: owner }, metadata: { ...stored.metadata, imageName, imageVersion: `v1-0-${String(index + 1).padStart(2, '0')}` } };
      return { topic: TOPICS.imageStored, partition: 0, offset: String(index), key: imageUID, event, headers: {}, trace: childSpan(undefined), log: quietLogger, signal: new AbortController().signal };
    });
    await project(messages);
    // The two oldest reached Testing, then ten more were uploaded.
    await viewport.pool.query(
      `UPDATE wp_postmeta m JOIN wp_posts v ON v.ID = m.post_id JOIN wp_image_uid u ON u.post_id = v.post_parent
       SET m.meta_value = '["Development","Testing"]' WHERE u.image_uid = ? AND v.post_name IN ('v1-0-01', 'v1-0-02') AND m.meta_key = 'environments'`, [imageUID]);
    const reader = mysqlImageReader(viewport.pool);
    const names = (versions: readonly Record<string, unknown>[] | undefined) => (versions ?? []).map((version) => version['imageVersion']);
    const listed = await reader.search({ owner, limit: 10, newest: 10, environment: 'Testing' });
    expect(listed.images.map((image) => [image.imageName, image.versionCount, names(image.versions), image.environments]))
      .toEqual([[imageName, 2, ['v1-0-01', 'v1-0-02'], ['Development', 'Testing']]]);
    // Unfiltered, as before: the newest ten of twelve.
    const all = await reader.search({ owner, limit: 10, newest: 10 });
    expect(all.images.map((image) => [image.versionCount, names(image.versions).at(0)])).toEqual([[12, 'v1-0-03']]);
    // The image alone, and a role holder reading Testing and Development, see the same narrowing.
    expect(names((await reader.overview(imageUID, { viewer: owner, readable: [], newest: 100, environment: 'Testing' }))?.versions)).toEqual(['v1-0-01', 'v1-0-02']);
    const other = await reader.overview(imageUID, { viewer: 'someone-else', readable: ['Development', 'Testing'], newest: 1, environment: 'Testing' });
    expect([other?.versionCount, names(other?.versions)]).toEqual([2, ['v1-0-02']]);
    // Nothing there: the image is seen, with no version shown or counted.
    const none = await reader.overview(imageUID, { viewer: owner, readable: [], newest: 100, environment: 'Production' });
    expect([none?.versionCount, none?.versions]).toEqual([0, []]);
    expect((await reader.search({ owner, limit: 10, newest: 10, environment: 'Production' })).images).toEqual([]);
    // A role holder reading Testing alone: another owner's image with a version in Production they do not read is not listed under it.
    await viewport.pool.query(
      `UPDATE wp_postmeta m JOIN wp_posts v ON v.ID = m.post_id JOIN wp_image_uid u ON u.post_id = v.post_parent
       SET m.meta_value = '["Production"]' WHERE u.image_uid = ? AND v.post_name = 'v1-0-12' AND m.meta_key = 'environments'`, [imageUID]);
    expect((await reader.search({ owner: 'someone-else', alsoIn: ['Testing'], q: imageName, limit: 10, newest: 10, environment: 'Production' })).images).toEqual([]);
    expect(names((await reader.search({ owner: 'someone-else', alsoIn: ['Testing'], q: imageName, limit: 10, newest: 10, environment: 'Testing' })).images[0]?.versions)).toEqual(['v1-0-01', 'v1-0-02']);
    // The versions pages: newest first, of Testing only, a page at a time.
    const first = await reader.versionsPage(imageUID, { limit: 1, viewer: owner, readable: [], environment: 'Testing' });
    expect([names(first?.versions), first?.next !== undefined]).toEqual([['v1-0-02'], true]);
    const second = await reader.versionsPage(imageUID, { limit: 1, before: first?.next, beforeVersion: 'v1-0-02', viewer: owner, readable: [], environment: 'Testing' });
    expect([names(second?.versions), second?.next]).toEqual([['v1-0-01'], undefined]);
    expect(names((await reader.versionsPage(imageUID, { limit: 10, viewer: 'someone-else', readable: ['Testing'], environment: 'Development' }))?.versions)).toEqual(['v1-0-02', 'v1-0-01']);
    expect((await reader.versionsPage(imageUID, { limit: 10, viewer: owner, readable: [], environment: 'Staging' }))?.versions).toEqual([]);
  });

  it('reads one version of an image without its siblings: the version as the whole image shows it, none for a name it lacks', async () => {
    const imageUID = newImageUID();
    const project = projectorBatchHandler({ pool: viewport.pool, groupId: `one-${uniqueSuffix()}`, publisher: { publish: async () => undefined } });
    const stored = sampleEvents(imageUID, `req-${uniqueSuffix()}`)[TOPICS.imageStored];
    const messages = ['v1-0-00', 'v2-0-00', 'v3-0-00'].map((imageVersion, offset): ConsumedMessage<OrbitEvent> => {
      const event = { ...stored, requestId: `req-${uniqueSuffix()}`, metadata: { ...stored.metadata, imageVersion } };
      return { topic: TOPICS.imageStored, partition: 0, offset: String(offset), key: imageUID, event, headers: {}, trace: childSpan(undefined), log: quietLogger, signal: new AbortController().signal };
    });
    await project(messages);
    const reader = mysqlImageReader(viewport.pool);
    const whole = await reader.get(imageUID);
    const one = await reader.getVersion(imageUID, 'v2-0-00');
    expect(one?.versions).toEqual(whole?.versions.filter((version) => version['imageVersion'] === 'v2-0-00'));
    expect(one).toMatchObject({ imageUID, owner: whole?.owner, imageName: whole?.imageName, environments: ['Development'] });
    expect((await reader.getVersion(imageUID, 'v9-0-00'))?.versions).toEqual([]);
    expect((await reader.getVersion(imageUID, 'v2-0-00 '))?.versions).toEqual([]); // MariaDB's collation alone would match it
    expect(await reader.getVersion(newImageUID(), 'v2-0-00')).toBeUndefined();
  });
});

describe('reads of an image of many versions that need a few of them', () => {
  const OWNER_OF_MANY = `many-${uniqueSuffix()}`;
  const VERSIONS = 40;
  let scale: PrivateViewport;
  let imageUID: string;
  /** Projects each image's versions, each stored and then charted, as the pipeline does; versions `staged` reach Staging too. */
  const projectImages = async (owner: string, images: readonly { imageUID: string; imageName: string; versions: number }[], staged: (index: number) => boolean) => {
    const project = projectorBatchHandler({ pool: scale.pool, groupId: `many-${uniqueSuffix()}`, publisher: { publish: async () => undefined } });
    const messages: ConsumedMessage<OrbitEvent>[] = [];
    const message = (topic: string, event: OrbitEvent): ConsumedMessage<OrbitEvent> => ({
      topic, partition: 0, offset: String(messages.length), key: event.imageUID, event, headers: {}, trace: childSpan(undefined), log: quietLogger, signal: new AbortController().signal,
    });
    for (const image of images) {
      const events = sampleEvents(image.imageUID, `req-${uniqueSuffix()}`);
      for (let index = 0; index < image.versions; index++) {
        const imageVersion = `v${index + 1}-0-00`;
        const stored = events[TOPICS.imageStored];
        const actor = { ...stored.actor, username: owner };
        messages.push(message(TOPICS.imageStored, { ...stored, requestId: `req-${uniqueSuffix()}`, actor, metadata: { ...stored.metadata, imageName: image.imageName, imageVersion, description: `release ${index + 1}` } }));
        const charted = events[TOPICS.chartGenerated];
        messages.push(message(TOPICS.chartGenerated, {
          ...charted, actor, imageVersion, chartName: image.imageName, chartVersion: `${index + 1}.0.0`, appVersion: imageVersion,
          helmChartName: `${image.imageUID}-${imageVersion}`, chart: { ...charted.chart, key: `${image.imageUID}-${imageVersion}.tgz` },
        }));
      }
    }
    await project(messages);
    await scale.pool.query(
      `UPDATE wp_postmeta m JOIN wp_posts v ON v.ID = m.post_id JOIN wp_image_uid u ON u.post_id = v.post_parent
       SET m.meta_value = '["Development","Testing","Staging"]' WHERE u.image_uid IN (?) AND v.post_name IN (?) AND m.meta_key = 'environments'`,
      [images.map((image) => image.imageUID), Array.from({ length: VERSIONS }, (_, index) => `v${index + 1}-0-00`).filter((_, index) => staged(index))]);
  };
  /** A session counter's growth over `read`, on the pool's one connection (less what asking for it adds). */
  const counted = async (counters: readonly string[], read: () => Promise<unknown>): Promise<number> => {
    const now = async () => {
      const [rows] = await scale.pool.query<RowDataPacket[]>('SHOW SESSION STATUS WHERE Variable_name IN (?)', [counters]);
      return rows.reduce((sum, row) => sum + Number(row['Value']), 0);
    };
    const idle = -(await now()) + (await now());
    const before = await now();
    await read();
    return (await now()) - before - idle;
  };
  const rowsSent = (read: () => Promise<unknown>) => counted(['Rows_sent'], read);

  beforeAll(async () => {
    // One connection: every read of a test runs in the session whose counters it reads.
    scale = await privateViewport('many', 1);
    imageUID = newImageUID();
    await projectImages(OWNER_OF_MANY, [{ imageUID, imageName: 'many', versions: VERSIONS }], (index) => index % 4 === 0);
  });

  afterAll(async () => { await scale.drop(); });

  it('reads whose image it is and which versions a viewer sees in a row a version, not every version\'s meta (found by a review: 220 000 rows at 10 000 versions)', async () => {
    const reader = mysqlImageReader(scale.pool);
    const whole = await reader.get(imageUID);
    const outlined = (image: ImageView | undefined) => image && { ...image, description: '', versions: image.versions.map((version) => ({ imageVersion: version['imageVersion'], environments: version['environments'] })) };
    expect(await reader.outline(imageUID, { viewer: OWNER_OF_MANY, readable: [] })).toEqual(outlined(whole));
    const managed = await reader.outline(imageUID, { viewer: 'a-release-manager', readable: ['Staging', 'Production'] });
    expect(managed).toEqual(outlined(visibleImage(whole, 'a-release-manager', ['Staging', 'Production'])));
    expect(managed?.versions).toHaveLength(VERSIONS / 4);
    expect(await reader.outline(imageUID, { viewer: 'a-release-manager', readable: ['Production'] })).toBeUndefined();
    expect(await reader.outline(newImageUID(), { viewer: OWNER_OF_MANY, readable: [] })).toBeUndefined();
    const read = await rowsSent(() => reader.outline(imageUID, { viewer: OWNER_OF_MANY, readable: [] }));
    expect(read).toBeLessThanOrEqual(1 + VERSIONS);
    expect(await rowsSent(() => reader.get(imageUID))).toBeGreaterThan(20 * VERSIONS);
  });

  it('reads the versions of one chart file alone for its download (found by a review: every version whole to find one)', async () => {
    const reader = mysqlImageReader(scale.pool);
    const whole = await reader.get(imageUID);
    const file = 'many-7.0.0.tgz';
    const expected = whole?.versions.filter((version) => chartFileName(version) === file);
    expect(expected).toHaveLength(1);
    const found = await reader.getChart(imageUID, file);
    expect(found).toEqual({ ...whole, versions: expected, environments: ['Development'] });
    const oneVersionRows = await rowsSent(() => reader.getVersion(imageUID, 'v7-0-00'));
    expect(await rowsSent(() => reader.getChart(imageUID, file))).toBeLessThanOrEqual(oneVersionRows + 1);
    expect((await reader.getChart(imageUID, 'many-7.0.0.tgz '))?.versions).toEqual([]); // MariaDB's collation alone would match it
    expect((await reader.getChart(imageUID, 'many-99.0.0.tgz'))?.versions).toEqual([]);
    expect(await reader.getChart(newImageUID(), file)).toBeUndefined();
  });

  it('reads a Helm index of one owner\'s charts in an environment by that owner alone, with only the meta it lists (found by a review: every owner\'s images, each version whole)', async () => {
    const reader = mysqlImageReader(scale.pool);
    const whole = await reader.get(imageUID);
    for (const environment of ['Development', 'Staging'] as const) {
      const emptyGenerated = new Date().toISOString();
      expect(helmIndex(await reader.charted(OWNER_OF_MANY, environment), environment, emptyGenerated)).toEqual(helmIndex(whole ? [whole] : [], environment, emptyGenerated));
    }
    expect(await reader.charted(OWNER_OF_MANY, 'Production')).toEqual([]);
    // The index's rows: the versions in Staging, a few meta each; the image's every version whole was 20-odd rows each of all.
    const staged = await rowsSent(() => reader.charted(OWNER_OF_MANY, 'Staging'));
    expect(staged).toBeLessThanOrEqual((VERSIONS / 4) * 7);
    // Others' images there (a hundred, one version each) change nothing of what is read for this owner's index.
    const rowsLooked = ['Handler_read_first', 'Handler_read_key', 'Handler_read_next', 'Handler_read_rnd', 'Handler_read_rnd_next'];
    const before = await counted(rowsLooked, () => reader.charted(OWNER_OF_MANY, 'Staging'));
    await projectImages(`other-${uniqueSuffix()}`, Array.from({ length: 100 }, (_, index) => ({ imageUID: newImageUID(), imageName: `other-${index}`, versions: 1 })), () => true);
    expect(await counted(rowsLooked, () => reader.charted(OWNER_OF_MANY, 'Staging'))).toBe(before);
    expect(await rowsSent(() => reader.charted(OWNER_OF_MANY, 'Staging'))).toBe(staged);
  });
});

describe('reads beside a rebuild swapping its tables in', () => {
  it('answers an image with its own versions, never those its row id names in the swapped-in tables (found by a probe: another owner\'s)', async () => {
    const swapping = await privateViewport('swap');
    const rebuilt = `${swapping.database}_rebuild`;
    const aside = `${swapping.database}_previous`;
    const tables = ['wp_image_uid', 'wp_posts', 'wp_postmeta'];
    const rebuiltUrl = new URL(testConfig.MYSQL_URL);
    rebuiltUrl.pathname = `/${rebuilt}`;
    const rebuiltPool = createMysqlPool(rebuiltUrl.toString(), 2);
    try {
      await swapping.pool.query(`CREATE DATABASE \`${rebuilt}\``);
      await swapping.pool.query(`CREATE DATABASE \`${aside}\``);
      for (const table of REBUILT_DATABASE_TABLES) await swapping.pool.query(`CREATE TABLE \`${rebuilt}\`.\`${table}\` LIKE \`${swapping.database}\`.\`${table}\``);
      // Two owners' images, and in the rebuilt tables one more projected first: each image's row ids name another's there.
      const stored = (owner: string, imageName: string, imageVersion: string): OrbitEvent => {
        const event = sampleEvents(newImageUID(), `req-${uniqueSuffix()}`)[TOPICS.imageStored];
        return { ...event, actor: { ...event.actor, username: owner }, metadata: { ...event.metadata, imageName, imageVersion } } as OrbitEvent;
      };
      const mine = [stored('swap-mine', 'mine', 'v1-0-00'), stored('swap-mine', 'mine-too', 'v1-0-00')];
      const theirs = [stored('swap-theirs', 'theirs', 'v7-0-00'), stored('swap-theirs', 'theirs-too', 'v8-0-00')];
      const project = async (pool: typeof rebuiltPool, events: readonly OrbitEvent[]): Promise<void> => {
        const handle = projectorBatchHandler({ pool, groupId: `swap-${uniqueSuffix()}`, publisher: { publish: async () => undefined } });
        await handle(events.map((event, offset) => ({ topic: TOPICS.imageStored, partition: 0, offset: String(offset), key: event.imageUID, event, headers: {}, trace: childSpan(undefined), log: quietLogger, signal: new AbortController().signal })));
      };
      await project(swapping.pool, [...mine, ...theirs]);
      await project(rebuiltPool, [stored('swap-theirs', 'first', 'v9-0-00')]);
      await project(rebuiltPool, [...mine, ...theirs]);
      const postIds = async (pool: typeof rebuiltPool): Promise<unknown[]> => (await pool.query('SELECT post_id FROM wp_image_uid WHERE image_uid IN (?) ORDER BY image_uid', [mine.map((event) => event.imageUID)]))[0] as unknown[];
      expect(await postIds(rebuiltPool)).not.toEqual(await postIds(swapping.pool));
      const reader = mysqlImageReader(swapping.pool);
      const expected = new Map(await Promise.all(mine.map(async (event) => [event.imageUID, await reader.get(event.imageUID)] as const)));
      expect([...expected.values()].map((image) => image?.versions.map((version) => version['imageVersion']))).toEqual([['v1-0-00'], ['v1-0-00']]);

      // The rebuild's swap, over and over, beside reads of my images.
      const swap = `RENAME TABLE ${tables.flatMap((table) => [
        `\`${swapping.database}\`.\`${table}\` TO \`${aside}\`.\`${table}\``, `\`${rebuilt}\`.\`${table}\` TO \`${swapping.database}\`.\`${table}\``, `\`${aside}\`.\`${table}\` TO \`${rebuilt}\`.\`${table}\``,
      ]).join(', ')}`;
      const until = Date.now() + 3_000;
      let swaps = 0;
      const wrong: unknown[] = [];
      const swapper = (async () => { while (Date.now() < until) { await rebuiltPool.query(swap); swaps += 1; } })();
      const readers = [0, 1, 2].map(async () => {
        while (Date.now() < until) {
          for (const event of mine) {
            const [image, page] = await Promise.all([reader.get(event.imageUID), reader.versionsPage(event.imageUID, { viewer: 'swap-mine', readable: [], limit: 10 })]);
            const own = expected.get(event.imageUID);
            if (JSON.stringify(image) !== JSON.stringify(own)) wrong.push(image);
            if (JSON.stringify(page?.versions) !== JSON.stringify(own?.versions)) wrong.push(page);
          }
        }
      });
      await Promise.all([swapper, ...readers]);
      expect(swaps).toBeGreaterThan(10);
      expect(wrong.slice(0, 3)).toEqual([]);
    } finally {
      await rebuiltPool.end();
      await swapping.drop();
    }
  }, 30_000);
});
