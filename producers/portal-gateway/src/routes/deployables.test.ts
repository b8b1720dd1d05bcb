import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { Registry } from 'prom-client';
import { gunzipSync } from 'node:zlib';
import tar from 'tar-stream';
import { parse, parseAllDocuments } from 'yaml';
import { buildApp } from '../app.js';
import { issueLocalToken, tokenVerifier } from '../auth.js';
import { startOfUtcDay, type OwnerMark } from '../helm-index-cache.js';
import type { DeployableStore, ImageView, PresignedParts, RequestRecord, StoredObjectRef } from '../ports.js';
import { chartedOf, chartOf, oneVersionOf, outlineOf, overviewOf, versionsPageOf } from '../testing/versions-page.js';

const auth = { secret: 'route-test-secret-0123456789abcdef', issuer: 'orbit-local', audience: 'orbit' };
const UID = 'D'.repeat(60);
const devCopy = { bucket: 'app-image-1206-bkt-k8d-aws', key: `${UID}-v1-0-00.tar`, versionId: 'dev-v' };
const testCopy = { bucket: 'app-image-1209-bkt-k8t-aws', key: `${UID}-v1-0-00.tar`, versionId: 'test-v' };
const stagingCopy = { bucket: 'app-image-1212-bkt-k8s-aws', key: `${UID}-v1-0-00.tar`, versionId: 'stg-v' };
const chart = { bucket: 'helm-chart-1224-bkt-k8d-aws', key: `${UID}-v1-0-00/billing-api-1.0.0.tgz`, versionId: 'c-v' };
/** Testing pulls from a registry of its own here: its promotion packaged a chart pulling from there. */
const testingChart = { bucket: 'helm-chart-1224-bkt-k8d-aws', key: `${UID}-v1-0-00/testing/billing-api-1.0.0.tgz`, versionId: 'ct-v' };

const UPLOAD_REPOSITORY = 'registry.dev:5000/orbit/billing-api';
/** The SHA-256s ViewPort holds of v1's archive as uploaded, and of the copy its promotion into Testing made. */
const ARCHIVE_SHA256 = '12'.repeat(32);
const TESTING_COPY_SHA256 = '34'.repeat(32);
/** Testing's own registry, which its overlay (written before Testing had it) does not name yet. */
const TESTING_REPOSITORY = 'harbor.test/orbit-testing/billing-api';
const REQUEST_ID = '3f1c9a52-0000-4000-8000-000000000001';
/** An upload in parts of dev1's that still lacks its second part. */
const UPLOAD_ID = '3f1c9a52-0000-4000-8000-00000000000b';
const chartBytes = (object: StoredObjectRef): Buffer => Buffer.from(`chart at ${object.bucket}/${object.key}@${String(object.versionId)}`);
/** What a 304 must not carry: any header about a body (RFC 9110 §8.6, §15.4.5). */
const BODY_HEADERS = ['content-length', 'content-type', 'content-encoding', 'content-disposition'];
const overlayOf = (environment: string): string => `apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nnamespace: orbit-${environment.toLowerCase()}\nresources:\n  - ../../base\n`;

/** What the projector keeps of v2's labels and annotations (its `labels` meta, image-labels.ts); v1 was stored before they were read. */
const V2_LABELS = {
  platform: 'linux/amd64',
  labels: [{ key: 'maintainer', value: '' }, { key: 'org.opencontainers.image.source', value: 'https://github.com/acme/billing' }, { key: 'ünïcode', value: 'Béla 🚀' }],
  annotations: [{ key: 'org.opencontainers.image.revision', value: 'abc123' }],
  indexAnnotations: null, platforms: [], leftOut: 0, limitBytes: 65536,
};

