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

  it('refuses an owner with white space at an end or a control character, which no user name has, before reading anything (found by a review: MySQL ignored the trailing spaces and served another owner\'s index, whose chart URLs all 404)', async () => {
    const { helm, reads } = gateway();
    for (const [path, user, roles] of [['Staging/dev1%20%20%20/index.yaml', 'rm1', ['release-manager']], ['Development/dev1%20/index.yaml', 'dev1', []], ['Development/%20dev1/index.yaml', 'dev1', []], ['Development/dev1%09/index.yaml', 'dev1', []], ['Development/dev%1B1/index.yaml', 'dev1', []], [`Development/dev1%20/charts/${UID}/billing-api-7.0.0.tgz`, 'dev1', []]] as const) {
      const answer = await helm(path, user, roles);
      expect([answer.statusCode, answer.json().code, answer.json().problems], path).toEqual([400, 'ORBIT_ERR_BAD_REQUEST', [{ field: 'params.owner', message: expect.stringMatching(/^params\.owner ".*" (has white space at an end|holds a control character), which no user name has/) as unknown }]]);
    }
    expect(reads).toEqual([]);
    expect((await helm('Development/dev1/index.yaml')).statusCode).toBe(200);
  });
});
