import { childSpan, newImageUID, TOPICS, type ConsumedMessage } from '@orbit/lib';
import { sampleEvents, type ImageStored, type OrbitEvent } from '@orbit/schemas';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { projectorBatchHandler } from '../../../../consumers/viewport-projector/src/handle.js';
import { quietLogger, uniqueSuffix } from '../../../../test/helpers/index.js';
import { privateViewport, type PrivateViewport } from '../../../../test/helpers/viewport-db.js';
import { VERSIONS_SHOWN } from '../image-overview.js';
import { mysqlImageReader } from './mysql-images.js';

let viewport: PrivateViewport;
beforeAll(async () => { viewport = await privateViewport('imagedesc'); });
afterAll(async () => { await viewport.drop(); });

const OWNER = `descowner-${uniqueSuffix()}`;
const RELEASE_MANAGER = `descrm-${uniqueSuffix()}`;

/** An upload of a version, accepted by the gateway at `accepted` (its ImageStored's requestedAt) and stored at `stored`. */
interface Upload {
  readonly imageVersion: string;
  readonly accepted: string;
  readonly stored: string;
  readonly description: string | null;
}

/** Projects, through the projector's own code and one message at a time, uploads of one image of OWNER's, in the order given. */
async function projectUploads(imageUID: string, uploads: readonly Upload[]): Promise<void> {
  const project = projectorBatchHandler({ pool: viewport.pool, groupId: `desc-${uniqueSuffix()}`, publisher: { publish: async () => undefined } });
  const base = sampleEvents(imageUID, 'req-1')[TOPICS.imageStored];
  const imageName = `desc-${imageUID.slice(0, 8).toLowerCase()}`;
  for (const [offset, upload] of uploads.entries()) {
    const event: ImageStored = {
      ...base, requestId: `req-${uniqueSuffix()}`, occurredAt: Date.parse(upload.stored), requestedAt: Date.parse(upload.accepted), actor: { ...base.actor, username: OWNER },
      metadata: { ...base.metadata, imageName, imageVersion: upload.imageVersion, description: upload.description, imageCategory: null },
    };
    const message: ConsumedMessage<OrbitEvent> = { topic: TOPICS.imageStored, partition: 0, offset: String(offset), key: imageUID, event, headers: {}, trace: childSpan(undefined), log: quietLogger, signal: new AbortController().signal };
    await project([message]);
  }
  // Every version promoted to Staging (what the promotions' projection writes), where a release manager reads them.
  await viewport.pool.query(
    `UPDATE wp_postmeta m JOIN wp_posts v ON v.ID = m.post_id JOIN wp_image_uid u ON u.post_id = v.post_parent
     SET m.meta_value = '["Development","Testing","Staging"]' WHERE u.image_uid = ? AND m.meta_key = 'environments'`, [imageUID]);
}

/** The description the owner and a release manager read, on the image and in a listing. */
async function descriptions(imageUID: string) {
  const reader = mysqlImageReader(viewport.pool);
  const listed = async (viewer: string, alsoIn: string[]) =>
    (await reader.search({ owner: viewer, alsoIn, limit: 200, newest: VERSIONS_SHOWN.listing })).images.find((image) => image.imageUID === imageUID)?.description;
  return {
    owner: (await reader.overview(imageUID, { viewer: OWNER, readable: [], newest: VERSIONS_SHOWN.image }))?.description,
    ownerListing: await listed(OWNER, []),
    releaseManager: (await reader.overview(imageUID, { viewer: RELEASE_MANAGER, readable: ['Testing', 'Staging'], newest: VERSIONS_SHOWN.image }))?.description,
    releaseManagerListing: await listed(RELEASE_MANAGER, ['Testing', 'Staging']),
  };
}

describe('another owner\'s image description, as a role holder reads it (found by a review)', () => {
  it('is the newest upload\'s that gave one among every version they read, in a listing too, not only among the 10 it shows', async () => {
    const imageUID = newImageUID();
    const minute = (index: number, second = 0): string => new Date(Date.parse('2026-11-22T10:00:00Z') + index * 60_000 + second * 1_000).toISOString();
    await projectUploads(imageUID, Array.from({ length: 12 }, (_, index) => ({
      imageVersion: `v1-0-${String(index).padStart(2, '0')}`, accepted: minute(index), stored: minute(index, 30), description: index === 0 ? 'Billing API' : null,
    })));
    const text = 'Billing API';
    expect(await descriptions(imageUID)).toEqual({ owner: text, ownerListing: text, releaseManager: text, releaseManagerListing: text });
  });

  it('orders uploads as the projector does, by when their requests were accepted: an older upload stored after a newer one (a re-run, a re-drive) does not win', async () => {
    const imageUID = newImageUID();
    // The newer upload's version is stored first; the older one's later, with the higher post ID.
    await projectUploads(imageUID, [
      { imageVersion: 'v1-0-01', accepted: '2026-11-22T10:59:00Z', stored: '2026-11-22T11:00:00Z', description: 'newer' },
      { imageVersion: 'v1-0-00', accepted: '2026-11-22T09:59:00Z', stored: '2026-11-22T12:00:00Z', description: 'older' },
    ]);
    expect(await descriptions(imageUID)).toEqual({ owner: 'newer', ownerListing: 'newer', releaseManager: 'newer', releaseManagerListing: 'newer' });
  });
});