/** v1 in Development, Testing and Staging; v2 in Development only, its chart not generated yet. */
function harness(options: { ownerMark?: OwnerMark; corsOrigins?: readonly string[]; chartsGone?: boolean; chartsUnhashed?: boolean } = {}) {
  let searches = 0;
  /** What the chart store was asked: each object read (a stream opened), and each size asked without the bytes. */
  const store = { reads: 0, sizes: 0 };
  const hashed = (digest: string) => (options.chartsUnhashed === true ? {} : { chartSha256: digest });
  const image: ImageView = {
    imageUID: UID, owner: 'dev1', imageName: 'billing-api', description: '', environments: ['Development', 'Testing', 'Staging'],
    versions: [
      {
        // Every version ViewPort holds has its upload time (its post's date), which an index is dated by.
        imageVersion: 'v1-0-00', createdAt: '2026-11-30T10:00:00.000Z', status: 'ready', environments: ['Development', 'Testing', 'Staging'], s3Location: devCopy, chartLocation: chart, chartName: 'billing-api', chartVersion: '1.0.0', ...hashed('ab'.repeat(32)),
        imageReference: `${UPLOAD_REPOSITORY}@sha256:${'e'.repeat(64)}`, sha256: ARCHIVE_SHA256,
        // Staging's promotion was kept before ViewPort held its copy's SHA-256.
        promotions: { Testing: { s3Location: testCopy, sha256: TESTING_COPY_SHA256, chartLocation: testingChart, ...hashed('cd'.repeat(32)) }, Staging: { s3Location: stagingCopy } },
      },
      { imageVersion: 'v2-0-00', createdAt: '2026-12-01T10:00:00.000Z', status: 'stored', environments: ['Development'], s3Location: { ...devCopy, key: `${UID}-v2-0-00.tar` }, archiveCompression: 'ZSTD', labels: V2_LABELS },
    ],
  };
  const links: { object: StoredObjectRef; fileName: string; contentType?: string }[] = [];
  const deployables: DeployableStore = {
    manifests: async (environment, helmChartName) => (helmChartName === `${UID}-v1-0-00`
      ? [{ apiVersion: 'v1', kind: 'Service', metadata: { name: 'billing-api', namespace: `orbit-${environment.toLowerCase()}`, labels: { environment, 'on': 'yes' } } }]
      : undefined),
    kustomization: async (environment, helmChartName) => (helmChartName === `${UID}-v1-0-00`
      ? {
        files: new Map([['base/kustomization.yaml', 'resources:\n  - service.yaml\n'], ['base/service.yaml', 'kind: Service\n'], [`overlays/${environment.toLowerCase()}/kustomization.yaml`, overlayOf(environment)]]),
        imageReference: environment === 'Testing' ? `${TESTING_REPOSITORY}@sha256:${'e'.repeat(64)}` : null,
      }
      : undefined),
    downloadUrl: async (object, fileName, contentType) => {
      links.push({ object, fileName, ...(contentType ? { contentType } : {}) });
      return { url: `http://s3.test/${object.bucket}/${object.key}?versionId=${object.versionId}&X-Amz-Signature=abc`, expiresAt: '2026-12-01T00:15:00.000Z' };
    },
    read: async (object) => {
      store.reads += 1;
      if (options.chartsGone === true) throw Object.assign(new Error('The specified key does not exist.'), { name: 'NoSuchKey', $metadata: { httpStatusCode: 404 } });
      const bytes = chartBytes(object);
      return { body: Readable.from([bytes]), sizeBytes: bytes.length };
    },
    sizeOf: async (object) => {
      store.sizes += 1;
      // HeadObject's 404 has no body to name the error by: the SDK calls it NotFound.
      if (options.chartsGone === true) throw Object.assign(new Error('NotFound'), { name: 'NotFound', $metadata: { httpStatusCode: 404 } });
      return chartBytes(object).length;
    },
  };
  const requestRecord: RequestRecord = { requestId: REQUEST_ID, kind: 'upload', imageUID: UID, imageVersion: 'v2-0-00', owner: 'dev1', status: 'accepted', error: null };
  const parts: PresignedParts = {
    method: 'PUT', headers: {}, expiresAt: '2026-12-01T00:15:00.000Z', partSizeBytes: 5,
    parts: [{ partNumber: 2, url: 'http://s3.test/staging/part-2?X-Amz-Signature=abc', sizeBytes: 5 }],
  };
  const app = buildApp({
    ready: async () => true, metrics: new Registry(), verify: tokenVerifier({ kind: 'hs256', ...auth }),
    uploads: {
      stage: async () => { throw new Error('not used'); }, presign: async (_owner, _uploadId, sizeBytes) => (sizeBytes === null ? { method: 'PUT', headers: {}, expiresAt: parts.expiresAt, url: 'http://s3.test/staging/one?X-Amz-Signature=abc' } : parts),
      find: async () => undefined, resume: async (owner, uploadId) => (owner === 'dev1' && uploadId === UPLOAD_ID ? parts : undefined),
      presignedWith: async () => undefined, discard: async () => undefined, abandon: async () => 'unknown' as const, givenUp: async () => false,
    },
    names: { uidFor: async () => UID, peek: async () => UID },
    requests: { get: async (id) => (id === REQUEST_ID ? requestRecord : undefined), finishedAmong: async () => new Set(), list: async () => ({ requests: [requestRecord] }) },
    events: { byCorrelationId: async () => [], byImageUID: async () => ({ entries: [] }) },
    publish: { uploadRequested: async () => undefined },
    images: {
      get: async (uid) => (uid === UID ? image : undefined),
      // As MySQL filters: the caller's own images, and others' with a version in an environment their role reaches.
      search: async (query) => {
        searches += 1;
        return { images: query.owner === image.owner || (query.alsoIn ?? []).some((environment) => image.environments.includes(environment)) ? [image] : [] };
      },
      getVersion: async (uid, version) => oneVersionOf(uid === UID ? image : undefined, version),
      versionsPage: async (uid, page) => versionsPageOf(uid === UID ? image : undefined, page),
      overview: async (uid, query) => overviewOf(uid === UID ? image : undefined, query),
      outline: async (uid, query) => outlineOf(uid === UID ? image : undefined, query),
      getChart: async (uid, fileName) => chartOf(uid === UID ? image : undefined, fileName),
      // A Helm index's one read of the repository: counted, as the cache tests ask how often an index was rendered.
      charted: async (owner, environment) => {
        searches += 1;
        return chartedOf([image], owner, environment);
      },
    },
    deployables,
    ...(options.ownerMark ? { ownerMark: options.ownerMark } : {}),
    ...(options.corsOrigins ? { corsOrigins: options.corsOrigins } : {}),
    transfers: {
      claims: { claim: async () => { throw new Error('not used'); }, find: async () => undefined },
      publish: { transferRefused: async () => undefined },
      policy: { chain: ['Development', 'Testing', 'Staging', 'Production'], roles: new Map([['Production', 'release-manager']]) },
    },
    maxUploadBytes: 1024,
  });
  const get = async (path: string, options: { user?: string; roles?: string[]; accept?: string; origin?: string } = {}) => {
    const response = await app.inject({
      method: 'GET', url: `/v1/images/${UID}/versions/${path}`,
      headers: {
        authorization: `Bearer ${await issueLocalToken(auth, options.user ?? 'dev1', options.roles ?? [])}`, ...(options.accept ? { accept: options.accept } : {}),
        ...(options.origin ? { origin: options.origin } : {}),
      },
    });
    return response;
  };
  /** A chart repository client: user name and token as Basic credentials. */
  const helm = async (path: string, asker: { user?: string; roles?: string[]; password?: string; ifNoneMatch?: string; ifMatch?: string; acceptEncoding?: string; origin?: string; method?: 'GET' | 'HEAD' } = {}) => {
    const password = asker.password ?? await issueLocalToken(auth, asker.user ?? 'dev1', asker.roles ?? []);
    return app.inject({
      method: asker.method ?? 'GET', url: `/helm/${path}`,
      headers: {
        authorization: `Basic ${Buffer.from(`helm:${password}`).toString('base64')}`, ...(asker.ifNoneMatch ? { 'if-none-match': asker.ifNoneMatch } : {}),
        ...(asker.ifMatch ? { 'if-match': asker.ifMatch } : {}),
        ...(asker.acceptEncoding ? { 'accept-encoding': asker.acceptEncoding } : {}), ...(asker.origin ? { origin: asker.origin } : {}),
      },
    });
  };
  /** Any call of the API, as dev1 (a bearer token) unless `user` says otherwise. */
  const api = async (method: 'GET' | 'HEAD' | 'POST', url: string, asker: { user?: string; headers?: Record<string, string>; payload?: unknown } = {}) => app.inject({
    method, url, headers: { authorization: `Bearer ${await issueLocalToken(auth, asker.user ?? 'dev1', [])}`, ...asker.headers },
    ...(asker.payload === undefined ? {} : { payload: asker.payload as Record<string, unknown> }),
  });
  return { app, get, links, helm, api, store, searches: () => searches };
}

