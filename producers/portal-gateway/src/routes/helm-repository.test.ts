import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import type { DeployableStore, ImageView } from '../ports.js';
import { routeTestGateway, routeTestToken } from '../testing/route-gateway.js';

const UID = 'H'.repeat(60);
const chartOf = (version: string) => ({ bucket: 'helm-chart-1224-bkt-k8d-aws', key: `${UID}-${version}/billing-api.tgz`, versionId: `c-${version}` });

describe('the Helm repository routes of an image of many versions', () => {
  // 40 versions, every fourth in Staging: a release manager reads Staging, the owner everything.
  const image: ImageView = {
    imageUID: UID, owner: 'dev1', imageName: 'billing-api', description: '', environments: ['Development', 'Testing', 'Staging'],
    versions: Array.from({ length: 40 }, (_, index) => ({
      imageVersion: `v${index + 1}-0-00`, status: 'ready', environments: index % 4 === 0 ? ['Development', 'Testing', 'Staging'] : ['Development'],
      chartName: 'billing-api', chartVersion: `${index + 1}.0.0`, chartLocation: chartOf(`v${index + 1}-0-00`), chartSha256: 'ab'.repeat(32), createdAt: '2026-12-06T00:00:00.000Z',
    })),
  };
  const deployables: DeployableStore = {
    manifests: async () => undefined, kustomization: async () => undefined, sizeOf: async () => 5,
    downloadUrl: async () => { throw new Error('not used'); },
    read: async () => ({ body: Readable.from([Buffer.from('chart')]), sizeBytes: 5 }),
  };
  const gateway = () => {
    const reads: string[] = [];
    const app = routeTestGateway({
      uid: UID, image, deployables, reads,
      transfers: { claims: { claim: async () => ({ requestId: 'r', status: null }), find: async () => undefined }, publish: { transferRefused: async () => undefined }, policy: { chain: ['Development', 'Testing', 'Staging', 'Production'], roles: new Map([['Production', 'release-manager']]) } },
    });
    const helm = async (path: string, user = 'dev1', roles: readonly string[] = []) => app.inject({ url: `/helm/${path}`, headers: { authorization: `Bearer ${await routeTestToken(user, roles)}` } });
    return { helm, reads };
  };

  it('serves a chart download from the versions of the file the URL names, not the image read whole (found by a review: 33 MB a download at 10 000 versions)', async () => {
    const { helm, reads } = gateway();
    expect((await helm(`Development/dev1/charts/${UID}/billing-api-7.0.0.tgz`)).statusCode).toBe(200);
    expect((await helm(`Staging/dev1/charts/${UID}/billing-api-9.0.0.tgz`, 'rm1', ['release-manager'])).statusCode).toBe(200);
    // v8 is not in Staging: not in that repository, for its owner either.
    expect((await helm(`Staging/dev1/charts/${UID}/billing-api-8.0.0.tgz`)).statusCode).toBe(404);
    expect((await helm(`Development/dev1/charts/${UID}/billing-api-99.0.0.tgz`)).statusCode).toBe(404);
    expect([...new Set(reads)]).toEqual(['getChart']);
  });

  it('builds an index from one read of the repository owner\'s charts there, for the owner and for a release manager (found by a review: every owner\'s images were scanned for one)', async () => {
    const { helm, reads } = gateway();
    const index = await helm('Staging/dev1/index.yaml', 'rm1', ['release-manager']);
    expect(index.statusCode).toBe(200);
    const entries = (parse(index.body) as { entries: Record<string, { version: string }[]> }).entries;
    expect(entries['billing-api']?.map((entry) => entry.version)).toEqual(['37.0.0', '33.0.0', '29.0.0', '25.0.0', '21.0.0', '17.0.0', '13.0.0', '9.0.0', '5.0.0', '1.0.0']);
    expect((parse((await helm('Development/dev1/index.yaml')).body) as { entries: Record<string, unknown[]> }).entries['billing-api']).toHaveLength(40);
    expect(reads).toEqual(['charted', 'charted']);
  });
});
