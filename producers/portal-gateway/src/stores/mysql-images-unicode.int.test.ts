import { childSpan, newImageUID, TOPICS, type ConsumedMessage } from '@orbit/lib';
import { sampleEvents, type OrbitEvent } from '@orbit/schemas';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { projectionChecksum } from '../../../../consumers/viewport-projector/src/checksum.js';
import { projectorBatchHandler } from '../../../../consumers/viewport-projector/src/handle.js';
import { fillSearchCopies } from '../../../../consumers/viewport-projector/src/search-backfill.js';
import { quietLogger, uniqueSuffix } from '../../../../test/helpers/index.js';
import { privateViewport, type PrivateViewport } from '../../../../test/helpers/viewport-db.js';
import type { ImageQuery } from '../ports.js';
import { mysqlImageReader } from './mysql-images.js';

/**
 * The review's data (found by a review): one owner's "Béla" uploaded composed (NFC) and decomposed (NFD, as macOS
 * clients send it), as description and category, and a description with a ZERO WIDTH SPACE inside the word.
 */
const OWNER = `uni-search-${uniqueSuffix()}`;
const UPLOADS = {
  nfc: { description: 'B\u00e9la only-nfc', imageCategory: 'B\u00e9la' },
  nfd: { description: 'Be\u0301la only-nfd', imageCategory: 'Be\u0301la' },
  zwsp: { description: 'Bel\u200Ba hidden-space', imageCategory: 'other' },
  plain: { description: 'nothing special here', imageCategory: 'other' },
} as const;
type Upload = keyof typeof UPLOADS;
let viewport: PrivateViewport;
const uids = {} as Record<Upload, string>;

beforeAll(async () => {
  viewport = await privateViewport('unicode');
  const project = projectorBatchHandler({ pool: viewport.pool, groupId: `unicode-${uniqueSuffix()}`, publisher: { publish: async () => undefined } });
  const messages = (Object.keys(UPLOADS) as Upload[]).map((name, offset): ConsumedMessage<OrbitEvent> => {
    uids[name] = newImageUID();
    const stored = sampleEvents(uids[name], `req-${uniqueSuffix()}`)[TOPICS.imageStored];
    const event = { ...stored, actor: { ...stored.actor, username: OWNER }, metadata: { ...stored.metadata, imageName: `uni-${name}`, ...UPLOADS[name] } };
    return { topic: TOPICS.imageStored, partition: 0, offset: String(offset), key: event.imageUID, event, headers: {}, trace: childSpan(undefined), log: quietLogger, signal: new AbortController().signal };
  });
  await project(messages);
});

afterAll(async () => { await viewport.drop(); });

/** The uploads `query` finds, by their names here: as the owner, and as a role holder reading Development (their versions). */
async function found(query: Omit<ImageQuery, 'owner' | 'limit'>): Promise<{ owner: string[]; roleHolder: string[] }> {
  const reader = mysqlImageReader(viewport.pool);
  const names = async (asked: ImageQuery) => (await reader.search(asked)).images.map((image) => image.imageName.replace(/^uni-/, ''));
  return {
    owner: await names({ ...query, owner: OWNER, limit: 50 }),
    roleHolder: (await names({ ...query, owner: `release-manager-${uniqueSuffix()}`, alsoIn: ['Development'], limit: 50 })),
  };
}
const both = (...names: string[]) => ({ owner: names, roleHolder: names });

describe('image search and Unicode normal forms (found by a review: NFC and NFD "Béla" were two words)', () => {
  it('finds the composed and the decomposed upload by either spelling, and by "bela"', async () => {
    // The collation ignores accents as it ignores letter case: "Bela", whose ZERO WIDTH SPACE the search copy drops, too.
    expect(await found({ q: 'B\u00e9la' })).toEqual(both('nfc', 'nfd', 'zwsp'));
    expect(await found({ q: 'Be\u0301la' })).toEqual(both('nfc', 'nfd', 'zwsp'));
    expect(await found({ q: 'bela' })).toEqual(both('nfc', 'nfd', 'zwsp'));
    expect(await found({ q: 'only-nfd' })).toEqual(both('nfd'));
  });

  it('finds a word holding an invisible character by its letters', async () => {
    expect(await found({ q: 'Bela hidden' })).toEqual(both('zwsp'));
    // Nor is any kept for an invisible q to match (the gateway refuses one; the collation gives them no weight).
    expect(await found({ q: '\u200B' })).toEqual(both());
    expect(await found({ q: '\u0301' })).toEqual(both());
  });

  it('keeps the description as it was sent, byte for byte', async () => {
    const reader = mysqlImageReader(viewport.pool);
    expect((await reader.get(uids.nfd))?.description).toBe('Be\u0301la only-nfd');
    expect((await reader.get(uids.zwsp))?.description).toBe('Bel\u200Ba hidden-space');
  });

  it('filters a category exactly in one normal form: either spelling finds both, a trailing space neither', async () => {
    expect(await found({ category: 'B\u00e9la' })).toEqual(both('nfc', 'nfd'));
    expect(await found({ category: 'Be\u0301la' })).toEqual(both('nfc', 'nfd'));
    expect(await found({ category: 'Be\u0301la ' })).toEqual(both());
    expect(await found({ category: 'B\u00e9la ' })).toEqual(both());
    expect(await found({ category: 'b\u00e9la' })).toEqual(both());
  });

  it('searches rows projected before their search copy by their text as sent, until the projector fills the copy as a rebuild would', async () => {
    const before = await projectionChecksum(viewport.pool);
    // As migration 0017 leaves the rows projected before it.
    await viewport.pool.query('UPDATE wp_posts SET search_description = NULL, search_category = NULL');
    // Compared as sent, with q and category folded: the composed upload only.
    expect(await found({ q: 'Be\u0301la only' })).toEqual(both('nfc'));
    expect(await found({ category: 'Be\u0301la' })).toEqual(both('nfc'));
    expect(await fillSearchCopies(viewport.pool, 3)).toBe(2 * Object.keys(UPLOADS).length);
    expect(await found({ q: 'bela' })).toEqual(both('nfc', 'nfd', 'zwsp'));
    expect(await found({ category: 'Be\u0301la' })).toEqual(both('nfc', 'nfd'));
    expect((await projectionChecksum(viewport.pool)).sha256).toBe(before.sha256);
    expect(await fillSearchCopies(viewport.pool)).toBe(0);
  });
});