describe('GET /v1/images/{uid}/versions/{version}', () => {
  it('answers the version as the image lists it, and 404 for one it does not have or a caller who may not see it', async () => {
    const { get } = harness();
    const found = await get('v1-0-00');
    expect(found.statusCode).toBe(200);
    expect(found.json()).toMatchObject({ imageVersion: 'v1-0-00', status: 'ready', environments: ['Development', 'Testing', 'Staging'], s3Location: devCopy });
    expect((await get('v9-0-00')).statusCode).toBe(404);
    expect((await get('v1-0-00', { user: 'intruder' })).statusCode).toBe(404);
  });

  it('shows what the image says of itself, its labels and annotations byte for byte in key order, and null (not known) for a version stored before they were read (found by a review: Harbor shows them, ViewPort did not)', async () => {
    const { get } = harness();
    const labelled = (await get('v2-0-00')).json<{ labels: unknown }>();
    expect(labelled.labels).toEqual(V2_LABELS);
    // As sent, byte for byte: the response is UTF-8 JSON, the empty value stays an empty value.
    expect((await get('v2-0-00')).body).toContain('"key":"ünïcode","value":"Béla 🚀"');
    expect((await get('v2-0-00')).body).toContain('"key":"maintainer","value":""');
    expect((await get('v1-0-00')).json<Record<string, unknown>>()).toHaveProperty('labels', null);
  });
});

describe('GET /v1/images/{uid}/versions/{version}/manifests', () => {
  it('answers the environment\'s manifests as a List kubectl applies, or as a YAML stream when asked', async () => {
    const { get } = harness();
    const json = await get('v1-0-00/manifests?environment=Testing');
    expect(json.statusCode).toBe(200);
    expect(json.headers['content-type']).toMatch(/^application\/json/);
    expect(json.json()).toEqual({ apiVersion: 'v1', kind: 'List', items: [{ apiVersion: 'v1', kind: 'Service', metadata: { name: 'billing-api', namespace: 'orbit-testing', labels: { environment: 'Testing', on: 'yes' } } }] });
    const yaml = await get('v1-0-00/manifests?environment=testing', { accept: 'text/html;q=0.5, application/yaml' });
    expect(yaml.headers['content-type']).toMatch(/^application\/yaml/);
    // Kubernetes reads YAML 1.1: keys and values like on/yes must stay strings.
    expect(parseAllDocuments(yaml.body, { version: '1.1' }).map((doc) => doc.toJS() as unknown)).toEqual([json.json<{ items: unknown[] }>().items[0]]);
    expect((await get('v1-0-00/manifests')).json<{ items: { metadata: { namespace: string } }[] }>().items[0]?.metadata.namespace).toBe('orbit-development');
  });

  it('ranks what Accept asks for by its q-values: YAML ranked last or refused (q=0) gets JSON (found by a probe)', async () => {
    const { get } = harness();
    const typeFor = async (accept: string) => String((await get('v1-0-00/manifests?environment=Testing', { accept })).headers['content-type']);
    expect(await typeFor('application/yaml;q=0, application/json')).toMatch(/^application\/json/);
    expect(await typeFor('application/json;q=1, application/yaml;q=0.1')).toMatch(/^application\/json/);
    expect(await typeFor('application/json;q=0.2, text/yaml;q=0.9')).toMatch(/^application\/yaml/);
    expect(await typeFor('*/*')).toMatch(/^application\/json/);
    expect(await typeFor('image/png')).toMatch(/^application\/json/);
  });

  it('keeps Vary: Origin beside Vary: Accept for a portal of several origins, so a cache serves no origin another\'s answer', async () => {
    const { get, helm } = harness({ corsOrigins: ['https://portal.example.com', 'https://admin.example.com'] });
    const manifests = await get('v1-0-00/manifests?environment=Testing', { origin: 'https://admin.example.com' });
    expect(manifests.headers['access-control-allow-origin']).toBe('https://admin.example.com');
    expect(String(manifests.headers['vary']).toLowerCase().split(', ').sort()).toEqual(['accept', 'origin']);
    const index = await helm('Testing/dev1/index.yaml', { origin: 'https://portal.example.com', acceptEncoding: 'gzip' });
    expect(String(index.headers['vary']).toLowerCase().split(', ').sort()).toEqual(['accept-encoding', 'origin']);
  });

  it('refuses an unknown environment with 400 UNKNOWN_ENVIRONMENT, as a transfer does, and 404s one the version is not in, or an unknown version', async () => {
    const { get } = harness();
    const unknown = await get('v1-0-00/manifests?environment=Prod');
    expect(unknown.statusCode).toBe(400);
    expect(unknown.json()).toMatchObject({ code: 'UNKNOWN_ENVIRONMENT', problems: [{ field: 'querystring.environment' }] });
    expect((await get('v1-0-00/archive?environment=Moon')).json()).toMatchObject({ code: 'UNKNOWN_ENVIRONMENT', message: 'environment must be one of Development, Testing, Staging, Production, not "Moon"' });
    expect((await get('v1-0-00/manifests?environment=Production')).statusCode).toBe(404);
    expect((await get('v9-0-00/manifests')).statusCode).toBe(404);
  });
});

describe('GET /v1/images/{uid}/versions/{version}/kustomize', () => {
  async function filesOf(body: Buffer): Promise<Map<string, string>> {
    const files = new Map<string, string>();
    const extract = tar.extract();
    const read = (async () => {
      for await (const entry of extract) {
        const chunks: Buffer[] = [];
        for await (const chunk of entry) chunks.push(chunk as Buffer);
        files.set(entry.header.name, Buffer.concat(chunks).toString('utf8'));
      }
    })();
    extract.end(gunzipSync(body));
    await read;
    return files;
  }

  it('answers the base and the environment\'s overlay as a .tar.gz under the chart\'s name, the overlay pulling from where that environment\'s manifests pin the image', async () => {
    const { get } = harness();
    const testing = await get('v1-0-00/kustomize?environment=Testing');
    expect(testing.statusCode).toBe(200);
    expect(testing.headers['content-type']).toBe('application/gzip');
    expect(testing.headers['content-disposition']).toBe('attachment; filename="billing-api-v1-0-00-testing-kustomize.tar.gz"');
    const files = await filesOf(testing.rawPayload);
    expect([...files.keys()]).toEqual(['billing-api/base/kustomization.yaml', 'billing-api/base/service.yaml', 'billing-api/overlays/testing/kustomization.yaml']);
    expect(parse(files.get('billing-api/overlays/testing/kustomization.yaml')!)).toEqual({ ...parse(overlayOf('Testing')) as object, images: [{ name: UPLOAD_REPOSITORY, newName: TESTING_REPOSITORY }] });
    // Development pulls from where the upload was pushed: its overlay as written.
    const development = await filesOf((await get('v1-0-00/kustomize')).rawPayload);
    expect(development.get('billing-api/overlays/development/kustomization.yaml')).toBe(overlayOf('Development'));
  });

  it('404s an environment the version is not in or the caller may not read, and a version without a chart', async () => {
    const { get } = harness();
    expect((await get('v1-0-00/kustomize?environment=Production')).statusCode).toBe(404);
    expect((await get('v1-0-00/kustomize?environment=Testing', { user: 'intruder' })).statusCode).toBe(404);
    expect((await get('v2-0-00/kustomize')).statusCode).toBe(404);
    expect((await get('v1-0-00/kustomize?environment=Prod')).statusCode).toBe(400);
  });
});

