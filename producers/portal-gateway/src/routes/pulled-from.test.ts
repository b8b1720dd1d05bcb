import { describe, expect, it } from 'vitest';
import type { DeployableStore, ImageView, TimelineEntry } from '../ports.js';
import { routeTestGateway, routeTestToken } from '../testing/route-gateway.js';

const UID = 'P'.repeat(60);
const PULLED_FROM = { reference: 'registry.internal:5000/secret-team/billing:1.4', digest: `sha256:${'a'.repeat(64)}` };
const refused = async (): Promise<never> => { throw new Error('not read by these routes'); };
const deployables: DeployableStore = { manifests: refused, downloadUrl: refused, read: refused, sizeOf: refused, kustomization: refused };

/** v1 pulled by reference and promoted to Staging (a release manager reads it); v2 uploaded as an archive. */
const image: ImageView = {
  imageUID: UID, owner: 'dev1', imageName: 'billing-api', description: '', environments: ['Development', 'Testing', 'Staging'],
  versions: [
    { imageVersion: 'v1-0-00', status: 'ready', environments: ['Development', 'Testing', 'Staging'], digest: PULLED_FROM.digest, pulledFrom: PULLED_FROM },
    { imageVersion: 'v2-0-00', status: 'ready', environments: ['Development', 'Testing', 'Staging'], digest: `sha256:${'b'.repeat(64)}` },
  ],
};
const stored: TimelineEntry = {
  pid: 'stored', eventType: 'image-stored', at: '2026-12-06T00:00:00.000Z', correlationId: 'c',
  payload: { imageVersion: 'v1-0-00', actor: { username: 'dev1' }, pulledFrom: PULLED_FROM.reference, imageReference: 'harbor.local/dev1/billing-api@sha256:aa' },
};
const app = routeTestGateway({
  uid: UID, image, deployables, events: { byCorrelationId: async () => [], byImageUID: async () => ({ entries: [stored] }) },
  transfers: { claims: { claim: async () => ({ requestId: 'r', status: null }), find: async () => undefined }, publish: { transferRefused: async () => undefined }, policy: { chain: ['Development', 'Testing', 'Staging', 'Production'], roles: new Map([['Staging', 'release-manager']]) } },
});

/** The versions of each view of the image that shows version facts, as `user` with `roles` reads them. */
async function versionsSeenBy(user: string, roles: readonly string[] = []): Promise<Record<string, Record<string, unknown>[]>> {
  const get = async (url: string): Promise<Record<string, unknown>> => {
    const response = await app.inject({ url, headers: { authorization: `Bearer ${await routeTestToken(user, roles)}` } });
    expect(response.statusCode).toBe(200);
    return response.json() as Record<string, unknown>;
  };
  return {
    image: (await get(`/v1/images/${UID}`))['versions'] as Record<string, unknown>[],
    versions: (await get(`/v1/images/${UID}/versions`))['versions'] as Record<string, unknown>[],
    version: await Promise.all(['v1-0-00', 'v2-0-00'].map((version) => get(`/v1/images/${UID}/versions/${version}`))),
  };
}

describe('pulledFrom of a version uploaded by reference', () => {
  it('shows its owner the reference and digest it was pulled from in the image, its versions page and the version\'s own view; an archive upload has none (absent, not null)', async () => {
    for (const [view, versions] of Object.entries(await versionsSeenBy('dev1'))) {
      const byName = new Map(versions.map((version) => [version['imageVersion'], version]));
      expect(byName.get('v1-0-00')?.['pulledFrom'], view).toEqual(PULLED_FROM);
      expect(byName.get('v2-0-00'), view).not.toHaveProperty('pulledFrom');
    }
  });

  it('never shows a role holder who does not own the image where it was pulled from (it may name a private registry), in any view or event; the digest stays', async () => {
    for (const [view, versions] of Object.entries(await versionsSeenBy('rm1', ['release-manager']))) {
      expect(versions.map((version) => version['imageVersion']).sort(), view).toEqual(['v1-0-00', 'v2-0-00']);
      for (const version of versions) expect(version, view).not.toHaveProperty('pulledFrom');
      expect(versions.find((version) => version['imageVersion'] === 'v1-0-00')?.['digest'], view).toBe(PULLED_FROM.digest);
    }
    const events = await app.inject({ url: `/v1/images/${UID}/events`, headers: { authorization: `Bearer ${await routeTestToken('rm1', ['release-manager'])}` } });
    const [payload] = (events.json() as { events: TimelineEntry[] }).events.map((event) => event.payload as Record<string, unknown>);
    expect(payload).not.toHaveProperty('pulledFrom');
    expect(payload?.['imageReference']).toBe(stored.payload && (stored.payload as Record<string, unknown>)['imageReference']);
  });
});
