import { describe, expect, it } from 'vitest';
import type { DeployableStore, ImageView, RequestRecord } from '../ports.js';
import { routeTestGateway, routeTestToken } from '../testing/route-gateway.js';

const UID = 'V'.repeat(60);
const OWNER = 'dev1';
/** A release manager: reads anyone's versions in Testing and the environment before it, Development. */
const ROLE_HOLDER = { user: 'rm1', roles: ['release-manager'] };
const STRANGER = { user: 'someone-else', roles: [] };

/** Every read of one version: the version, and what its environments deploy of it. */
const VERSION_READS = ['', '/manifests', '/kustomize', '/archive', '/chart', '/chart?environment=Development'];

const upload = (requestId: string, imageVersion: string, status: RequestRecord['status'], code?: string): RequestRecord => ({
  requestId, kind: 'upload', imageUID: UID, imageVersion, owner: OWNER, status,
  error: code ? { code, message: 'the archive holds no manifest.json', pid: 'c8bms18-c20bre24-911' } : null,
  createdAt: new Date('2026-12-06T10:00:00Z'), updatedAt: new Date('2026-12-06T10:00:00Z'),
});

/** dev1's image as ViewPort holds it once v1-0-00 is validated: in Development, which a release manager reads. */
const held: ImageView = {
  imageUID: UID, owner: OWNER, imageName: 'billing-api', description: '', environments: ['Development'],
  versions: [{ imageVersion: 'v1-0-00', status: 'ready', environments: ['Development'] }],
};

/** No version in these tests reaches the stores: each 404s before. */
const untouched = (): never => { throw new Error('the deployable store is not read for a version ViewPort does not hold'); };
const deployables: DeployableStore = { manifests: untouched, kustomization: untouched, downloadUrl: untouched, read: untouched, sizeOf: untouched };

/** GET `url` of a gateway whose ViewPort holds `image` (if any) and whose request store holds `uploads`, as `asker`. */
async function get(image: ImageView | undefined, uploads: readonly RequestRecord[], url: string, asker: { user: string; roles: readonly string[] } = { user: OWNER, roles: [] }) {
  const app = routeTestGateway({
    uid: UID, uploads, deployables, ...(image ? { image } : {}),
    transfers: {
      claims: { claim: async () => ({ requestId: 'r', status: null }), find: async () => undefined }, publish: { transferRefused: async () => undefined },
      policy: { chain: ['Development', 'Testing', 'Staging', 'Production'], roles: new Map([['Testing', 'release-manager']]) },
    },
  });
  const response = await app.inject({ method: 'GET', url, headers: { authorization: `Bearer ${await routeTestToken(asker.user, asker.roles)}` } });
  return { status: response.statusCode, body: response.json() as Record<string, unknown>, ...(response.headers['retry-after'] === undefined ? {} : { retryAfter: response.headers['retry-after'] }) };
}

const bareNotFound = (what: string) => ({ status: 404, body: { code: 'ORBIT_ERR_NOT_FOUND', problems: [], message: `${what} not found` } });

describe('a version read while the image\'s first upload is under way (found by a race review: a bare "image … not found")', () => {
  const uploads = [upload('req-1', 'v1-0-00', 'running')];

  it('answers the owner 404 IMAGE_NOT_READY naming that version\'s upload, for the version and each thing it deploys', async () => {
    for (const read of VERSION_READS) {
      expect(await get(undefined, uploads, `/v1/images/${UID}/versions/v1-0-00${read}`), read).toEqual({
        status: 404, body: {
          code: 'IMAGE_NOT_READY', problems: [],
          message: `image ${UID} has no validated version v1-0-00 yet: your upload req-1 of v1-0-00 is still under way; follow GET /v1/requests/req-1?wait=30`,
        },
        // Retriable: a client's generic retry on Retry-After waits and asks again (it gave up at once before).
        retryAfter: '5',
      });
    }
  });

  it('answers the owner\'s listing of versions, and a read of another version, as GET /v1/images/{uid} does: the image is not ready', async () => {
    const image = await get(undefined, uploads, `/v1/images/${UID}`);
    expect(image).toMatchObject({ status: 404, body: { code: 'IMAGE_NOT_READY' } });
    expect(await get(undefined, uploads, `/v1/images/${UID}/versions`)).toEqual(image);
    expect(await get(undefined, uploads, `/v1/images/${UID}/versions/v2-0-00`)).toEqual(image);
  });

  it('stays a bare 404 for anyone else, a role holder too, so UIDs cannot be probed', async () => {
    for (const asker of [STRANGER, ROLE_HOLDER]) {
      expect(await get(undefined, uploads, `/v1/images/${UID}/versions`, asker), asker.user).toEqual(bareNotFound(`image ${UID}`));
      for (const read of VERSION_READS) expect(await get(undefined, uploads, `/v1/images/${UID}/versions/v1-0-00${read}`, asker), `${asker.user} ${read}`).toEqual(bareNotFound(`image ${UID}`));
    }
  });
});