describe('GET …/archive and …/chart', () => {
  it('redirects to the environment\'s own copy at its S3 version, named for a download', async () => {
    const { get, links } = harness();
    const testing = await get('v1-0-00/archive?environment=Testing');
    expect(testing.statusCode).toBe(302);
    expect(testing.headers['location']).toBe(`http://s3.test/${testCopy.bucket}/${testCopy.key}?versionId=test-v&X-Amz-Signature=abc`);
    expect(testing.headers['cache-control']).toBe('no-store');
    expect(links.at(-1)).toEqual({ object: testCopy, fileName: 'billing-api-v1-0-00.tar', contentType: 'application/x-tar' });
    // Uploaded zstd'd as a whole, it downloads as that (found by a probe: named .tar).
    expect((await get('v2-0-00/archive')).statusCode).toBe(302);
    expect(links.at(-1)).toMatchObject({ fileName: 'billing-api-v2-0-00.tar.zst', contentType: 'application/zstd' });
    await get('v1-0-00/archive');
    expect(links.at(-1)?.object).toEqual(devCopy);
    const chartLink = await get('v1-0-00/chart');
    expect(chartLink.statusCode).toBe(302);
    expect(links.at(-1)).toEqual({ object: chart, fileName: 'billing-api-1.0.0.tgz' });
  });

  it('redirects …/chart?environment= to the chart that environment serves: its own where it pulls from a registry of its own', async () => {
    const { get, links } = harness();
    expect((await get('v1-0-00/chart?environment=Testing')).statusCode).toBe(302);
    expect(links.at(-1)).toEqual({ object: testingChart, fileName: 'billing-api-1.0.0.tgz' });
    expect((await get('v1-0-00/chart?environment=staging')).statusCode).toBe(302);
    expect(links.at(-1)?.object).toEqual(chart);
    expect((await get('v1-0-00/chart?environment=Production')).statusCode).toBe(404);
    expect((await get('v1-0-00/chart?environment=Prod')).statusCode).toBe(400);
    // A release manager reads Staging's chart of dev1's image, not Testing's.
    expect((await get('v1-0-00/chart?environment=Staging', { user: 'rm1', roles: ['release-manager'] })).statusCode).toBe(302);
    expect((await get('v1-0-00/chart?environment=Testing', { user: 'rm1', roles: ['release-manager'] })).statusCode).toBe(404);
    // Without an environment the chart is the upload's, in Development: not for a release-manager either (found by a review).
    expect((await get('v1-0-00/chart', { user: 'rm1', roles: ['release-manager'] })).statusCode).toBe(404);
  });

  it('says on the 302 the SHA-256 ViewPort recorded of what it redirects to, as X-Checksum-Sha256 and Repr-Digest (found by a review: a client had only S3\'s forgeable x-amz-meta-orbit-sha256)', async () => {
    const { get } = harness();
    const digestsOf = async (path: string) => {
      const answer = await get(path);
      expect(answer.statusCode, path).toBe(302);
      return [answer.headers['x-checksum-sha256'], answer.headers['repr-digest']];
    };
    const asRfc9530 = (hex: string): string => `sha-256=:${Buffer.from(hex, 'hex').toString('base64')}:`;
    // The upload's in Development, the promotion's copy's in Testing: each environment's own copy, as the JSON's sha256 says.
    expect(await digestsOf('v1-0-00/archive')).toEqual([ARCHIVE_SHA256, asRfc9530(ARCHIVE_SHA256)]);
    expect(await digestsOf('v1-0-00/archive?environment=Testing')).toEqual([TESTING_COPY_SHA256, asRfc9530(TESTING_COPY_SHA256)]);
    expect(await digestsOf('v1-0-00/chart')).toEqual(['ab'.repeat(32), asRfc9530('ab'.repeat(32))]);
    expect(await digestsOf('v1-0-00/chart?environment=Testing')).toEqual(['cd'.repeat(32), asRfc9530('cd'.repeat(32))]);
    // None where ViewPort holds none (Staging's promotion was kept before it did; v2 was stored so): no header naming nothing.
    expect(await digestsOf('v1-0-00/archive?environment=Staging')).toEqual([undefined, undefined]);
    expect(await digestsOf('v2-0-00/archive')).toEqual([undefined, undefined]);
    const unhashed = await harness({ chartsUnhashed: true }).get('v1-0-00/chart');
    expect([unhashed.statusCode, unhashed.headers['x-checksum-sha256'], unhashed.headers['repr-digest']]).toEqual([302, undefined, undefined]);
    // The JSON answer says it in its body: a Repr-Digest there would be the JSON's own.
    const json = await get('v1-0-00/archive', { accept: 'application/json' });
    expect([json.statusCode, json.headers['x-checksum-sha256'], json.headers['repr-digest']]).toEqual([200, undefined, undefined]);
  });

  it('404s a chart not generated yet, and an environment the version has not reached', async () => {
    const { get, links } = harness();
    expect((await get('v2-0-00/chart')).statusCode).toBe(404);
    expect((await get('v2-0-00/archive?environment=Testing')).statusCode).toBe(404);
    expect(links).toEqual([]);
  });

  it('gives another user nothing, and a release manager only the environments their role reads', async () => {
    const { get } = harness();
    expect((await get('v1-0-00/archive', { user: 'intruder' })).statusCode).toBe(404);
    expect((await get('v1-0-00/manifests?environment=Staging', { user: 'intruder' })).statusCode).toBe(404);
    // Production's role reads Staging and Production, not Development.
    expect((await get('v1-0-00/archive?environment=Staging', { user: 'rm1', roles: ['release-manager'] })).statusCode).toBe(302);
    expect((await get('v1-0-00/archive?environment=Development', { user: 'rm1', roles: ['release-manager'] })).statusCode).toBe(404);
  });
});

