import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { childSpan, newImageUID, OrbitError, TOPICS, type ConsumedMessage } from '@orbit/lib';
import { sampleEvents, type OrbitEvent } from '@orbit/schemas';
import { projectionChecksum } from '../../../../consumers/viewport-projector/src/checksum.js';
import { projectorBatchHandler } from '../../../../consumers/viewport-projector/src/handle.js';
import { quietLogger, uniqueSuffix } from '../../../../test/helpers/index.js';
import { privateViewport, type PrivateViewport } from '../../../../test/helpers/viewport-db.js';
import { buildApp } from '../app.js';
import { tokenVerifier } from '../auth.js';
import type { DeployableStore } from '../ports.js';
import { mysqlImageReader } from '../stores/mysql-images.js';
import { ROUTE_TEST_AUTH, routeTestToken } from '../testing/route-gateway.js';

const REFERENCE = `127.0.0.1:5050/private-team/billing-${uniqueSuffix()}:1.4`;
const imageUID = newImageUID();
const events = sampleEvents(imageUID, `req-${uniqueSuffix()}`);
const stored = events[TOPICS.imageStored];
/** v1 uploaded by reference, v2 as an archive: ImageStored as the harbor-writer publishes them. */
const history: { topic: string; event: OrbitEvent }[] = [
  { topic: TOPICS.imageStored, event: { ...stored, pulledFrom: REFERENCE } },
  { topic: TOPICS.imageStored, event: { ...stored, requestId: `req-${uniqueSuffix()}`, metadata: { ...stored.metadata, imageVersion: 'v2-0-00' }, pulledFrom: null } },
];
const notUnderTest = async (): Promise<never> => { throw new OrbitError('ORBIT_ERR_NOT_UNDER_TEST', 'not read here'); };
const deployables: DeployableStore = { manifests: notUnderTest, downloadUrl: notUnderTest, read: notUnderTest, sizeOf: notUnderTest, kustomization: notUnderTest };

let live: PrivateViewport;
let oneByOne: PrivateViewport;

/** Projects `history` into `viewport` as the live projector does: in one batch, or a message at a time (as a rebuild's replay and a live projector differ). */
async function project(viewport: PrivateViewport, batched: boolean): Promise<void> {
  const handle = projectorBatchHandler({ pool: viewport.pool, groupId: `pulled-${uniqueSuffix()}`, publisher: { publish: async () => undefined } });
  const messages = history.map(({ topic, event }, offset): ConsumedMessage<OrbitEvent> => ({
    topic, partition: 0, offset: String(offset), key: event.imageUID, event, headers: {}, trace: childSpan(undefined), log: quietLogger, signal: new AbortController().signal,
  }));
  if (batched) await handle(messages);
  else for (const message of messages) await handle([message]);
}

beforeAll(async () => {
  live = await privateViewport('pulled');
  oneByOne = await privateViewport('pulled1');
  await project(live, true);
  await project(oneByOne, false);
});

afterAll(async () => {
  await live.drop();
  await oneByOne.drop();
});

/** The gateway as it runs, reading ViewPort from the private projection; a `qa` role reads Testing and Development. */
function gateway() {
  return buildApp({
    ready: async () => true, metrics: new Registry(), verify: tokenVerifier({ kind: 'hs256', ...ROUTE_TEST_AUTH }),
    uploads: { stage: notUnderTest, presign: notUnderTest, find: async () => undefined, resume: async () => undefined, presignedWith: async () => undefined, discard: async () => undefined, abandon: async () => 'unknown' as const, givenUp: async () => false },
    names: { uidFor: async () => imageUID, peek: async () => imageUID },
    requests: { get: async () => undefined, finishedAmong: async () => new Set(), list: async () => ({ requests: [] }) },
    events: { byCorrelationId: async () => [], byImageUID: async () => ({ entries: [] }) },
    publish: { uploadRequested: async () => undefined },
    images: mysqlImageReader(live.pool), deployables,
    transfers: {
      claims: { claim: async () => ({ requestId: 'r', status: null }), find: async () => undefined }, publish: { transferRefused: async () => undefined },
      policy: { chain: ['Development', 'Testing', 'Staging', 'Production'], roles: new Map([['Testing', 'qa']]) },
    },
    maxUploadBytes: 1024, logger: quietLogger,
  });
}

describe('pulledFrom from the events to GET /v1/images/{uid}, over a projection in MariaDB', () => {
  it('shows the owner the reference and the digest pulled on the version uploaded by reference, none on the archive upload, in every view', async () => {
    const app = gateway();
    const get = async (url: string, user = 'dev1', roles: readonly string[] = []): Promise<Record<string, unknown>> => {
      const response = await app.inject({ url, headers: { authorization: `Bearer ${await routeTestToken(user, roles)}` } });
      expect(response.statusCode, response.body).toBe(200);
      return response.json() as Record<string, unknown>;
    };
    const pulledFrom = { reference: REFERENCE, digest: stored.image.manifestDigest };
    const listed = async (user: string, roles: readonly string[]): Promise<Record<string, unknown>[]> => {
      const images = (await get('/v1/images', user, roles))['images'] as { imageUID: string; versions: Record<string, unknown>[] }[];
      return images.find((image) => image.imageUID === imageUID)?.versions ?? [];
    };
    const views = async (user: string, roles: readonly string[] = []) => ({
      image: (await get(`/v1/images/${imageUID}`, user, roles))['versions'] as Record<string, unknown>[],
      listing: await listed(user, roles),
      versions: (await get(`/v1/images/${imageUID}/versions`, user, roles))['versions'] as Record<string, unknown>[],
      version: [await get(`/v1/images/${imageUID}/versions/v1-0-00`, user, roles), await get(`/v1/images/${imageUID}/versions/v2-0-00`, user, roles)],
    });
    for (const [view, versions] of Object.entries(await views('dev1'))) {
      expect(versions.find((version) => version['imageVersion'] === 'v1-0-00')?.['pulledFrom'], view).toEqual(pulledFrom);
      expect(versions.find((version) => version['imageVersion'] === 'v2-0-00'), view).not.toHaveProperty('pulledFrom');
    }
    // A role holder reads the versions (both are in Development, which qa reads) but not where they were pulled from.
    for (const [view, versions] of Object.entries(await views('qa1', ['qa']))) {
      expect(versions, view).toHaveLength(2);
      expect(JSON.stringify(versions), view).not.toContain(REFERENCE);
    }
    await app.close();
  });

  it('is part of the projection a rebuild is checked against: the same whether the history is projected in one batch or a message at a time', async () => {
    const [batched, single] = [await projectionChecksum(live.pool), await projectionChecksum(oneByOne.pool)];
    expect(batched).toEqual(single);
    // And the checksum sees it: a projection that lost it (or holds another) does not compare equal.
    await oneByOne.pool.query("DELETE m FROM wp_postmeta m JOIN wp_posts p ON p.ID = m.post_id WHERE m.meta_key = 'pulledFrom' AND p.guid = ?", [`orbit:image:${imageUID}:v1-0-00`]);
    expect((await projectionChecksum(oneByOne.pool)).sha256).not.toBe(batched.sha256);
  });
});