describe('a version read while a second version uploads, the image held', () => {
  const uploads = [upload('req-1', 'v1-0-00', 'succeeded'), upload('req-2', 'v1-0-01', 'accepted')];

  it('answers the owner 404 IMAGE_NOT_READY naming that version\'s upload, and the held version as before', async () => {
    for (const read of VERSION_READS) {
      expect(await get(held, uploads, `/v1/images/${UID}/versions/v1-0-01${read}`), read).toMatchObject({
        status: 404, body: { code: 'IMAGE_NOT_READY', message: `image ${UID} has no validated version v1-0-01 yet: your upload req-2 of v1-0-01 is still under way; follow GET /v1/requests/req-2?wait=30` },
      });
    }
    expect(await get(held, uploads, `/v1/images/${UID}/versions/v1-0-00`)).toMatchObject({ status: 200, body: { imageVersion: 'v1-0-00' } });
    expect(await get(held, uploads, `/v1/images/${UID}/versions`)).toMatchObject({ status: 200, body: { versions: [{ imageVersion: 'v1-0-00' }] } });
  });

  it('keeps a bare 404 for a version nobody uploads, and for anyone else, a role holder who sees the image too', async () => {
    expect(await get(held, uploads, `/v1/images/${UID}/versions/v9-0-00`)).toEqual(bareNotFound(`version v9-0-00 of image ${UID}`));
    // A role holder sees the image's versions in Development, and no other: one not held is an image they do not see, as before.
    expect(await get(held, uploads, `/v1/images/${UID}/versions/v1-0-01`, ROLE_HOLDER)).toEqual(bareNotFound(`image ${UID}`));
    expect(await get(held, uploads, `/v1/images/${UID}/versions/v1-0-00`, ROLE_HOLDER)).toMatchObject({ status: 200 });
    expect(await get(held, uploads, `/v1/images/${UID}/versions/v1-0-01/manifests`, STRANGER)).toEqual(bareNotFound(`image ${UID}`));
  });
});

describe('a version read once that version\'s upload failed', () => {
  it('answers the owner 404 IMAGE_UPLOAD_FAILED naming the failed upload of that version, with the image held or not', async () => {
    const failed = upload('req-2', 'v1-0-01', 'failed', 'NO_MANIFEST');
    // Another version's newer failure is not this version's.
    const others = [upload('req-1', 'v1-0-00', 'succeeded'), failed, { ...upload('req-3', 'v1-0-02', 'failed', 'NOT_A_TAR'), createdAt: new Date('2026-12-06T11:00:00Z') }];
    for (const image of [held, undefined]) {
      for (const read of VERSION_READS) {
        expect(await get(image, others, `/v1/images/${UID}/versions/v1-0-01${read}`), read).toEqual({
          status: 404, body: { code: 'IMAGE_UPLOAD_FAILED', problems: [], message: `image ${UID} has no version v1-0-01: your upload req-2 of v1-0-01 failed NO_MANIFEST; its steps are at GET /v1/requests/req-2` },
        });
      }
      expect(await get(image, others, `/v1/images/${UID}/versions/v1-0-01`, STRANGER)).toMatchObject({ status: 404, body: { code: 'ORBIT_ERR_NOT_FOUND' } });
    }
  });

  it('names the failed upload of the version asked for behind more than 20 newer failed uploads of other versions (found by a quality reread: only the newest 20 were looked through)', async () => {
    const newer = Array.from({ length: 25 }, (_, index) => ({ ...upload(`later-${String(index)}`, `v2-0-${String(10 + index)}`, 'failed', 'NOT_A_TAR'), createdAt: new Date(Date.UTC(2026, 11, 6, 11, index)) }));
    const uploads = [upload('req-2', 'v1-0-01', 'failed', 'NO_MANIFEST'), ...newer];
    for (const image of [held, undefined]) {
      expect(await get(image, uploads, `/v1/images/${UID}/versions/v1-0-01`), image ? 'held' : 'not held').toEqual({
        status: 404, body: { code: 'IMAGE_UPLOAD_FAILED', problems: [], message: `image ${UID} has no version v1-0-01: your upload req-2 of v1-0-01 failed NO_MANIFEST; its steps are at GET /v1/requests/req-2` },
      });
    }
  });

  it('answers the owner\'s listing of an image whose only upload failed as GET /v1/images/{uid} does', async () => {
    const uploads = [upload('req-1', 'v1-0-00', 'failed', 'NO_MANIFEST')];
    const image = await get(undefined, uploads, `/v1/images/${UID}`);
    expect(image).toMatchObject({ status: 404, body: { code: 'IMAGE_UPLOAD_FAILED' } });
    expect(await get(undefined, uploads, `/v1/images/${UID}/versions`)).toEqual(image);
    expect(await get(undefined, uploads, `/v1/images/${UID}/versions`, STRANGER)).toEqual(bareNotFound(`image ${UID}`));
  });
});