describe('GET …/archive and …/chart with Accept: application/json (a browser app on another origin)', () => {
  const linkOf = (object: StoredObjectRef) => `http://s3.test/${object.bucket}/${object.key}?versionId=${object.versionId}&X-Amz-Signature=abc`;

  it('answers the link as data, with its expiry, name, size and SHA-256, never cached (found by a review: a script could not read the 302\'s Location)', async () => {
    const { get, links } = harness({ corsOrigins: ['https://portal.example.com'] });
    const testing = await get('v1-0-00/archive?environment=Testing', { accept: 'application/json', origin: 'https://portal.example.com' });
    expect(testing.statusCode).toBe(200);
    expect(testing.json()).toEqual({ url: linkOf(testCopy), expiresAt: '2026-12-01T00:15:00.000Z', fileName: 'billing-api-v1-0-00.tar', sizeBytes: chartBytes(testCopy).length, sha256: TESTING_COPY_SHA256 });
    expect(links.at(-1)).toEqual({ object: testCopy, fileName: 'billing-api-v1-0-00.tar', contentType: 'application/x-tar' });
    expect([testing.headers['cache-control'], testing.headers['content-type'], testing.headers['access-control-allow-origin']]).toEqual(['no-store', 'application/json; charset=utf-8', 'https://portal.example.com']);
    expect(String(testing.headers['vary'])).toMatch(/\baccept\b/i);
    expect(testing.headers['x-orbit-link-expires']).toBeUndefined();
    // Development's copy is the upload: its SHA-256; Staging's promotion holds none of its copy, said as null.
    expect((await get('v1-0-00/archive', { accept: 'application/json' })).json()).toMatchObject({ url: linkOf(devCopy), sha256: ARCHIVE_SHA256 });
    expect((await get('v1-0-00/archive?environment=Staging', { accept: 'application/json' })).json()).toMatchObject({ url: linkOf(stagingCopy), sha256: null });
    expect((await get('v2-0-00/archive', { accept: 'application/json' })).json()).toMatchObject({ fileName: 'billing-api-v2-0-00.tar.zst', sha256: null });
    // The chart: the version's, or the one Testing serves, each with its own digest.
    expect((await get('v1-0-00/chart', { accept: 'application/json' })).json()).toEqual({
      url: linkOf(chart), expiresAt: '2026-12-01T00:15:00.000Z', fileName: 'billing-api-1.0.0.tgz', sizeBytes: chartBytes(chart).length, sha256: 'ab'.repeat(32),
    });
    expect((await get('v1-0-00/chart?environment=Testing', { accept: 'application/json' })).json()).toMatchObject({ url: linkOf(testingChart), sha256: 'cd'.repeat(32) });
    expect((await harness({ chartsUnhashed: true }).get('v1-0-00/chart', { accept: 'application/json' })).json()).toMatchObject({ sha256: null });
  });

  it('redirects unless application/json is what the client prefers most: a browser\'s navigation, */* and no Accept keep the 302', async () => {
    const { get } = harness();
    const answers = async (accept: string | undefined) => (await get('v1-0-00/archive', accept === undefined ? {} : { accept })).statusCode;
    const asked = ['application/json', 'application/json, */*;q=0.1', 'application/json;charset=utf-8', 'text/html;q=0.5, application/json', 'APPLICATION/JSON',
      undefined, '*/*', 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8', 'text/html, application/json', '*/*, application/json', 'application/json;q=0', 'application/*', 'application/yaml',
      // axios's default on every request (found by a reread: its archive download saved the link's JSON as the .tar).
      'application/json, text/plain, */*', 'application/json, */*;q=1.0'];
    expect(await Promise.all(asked.map(answers))).toEqual([200, 200, 200, 200, 200, 302, 302, 302, 302, 302, 302, 302, 302, 302, 302]);
    // Either answer varies on Accept, so no cache hands a redirect to a script or the JSON to a link.
    expect(String((await get('v1-0-00/chart')).headers['vary'])).toMatch(/\baccept\b/i);
  });

  it('404s an object gone from the store at its version, where a 302 would have sent the client to S3\'s own 404', async () => {
    const { get } = harness({ chartsGone: true });
    const gone = await get('v1-0-00/archive', { accept: 'application/json' });
    expect([gone.statusCode, gone.json<{ code: string }>().code]).toEqual([404, 'ORBIT_ERR_NOT_FOUND']);
    expect((await get('v1-0-00/archive')).statusCode).toBe(302);
    // Refused as the 302 is: an environment the caller may not read, a chart not generated.
    expect((await get('v1-0-00/archive?environment=Development', { user: 'rm1', roles: ['release-manager'], accept: 'application/json' })).statusCode).toBe(404);
    expect((await harness().get('v2-0-00/chart', { accept: 'application/json' })).statusCode).toBe(404);
  });
});

describe('the Helm chart repository of an owner in an environment (/helm/{environment}/{owner})', () => {
  const entriesOf = (body: string): Record<string, { version: string; urls: string[] }[]> => (parseAllDocuments(body)[0]?.toJS() as { entries: Record<string, { version: string; urls: string[] }[]> }).entries;

  it('answers the same bytes while nothing changes, with an ETag a poller sends back for a 304 (found by a probe: generated was the time of asking)', async () => {
    const { helm } = harness();
    const first = await helm('Testing/dev1/index.yaml');
    await new Promise((resolve) => setTimeout(resolve, 5));
    const second = await helm('Testing/dev1/index.yaml');
    expect(second.body).toBe(first.body);
    const etag = String(first.headers['etag']);
    expect(etag).toMatch(/^"[A-Za-z0-9+/=]+"$/);
    expect(first.headers['cache-control']).toBe('private, no-cache');
    const revalidated = await helm('Testing/dev1/index.yaml', { ifNoneMatch: etag });
    expect([revalidated.statusCode, revalidated.body]).toEqual([304, '']);
    // A cache holding two tags sends both; one that holds any sends * (RFC 9110 §13.1.2): neither needs the body again.
    expect((await helm('Testing/dev1/index.yaml', { ifNoneMatch: `"zzz", ${etag}` })).statusCode).toBe(304);
    expect((await helm('Testing/dev1/index.yaml', { ifNoneMatch: '*' })).statusCode).toBe(304);
    expect((await helm('Testing/dev1/index.yaml', { ifNoneMatch: '"zzz", W/"yyy"' })).statusCode).toBe(200);
    // Another repository's index is another entity.
    expect((await helm('Staging/dev1/index.yaml', { ifNoneMatch: etag })).statusCode).toBe(200);
  });

  it('dates an index of no chart by the start of the day, not 1970, and keeps its bytes and ETag while other users upload (found by a review, and a reread)', async () => {
    let state = 'p1';
    const { helm } = harness({ ownerMark: async () => state });
    const generatedOf = (body: string): unknown => (parse(body) as { generated: unknown }).generated;
    const today = startOfUtcDay(new Date());
    // dev1 has nothing in Production; an intruder may see nothing of dev1's anywhere: both are empty indexes.
    const empty = await helm('Production/dev1/index.yaml');
    expect(generatedOf(empty.body)).toBe(today);
    expect(generatedOf((await helm('Testing/dev1/index.yaml', { user: 'intruder' })).body)).toBe(today);
    const etag = String(empty.headers['etag']);
    expect((await helm('Production/dev1/index.yaml', { ifNoneMatch: etag })).statusCode).toBe(304);
    // An index with charts keeps the time its newest one arrived there, whatever ViewPort did since.
    const listed = generatedOf((await helm('Testing/dev1/index.yaml')).body);
    state = 'p2';
    expect(generatedOf((await helm('Testing/dev1/index.yaml')).body)).toBe(listed);
    expect((await helm('Production/dev1/index.yaml', { ifNoneMatch: etag })).statusCode).toBe(304);
  });

  it('dates an empty index by the start of the day where ViewPort says nothing of its changes (a gateway built without it), and answers it 304 while so', async () => {
    const { helm } = harness();
    const first = await helm('Production/dev1/index.yaml');
    const generated = String((parse(first.body) as { generated: unknown }).generated);
    expect(Date.parse(generated)).toBeGreaterThan(Date.parse('2026-01-01T00:00:00Z'));
    expect(Date.parse(generated)).toBeLessThanOrEqual(Date.now());
    await new Promise((resolve) => setTimeout(resolve, 5));
    expect((await helm('Production/dev1/index.yaml', { ifNoneMatch: String(first.headers['etag']) })).statusCode).toBe(304);
  });

  it('answers a poller\'s HEAD with a matching ETag 304 as its GET, and a missing chart 404 even to If-None-Match: * (nothing there is no match)', async () => {
    const { helm } = harness();
    const etag = String((await helm('Testing/dev1/index.yaml')).headers['etag']);
    const head = await helm('Testing/dev1/index.yaml', { method: 'HEAD', ifNoneMatch: etag });
    expect([head.statusCode, head.body]).toEqual([304, '']);
    expect((await helm('Testing/dev1/index.yaml', { method: 'HEAD', ifNoneMatch: '"zzz"' })).statusCode).toBe(200);
    const missing = await helm(`Production/dev1/charts/${UID}/billing-api-1.0.0.tgz`, { ifNoneMatch: '*' });
    expect(missing.statusCode).toBe(404);
    // An error's body is no representation of the chart: no ETag (@fastify/etag tagged every body, 401s and 404s too).
    expect(missing.headers['etag']).toBeUndefined();
    expect((await helm('Testing/dev1/index.yaml', { password: 'not-a-token' })).headers['etag']).toBeUndefined();
  });

  it('answers a 304 with no body and no header about one, to GET and HEAD, plain or gzip\'d (found by a review: Content-Length: 0, Content-Type and Content-Encoding on it)', async () => {
    const { helm } = harness();
    for (const acceptEncoding of [undefined, 'gzip']) {
      const asked = acceptEncoding ? { acceptEncoding } : {};
      const etag = String((await helm('Testing/dev1/index.yaml', asked)).headers['etag']);
      for (const method of ['GET', 'HEAD'] as const) {
        const revalidated = await helm('Testing/dev1/index.yaml', { ...asked, method, ifNoneMatch: etag });
        expect([revalidated.statusCode, revalidated.body, revalidated.headers['etag'], revalidated.headers['cache-control']], `${method} ${String(acceptEncoding)}`)
          .toEqual([304, '', etag, 'private, no-cache']);
        for (const name of BODY_HEADERS) expect(revalidated.headers[name], `${method} ${String(acceptEncoding)}: ${name}`).toBeUndefined();
        expect(revalidated.headers['vary']).toBe('accept-encoding');
      }
    }
  });

  it('refuses a read of the index whose If-Match names no tag it has now with 412, before If-None-Match is looked at (RFC 9110 §13.1.1, §13.2.2)', async () => {
    const { helm } = harness();
    const etag = String((await helm('Testing/dev1/index.yaml')).headers['etag']);
    for (const ifMatch of [etag, `"zzz", ${etag}`, '*']) expect((await helm('Testing/dev1/index.yaml', { ifMatch })).statusCode, ifMatch).toBe(200);
    // Strong comparison: a weak tag names nothing, even the index's own.
    for (const ifMatch of ['"zzz"', `W/${etag}`]) {
      const refused = await helm('Testing/dev1/index.yaml', { ifMatch, ifNoneMatch: etag });
      expect([refused.statusCode, refused.json(), refused.headers['etag']]).toEqual([412, {
        code: 'ORBIT_ERR_BAD_REQUEST', message: expect.stringContaining('If-Match'), problems: [{ field: 'header.if-match', message: 'names no current entity tag' }],
      }, undefined]);
    }
    // The gzip'd index refused: a JSON body, not one said to be gzip'd.
    const zipped = await helm('Testing/dev1/index.yaml', { ifMatch: '"zzz"', acceptEncoding: 'gzip' });
    expect([zipped.statusCode, zipped.headers['content-type'], zipped.headers['content-encoding']]).toEqual([412, 'application/json; charset=utf-8', undefined]);
    expect((await helm('Testing/dev1/index.yaml', { method: 'HEAD', ifMatch: '"zzz"' })).statusCode).toBe(412);
  });

  it('tags a chart with its SHA-256 and answers If-None-Match (304) and If-Match (412) without asking the chart store; a HEAD asks its size alone', async () => {
    const { helm, store } = harness();
    const url = `Testing/dev1/charts/${UID}/billing-api-1.0.0.tgz`;
    // The digest Testing's index lists for it.
    const etag = `"${'cd'.repeat(32)}"`;
    const got = await helm(url);
    expect([got.statusCode, got.headers['etag'], got.headers['cache-control']]).toEqual([200, etag, 'private, no-cache']);
    expect(store).toEqual({ reads: 1, sizes: 0 });
    for (const ifNoneMatch of [etag, `"zzz", W/${etag}`, '*']) {
      for (const method of ['GET', 'HEAD'] as const) {
        const unchanged = await helm(url, { method, ifNoneMatch });
        expect([unchanged.statusCode, unchanged.body, unchanged.headers['etag'], unchanged.headers['cache-control']], `${method} ${ifNoneMatch}`).toEqual([304, '', etag, 'private, no-cache']);
        for (const name of BODY_HEADERS) expect(unchanged.headers[name], `${method} ${ifNoneMatch}: ${name}`).toBeUndefined();
      }
    }
    for (const ifMatch of ['"zzz"', `W/${etag}`]) {
      const refused = await helm(url, { ifMatch, ifNoneMatch: etag });
      expect([refused.statusCode, refused.json().problems[0].field, refused.headers['etag']], ifMatch).toEqual([412, 'header.if-match', undefined]);
    }
    // A stream opened and left unread would hold an S3 connection: none was opened.
    expect(store).toEqual({ reads: 1, sizes: 0 });
    expect((await helm(url, { ifMatch: `"zzz", ${etag}` })).statusCode).toBe(200);
    const head = await helm(url, { method: 'HEAD' });
    expect([head.statusCode, head.body, head.headers['content-length'], head.headers['etag'], head.headers['content-type'], head.headers['content-disposition']])
      .toEqual([200, '', String(chartBytes(testingChart).length), etag, 'application/gzip', 'attachment; filename="billing-api-1.0.0.tgz"']);
    expect(store).toEqual({ reads: 2, sizes: 1 });
    // Listed but gone from the store: HEAD answers the GET's 404.
    const gone = await harness({ chartsGone: true }).helm(url, { method: 'HEAD' });
    expect([gone.statusCode, gone.headers['etag']]).toEqual([404, undefined]);
  });

  it('tags a chart ViewPort holds no SHA-256 of by its stored object\'s version, and a chart there answers If-None-Match: * with 304', async () => {
    const { helm, store } = harness({ chartsUnhashed: true });
    const url = `Testing/dev1/charts/${UID}/billing-api-1.0.0.tgz`;
    expect((await helm(url)).headers['etag']).toBe(`"${String(testingChart.versionId)}"`);
    expect((await helm(url, { ifNoneMatch: `"${String(testingChart.versionId)}"` })).statusCode).toBe(304);
    expect((await helm(url, { ifNoneMatch: '*' })).statusCode).toBe(304);
    expect(store.reads).toBe(1);
  });

  it('renders an index once while ViewPort stays as it was, for each view of it, and sends it gzip\'d to a client that takes gzip (found by a probe: 1 800 versions cost 0.3–0.6 s an ask, a 304 as much)', async () => {
    let projection = 'p1';
    const { helm, searches } = harness({ ownerMark: async () => projection });
    const first = await helm('Testing/dev1/index.yaml');
    const etag = String(first.headers['etag']);
    expect((await helm('Testing/dev1/index.yaml', { ifNoneMatch: etag })).statusCode).toBe(304);
    expect((await helm('Testing/dev1/index.yaml')).body).toBe(first.body);
    expect(searches()).toBe(1);
    // What another caller may see of it is another view: a release manager's, an intruder's (nothing).
    expect(Object.keys(entriesOf((await helm('Staging/dev1/index.yaml', { user: 'rm', roles: ['release-manager'] })).body))).toEqual(['billing-api']);
    expect(entriesOf((await helm('Testing/dev1/index.yaml', { user: 'intruder' })).body)).toEqual({});
    const zipped = await helm('Testing/dev1/index.yaml', { acceptEncoding: 'gzip' });
    expect([zipped.headers['content-encoding'], zipped.headers['vary']]).toEqual(['gzip', 'accept-encoding']);
    expect(gunzipSync(zipped.rawPayload).toString('utf8')).toBe(first.body);
    expect(zipped.headers['etag']).not.toBe(etag);
    const rendered = searches();
    projection = 'p2';
    expect((await helm('Testing/dev1/index.yaml', { ifNoneMatch: etag })).statusCode).toBe(304);
    expect(searches()).toBe(rendered + 1);
  });

  it('lists the owner\'s versions present there whose chart is stored, each URL answering the chart itself, for a user name and token', async () => {
    const { helm, links } = harness();
    const index = await helm('Testing/dev1/index.yaml');
    expect(index.statusCode).toBe(200);
    expect(index.headers['content-type']).toContain('application/yaml');
    const entries = entriesOf(index.body);
    // Testing pulls from a registry of its own: its repository serves the chart packaged for it, with that chart's digest.
    expect(entries).toEqual({ 'billing-api': [expect.objectContaining({ version: '1.0.0', appVersion: 'v1-0-00', digest: 'cd'.repeat(32), urls: [`charts/${UID}/billing-api-1.0.0.tgz`] })] });
    // The bytes, not a redirect: helm passes the repository's Authorization on to a redirect to the same host (MinIO
    // beside the gateway was handed the caller's token, found by a review with helm 3.16), and S3 refuses a presign carrying one.
    const chartFile = await helm(`Testing/dev1/${entries['billing-api']![0]!.urls[0]!}`);
    expect([chartFile.statusCode, chartFile.headers['location'], chartFile.headers['content-type'], chartFile.headers['content-disposition']])
      .toEqual([200, undefined, 'application/gzip', 'attachment; filename="billing-api-1.0.0.tgz"']);
    expect(chartFile.body).toBe(`chart at ${testingChart.bucket}/${testingChart.key}@${String(testingChart.versionId)}`);
    expect(links).toEqual([]);
    // Staging pulls from the upload registry: the version's chart.
    expect(entriesOf((await helm('Staging/dev1/index.yaml')).body)['billing-api']?.[0]).toMatchObject({ digest: 'ab'.repeat(32) });
    expect((await helm(`Staging/dev1/charts/${UID}/billing-api-1.0.0.tgz`)).body).toContain(`/${chart.key}@`);
    // v2 has no chart yet, and Production holds nothing of dev1's.
    expect(entriesOf((await helm('Development/dev1/index.yaml')).body)['billing-api']?.map((entry) => entry.version)).toEqual(['1.0.0']);
    expect(entriesOf((await helm('Production/dev1/index.yaml')).body)).toEqual({});
    expect((await helm(`Production/dev1/charts/${UID}/billing-api-1.0.0.tgz`)).statusCode).toBe(404);
    expect((await helm(`Testing/dev1/charts/${UID}/other-1.0.0.tgz`)).statusCode).toBe(404);
    // Listed, but gone from the chart store: a 404 as S3's own was behind the redirect, not a 500.
    const gone = await harness({ chartsGone: true }).helm(`Testing/dev1/charts/${UID}/billing-api-1.0.0.tgz`);
    expect([gone.statusCode, gone.json().code]).toEqual([404, 'ORBIT_ERR_NOT_FOUND']);
  });

  it('shows another owner\'s charts only in the environments a promotion role reads, and refuses a bad token or environment', async () => {
    const { helm } = harness();
    expect(entriesOf((await helm('Testing/dev1/index.yaml', { user: 'intruder' })).body)).toEqual({});
    expect((await helm(`Testing/dev1/charts/${UID}/billing-api-1.0.0.tgz`, { user: 'intruder' })).statusCode).toBe(404);
    expect(Object.keys(entriesOf((await helm('Staging/dev1/index.yaml', { user: 'rm', roles: ['release-manager'] })).body))).toEqual(['billing-api']);
    expect(entriesOf((await helm('Staging/someone-else/index.yaml', { user: 'rm', roles: ['release-manager'] })).body)).toEqual({});
    const refused = await helm('Testing/dev1/index.yaml', { password: 'not-a-token' });
    // A Basic challenge first: curl --anyauth and repository-manager proxies send a password only once asked for one.
    expect([refused.statusCode, refused.headers['www-authenticate']]).toEqual([401, ['Basic realm="orbit", charset="UTF-8"', expect.stringMatching(/^Bearer realm="orbit", error="invalid_token"/)]]);
    const { app } = harness();
    const anonymous = await app.inject({ method: 'GET', url: `/helm/Testing/dev1/charts/${UID}/billing-api-1.0.0.tgz` });
    expect([anonymous.statusCode, anonymous.headers['www-authenticate']]).toEqual([401, ['Basic realm="orbit", charset="UTF-8"', 'Bearer realm="orbit"']]);
    // The API itself takes bearer tokens only, and says so.
    expect((await app.inject({ method: 'GET', url: `/v1/images/${UID}` })).headers['www-authenticate']).toBe('Bearer realm="orbit"');
    // A malformed chart path is refused as any other without a token, not 400 before authentication.
    expect((await app.inject({ method: 'GET', url: '/helm/Nowhere/dev1/index.yaml' })).statusCode).toBe(401);
    const unknown = await helm('Nowhere/dev1/index.yaml');
    expect([unknown.statusCode, unknown.json().code, unknown.json().message]).toEqual([400, 'UNKNOWN_ENVIRONMENT', 'environment must be one of Development, Testing, Staging, Production, not "Nowhere"']);
    // Any letter case, as every other environment parameter (found by a probe: `development` was a 400 here alone).
    expect(entriesOf((await helm('development/dev1/index.yaml')).body)['billing-api']?.map((entry) => entry.version)).toEqual(['1.0.0']);
    // An owner name as long as a token may carry (255 characters, each two UTF-16 units here) reaches the route, not a 414.
    const longest = '\u{1F600}'.repeat(255);
    const own = await helm(`Testing/${encodeURIComponent(longest)}/index.yaml`, { user: longest });
    expect(own.statusCode).toBe(200);
    expect((await helm(`Testing/dev1/charts/${UID}/${encodeURIComponent(longest.slice(0, 500))}.tgz`)).statusCode).toBe(404);
  });
});

describe('revalidating what /v1 reads answer (ETag, Cache-Control, If-None-Match)', () => {
  const manifests = `/v1/images/${UID}/versions/v1-0-00/manifests?environment=Testing`;
  /** Images, versions, one version, events, requests and transfers (a listing of requests), manifests. */
  const reads = [
    '/v1/images', `/v1/images/${UID}`, `/v1/images/${UID}/versions`, `/v1/images/${UID}/versions/v1-0-00`, `/v1/images/${UID}/events`,
    '/v1/requests', '/v1/requests?kind=transfer', `/v1/requests/${REQUEST_ID}`, manifests,
  ];

  it('tags each read strongly, asks for it to be revalidated, and answers 304 to GET and HEAD when If-None-Match names the tag (a list, weakly, or *)', async () => {
    const { api } = harness();
    for (const url of reads) {
      const first = await api('GET', url);
      const etag = String(first.headers['etag']);
      expect([first.statusCode, etag, first.headers['cache-control']], url).toEqual([200, expect.stringMatching(/^"[A-Za-z0-9+/=]+"$/), 'private, no-cache']);
      for (const ifNoneMatch of [etag, `"zzz", W/${etag}`, '*']) {
        for (const method of ['GET', 'HEAD'] as const) {
          const again = await api(method, url, { headers: { 'if-none-match': ifNoneMatch } });
          expect([again.statusCode, again.body, again.headers['etag'], again.headers['cache-control']], `${method} ${url} ${ifNoneMatch}`).toEqual([304, '', etag, 'private, no-cache']);
          for (const name of BODY_HEADERS) expect(again.headers[name], `${method} ${url}: ${name}`).toBeUndefined();
        }
      }
      expect((await api('GET', url, { headers: { 'if-none-match': '"zzz"' } })).statusCode, url).toBe(200);
    }
    // The YAML of the manifests is another representation, with a tag of its own.
    const yaml = await api('GET', manifests, { headers: { accept: 'application/yaml' } });
    const json = await api('GET', manifests);
    expect(yaml.headers['etag']).not.toBe(json.headers['etag']);
    expect((await api('GET', manifests, { headers: { accept: 'application/yaml', 'if-none-match': String(json.headers['etag']) } })).statusCode).toBe(200);
  });

  it('keeps long polls: GET /v1/requests/{id}?wait= waits, then answers the request tagged, or 304 when the tag is the one held', async () => {
    const { api } = harness();
    const url = `/v1/requests/${REQUEST_ID}?wait=0.2`;
    const started = Date.now();
    const first = await api('GET', url);
    expect(Date.now() - started).toBeGreaterThanOrEqual(150);
    expect([first.statusCode, first.json().status, first.headers['cache-control']]).toEqual([200, 'accepted', 'private, no-cache']);
    const again = await api('GET', url, { headers: { 'if-none-match': String(first.headers['etag']) } });
    expect([again.statusCode, again.body]).toEqual([304, '']);
  });

  it('tags no error and no write, and no answer carrying presigned URLs, which says no-store', async () => {
    const { api } = harness();
    const missing = await api('GET', `/v1/images/${'Z'.repeat(60)}`);
    expect([missing.statusCode, missing.headers['etag']]).toEqual([404, undefined]);
    const refused = await api('GET', `/v1/images/${UID}`, { headers: { authorization: 'Bearer not-a-token' } });
    expect([refused.statusCode, refused.headers['etag']]).toEqual([401, undefined]);
    const malformed = await api('GET', '/v1/images?limit=0');
    expect([malformed.statusCode, malformed.headers['etag']]).toEqual([400, undefined]);
    const resumed = await api('GET', `/v1/uploads/${UPLOAD_ID}/parts`);
    expect([resumed.statusCode, resumed.headers['cache-control'], resumed.headers['etag']]).toEqual([200, 'no-store', undefined]);
    // Fresh URLs each time, whatever the client holds.
    expect((await api('GET', `/v1/uploads/${UPLOAD_ID}/parts`, { headers: { 'if-none-match': '*' } })).statusCode).toBe(200);
    const presigned = await api('POST', '/v1/uploads/presign', { payload: { sizeBytes: 10 } });
    expect([presigned.statusCode, presigned.headers['cache-control'], presigned.headers['etag']]).toEqual([201, 'no-store', undefined]);
    const link = await api('GET', `/v1/images/${UID}/versions/v1-0-00/archive`);
    expect([link.statusCode, link.headers['cache-control'], link.headers['etag']]).toEqual([302, 'no-store', undefined]);
    const kustomize = await api('GET', `/v1/images/${UID}/versions/v1-0-00/kustomize`);
    expect([kustomize.statusCode, kustomize.headers['cache-control'], kustomize.headers['etag']]).toEqual([200, 'no-store', undefined]);
  });
});
