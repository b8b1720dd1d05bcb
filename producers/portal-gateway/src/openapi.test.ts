import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { readFileSync } from 'node:fs';
import { TOPICS } from '@orbit/lib';
import { sampleEvents } from '@orbit/schemas';
import { planProjection } from '../../../consumers/viewport-projector/src/plan.js';
import { openApiContract, type OpenApiDocument } from '../../../test/helpers/openapi-contract.js';
import { buildApp, MAX_PARAM_LENGTH } from './app.js';
import { issueLocalToken, tokenVerifier } from './auth.js';
import { CONDITIONAL_READS } from './openapi-app-answers.js';
import type { ImageView, PresignedUpload, RequestRecord } from './ports.js';
import { chartedOf, chartOf, oneVersionOf, outlineOf, overviewOf, versionsPageOf } from './testing/versions-page.js';

const auth = { secret: 'openapi-test-secret-0123456789abcdef', issuer: 'orbit-local', audience: 'orbit' };

/**
 * What in a pattern RE2 (Go's regexp: kin-openapi, oapi-codegen's validators) does not read, and ECMAScript does:
 * lookaround, backreferences, atomic groups, \u escapes. One such pattern and kin-openapi refused the whole document.
 */
function re2Unreadable(pattern: string): string | undefined {
  let inClass = false;
  for (let at = 0; at < pattern.length; at += 1) {
    const char = pattern[at];
    if (char === '\\') {
      const next = pattern[at + 1] ?? '';
      if (/[1-9]/.test(next) && !inClass) return `backreference \\${next}`;
      if (next === 'k' && !inClass) return 'named backreference \\k';
      if (next === 'u' || next === 'c') return `escape \\${next}`;
      // RE2's \s is ASCII white space alone, ECMAScript's all that trim() removes: the same pattern, two rules.
      if (next === 's' || next === 'S') return `class \\${next}, which RE2 reads as ASCII only`;
      at += 1;
    } else if (char === '[') {
      inClass = true;
    } else if (char === ']') {
      inClass = false;
    } else if (char === '(' && !inClass && pattern[at + 1] === '?') {
      const group = pattern.slice(at, at + 4);
      if (/^\(\?(?:[=!>]|<[=!])/.test(group)) return `group ${group}`;
    }
  }
  return undefined;
}

/** Every `pattern` in `node`, with the `example` beside it, if any. */
function patternsIn(node: unknown, at = ''): { at: string; pattern: string; example?: unknown }[] {
  if (Array.isArray(node)) return node.flatMap((item, index) => patternsIn(item, `${at}/${index}`));
  if (node === null || typeof node !== 'object') return [];
  const schema = node as Record<string, unknown>;
  const own = typeof schema['pattern'] === 'string' ? [{ at, pattern: schema['pattern'], ...('example' in schema ? { example: schema['example'] } : {}) }] : [];
  return [...own, ...Object.entries(schema).flatMap(([key, value]) => (key === 'pattern' ? [] : patternsIn(value, `${at}/${key}`)))];
}
const UID = 'A'.repeat(60);
/** An upload in parts that still lacks its second part. */
const RESUMABLE = '00000000-0000-4000-8000-00000000000a';
/** When the URLs last signed for RESUMABLE stop working. */
const RESUMABLE_EXPIRES = new Date('2026-12-07T04:00:00.000Z');
/** An id no presign gave out. */
const NEVER_PRESIGNED = '00000000-0000-4000-8000-000000000009';
/** A version the image below does not have yet (v1-0-00 it has: an upload of that is a 409). */
const metadata = { imageName: 'billing-api', imageVersion: 'v1-1-00', port: 8080 };

/**
 * A version as ViewPort holds it once stored, charted and promoted: the viewport-projector's own meta rows for the
 * sample events (uploaded by reference, with its acceptance time and validation notes), read back as the gateway's
 * reader reads them (stores/mysql-images.ts: versionsOf, then withFactsNotKept).
 */
function projectedVersion(): Record<string, unknown> {
  const events = sampleEvents(UID, '00000000-0000-4000-8000-0000000000f1');
  const sample = events[TOPICS.imageStored];
  const stored = {
    ...sample, pulledFrom: 'registry.example.com/billing-api:1.0.0', requestedAt: sample.occurredAt - 1000,
    image: { ...sample.image, validationNotes: ['took linux/amd64 of the index'] },
  };
  const { plan } = planProjection([
    { topic: TOPICS.imageStored, event: stored }, { topic: TOPICS.chartGenerated, event: events[TOPICS.chartGenerated] }, { topic: TOPICS.chartPromoted, event: events[TOPICS.chartPromoted] },
  ], new Map());
  const [guid, post] = [...plan.posts].find(([, planned]) => planned.insert?.type === 'orbit_image_version') ?? [];
  if (guid === undefined || post?.insert === undefined) throw new Error('the projector planned no version post');
  // As the reader parses meta_value: lists and objects as JSON, the size as a number, other text as it is.
  const meta = Object.fromEntries([...plan.meta.get(guid) ?? []].map(([key, value]) => [key,
    key === 'sizeBytes' ? Number(value) : typeof value === 'string' && /^[[{]/.test(value) ? JSON.parse(value) as unknown : value]));
  const version: Record<string, unknown> = { imageVersion: post.insert.name, status: post.status, createdAt: post.insert.created.toISOString(), ...meta };
  return { ...version, imageReference: version['imageReference'] ?? null, imageTag: version['imageTag'] ?? null, archiveCompression: version['archiveCompression'] ?? null, chartSha256: version['chartSha256'] ?? null };
}

/**
 * The keys of `body` (at any depth) that its schema does not declare in `properties`: a generated client drops them,
 * even where additionalProperties lets them through a validator. `$ref`s are read in `schemas`; a union declares what
 * any of its members does; a schema without properties (an open payload, a map) declares any key.
 */
function undeclaredKeys(body: unknown, schema: unknown, schemas: Record<string, unknown>, at = ''): string[] {
  if (schema === null || typeof schema !== 'object' || body === null || typeof body !== 'object') return [];
  const ref = (schema as { $ref?: string }).$ref;
  if (ref !== undefined) return undeclaredKeys(body, schemas[ref.replace('#/components/schemas/', '')], schemas, at);
  const { properties, items, anyOf, oneOf, additionalProperties } = schema as {
    properties?: Record<string, unknown>; items?: unknown; anyOf?: unknown[]; oneOf?: unknown[]; additionalProperties?: unknown;
  };
  const members = anyOf ?? oneOf;
  if (members) {
    // Of the members that fit best: the one leaving fewest keys undeclared.
    return members.map((member) => undeclaredKeys(body, member, schemas, at)).sort((a, b) => a.length - b.length)[0] ?? [];
  }
  if (Array.isArray(body)) return body.flatMap((item, index) => undeclaredKeys(item, items, schemas, `${at}/${index}`));
  return Object.entries(body).flatMap(([key, value]) => {
    if (properties !== undefined) {
      return key in properties ? undeclaredKeys(value, properties[key], schemas, `${at}/${key}`) : [`${at}/${key}`];
    }
    return typeof additionalProperties === 'object' ? undeclaredKeys(value, additionalProperties, schemas, `${at}/${key}`) : [];
  });
}

/** A gateway on in-memory stores: what matters here is what goes over HTTP. */
function gateway(publicBaseUrl?: string, versions?: readonly Record<string, unknown>[]) {
  const requests = new Map<string, RequestRecord>();
  const image: ImageView = {
    imageUID: UID, owner: 'dev1', imageName: 'billing-api', description: '', environments: ['Development'],
    versions: versions ?? [
      { imageVersion: 'v1-0-00', status: 'ready', environments: ['Development'], digest: 'sha256:abc', sizeBytes: 10, layers: [] },
      {
        imageVersion: 'v0-9-00', status: 'ready', environments: ['Development', 'Testing'], digest: 'sha256:abd', sizeBytes: 10, layers: [],
        s3Location: { bucket: 'app-image-1206-bkt-k8d-aws', key: `${UID}-v0-9-00.tar`, versionId: 'v1' },
        promotions: {
          Testing: { requestId: 'r1', promotedAt: '2026-12-01T10:00:00.000Z', promotedBy: 'dev1', notes: null, s3Location: { bucket: 'app-image-1209-bkt-k8t-aws', key: `${UID}-v0-9-00.tar`, versionId: null }, sha256: 'e'.repeat(64) },
        },
      },
    ],
  };
  const record = (request: Omit<RequestRecord, 'status' | 'error'>) => requests.set(request.requestId, { ...request, status: 'accepted', error: null, createdAt: new Date(), updatedAt: new Date() });
  const app = buildApp({
    ready: async () => true, metrics: new Registry(), verify: tokenVerifier({ kind: 'hs256', ...auth }),
    uploads: {
      stage: async (owner, uploadId, body) => {
        for await (const chunk of body) void chunk;
        return { bucket: 'staging', key: `${owner}/${uploadId}`, versionId: null, sizeBytes: 1, sha256: null };
      },
      presign: async (_owner, _uploadId, sizeBytes): Promise<PresignedUpload> => (sizeBytes === null
        ? { url: 'http://s3/put', method: 'PUT', headers: { 'x-amz-server-side-encryption': 'AES256' }, expiresAt: new Date().toISOString() }
        : { parts: [{ partNumber: 1, url: 'http://s3/part1', sizeBytes }], partSizeBytes: sizeBytes, method: 'PUT', headers: {}, expiresAt: new Date().toISOString() }),
      find: async () => undefined,
      resume: async (_owner, uploadId) => (uploadId === RESUMABLE ? { parts: [{ partNumber: 2, url: 'http://s3/part2', sizeBytes: 7 }], partSizeBytes: 10, method: 'PUT', headers: {}, expiresAt: new Date().toISOString() } : undefined),
      discard: async () => undefined,
      abandon: async () => 'unknown' as const, givenUp: async () => false,
      // Every id but NEVER_PRESIGNED was presigned: RESUMABLE in parts, with when its URLs expire, the others as one PUT.
      presignedWith: async (_owner, uploadId) => (uploadId === NEVER_PRESIGNED ? undefined : uploadId === RESUMABLE ? { sizeBytes: 17, expiresAt: RESUMABLE_EXPIRES } : { sizeBytes: null }),
    },
    names: { uidFor: async () => UID, peek: async () => UID },
    requests: {
      get: async (id) => requests.get(id), finishedAmong: async () => new Set(),
      // Filtered as MySQL filters: the gateway asks the store for one version's uploads and reads what it answers.
      list: async ({ owner, limit, kind, status, imageUID, imageVersion }) => {
        const mine = [...requests.values()].filter((request) => request.owner === owner && [[kind, request.kind], [status, request.status], [imageUID, request.imageUID], [imageVersion, request.imageVersion]]
          .every(([asked, held]) => asked === undefined || asked === held));
        const last = mine[limit - 1];
        return { requests: mine.slice(0, limit), ...(mine.length > limit && last?.createdAt ? { next: { createdAt: last.createdAt, requestId: last.requestId } } : {}) };
      },
    },
    events: {
      byCorrelationId: async (id) => [{ pid: 'c8fms03-c8bms06-e10', eventType: 'upload-requested', at: '2026-11-30T10:00:00.000Z', correlationId: id }],
      byImageUID: async () => ({ entries: [{ pid: 'c8fms03-c8bms06-e10', eventType: 'upload-requested', at: '2026-11-30T10:00:00.000Z', correlationId: 'r', payload: { any: 'thing' } }], next: { eventKey: 'k', pid: 'p' } }),
    },
    images: {
      get: async (uid) => (uid === UID ? image : undefined),
      // A Helm index reads every page (it asks with no `newest`): for it the one page is the last.
      search: async (query) => (query.newest === undefined
        ? { images: [image] }
        : { images: [overviewOf(image, { viewer: query.owner, readable: [], newest: query.newest }) ?? image], next: { imageName: 'billing-api', imageUID: UID } }),
      getVersion: async (uid, version) => oneVersionOf(uid === UID ? image : undefined, version),
      versionsPage: async (uid, page) => versionsPageOf(uid === UID ? image : undefined, { ...page, limit: 1 }),
      overview: async (uid, query) => overviewOf(uid === UID ? image : undefined, query),
      outline: async (uid, query) => outlineOf(uid === UID ? image : undefined, query),
      getChart: async (uid, fileName) => chartOf(uid === UID ? image : undefined, fileName),
      charted: async (owner, environment) => chartedOf([image], owner, environment),
    },
    deployables: {
      manifests: async (environment) => [{ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'billing-api-env', namespace: `orbit-${environment.toLowerCase()}` }, data: {} }],
      downloadUrl: async (object) => ({ url: `http://s3/${object.bucket}/${object.key}?X-Amz-Signature=s`, expiresAt: new Date().toISOString() }),
      read: async () => ({ body: Readable.from([Buffer.from('chart')]), sizeBytes: 5 }),
      sizeOf: async () => 5,
      kustomization: async (environment) => ({ files: new Map([['base/kustomization.yaml', 'resources: []\n'], [`overlays/${environment.toLowerCase()}/kustomization.yaml`, 'resources:\n  - ../../base\n']]), imageReference: null }),
    },
    versionStored: async (uid, version) => (uid === UID && image.versions.some((entry) => entry['imageVersion'] === version) ? version : undefined),
    publish: { uploadRequested: async (_event, _trace, request) => void record(request) },
    transfers: {
      claims: { claim: async (_target, request) => { record(request); return { requestId: request.requestId, status: null }; }, find: async () => undefined },
      publish: { transferRefused: async (_event, _trace, request) => void record(request) },
      policy: { chain: ['Development', 'Testing', 'Staging', 'Production'], roles: new Map([['Production', 'release-manager']]) },
    },
    maxUploadBytes: 1024,
    ...(publicBaseUrl ? { publicBaseUrl } : {}),
  });
  return app;
}

describe('the OpenAPI document at /docs/json', async () => {
  const app = gateway();
  const document = (await app.inject('/docs/json')).json() as OpenApiDocument;
  const contract = openApiContract(document);
  const token = await issueLocalToken(auth, 'dev1', []);
  const headers = { authorization: `Bearer ${token}` };

  const components = (document as OpenApiDocument & { components: { schemas: Record<string, Record<string, unknown>> } }).components.schemas;
  const schemaNamed = (name: string): Record<string, unknown> | undefined => components[name];
  /** A schema, or the component its `$ref` names. */
  const resolved = (schema: object | undefined): Record<string, unknown> | undefined => {
    const ref = (schema as { $ref?: string } | undefined)?.$ref;
    return ref === undefined ? schema as Record<string, unknown> | undefined : schemaNamed(ref.replace('#/components/schemas/', ''));
  };
  const operations = Object.entries(document.paths).flatMap(([path, methods]) => Object.entries(methods).map(([method, operation]) => ({ path, method, operation })));

  /** The answer, checked against what the document promises for its path, method and status. */
  async function conforms(method: 'GET' | 'POST' | 'DELETE', url: string, init: { payload?: object | string; headers?: Record<string, string> } = {}): Promise<{ status: number; body: Record<string, unknown> }> {
    const response = await app.inject({ method, url, headers: { ...headers, ...init.headers }, ...(init.payload !== undefined ? { payload: init.payload } : {}) });
    const body = response.json() as Record<string, unknown>;
    expect(contract.check(method, url, response.statusCode, body)).toBeUndefined();
    return { status: response.statusCode, body };
  }

  it('names the gateway\'s public address as its server, so a generated client calls it and not http://localhost', async () => {
    const behindSlash = gateway('https://orbit.example.com/');
    const published = (await behindSlash.inject('/docs/json')).json() as OpenApiDocument & { servers?: unknown };
    expect(published.servers).toEqual([{ url: 'https://orbit.example.com' }]);
    // The trailing slash of PUBLIC_BASE_URL is no empty path segment in the statusUrl.
    const accepted = await behindSlash.inject({ method: 'POST', url: '/v1/uploads/references', headers, payload: { metadata, reference: 'r.example/a:1' } });
    expect(accepted.json()).toMatchObject({ statusUrl: expect.stringMatching(/^https:\/\/orbit\.example\.com\/v1\/requests\/[0-9a-f-]{36}$/) as unknown });
    // Without one the document says nothing, and OpenAPI's default, the host that served it, holds.
    expect((document as OpenApiDocument & { servers?: unknown }).servers).toBeUndefined();
  });

  it('takes a search\'s cursor only with the filters it came with (found by a probe: with other filters it gave a short page, read as the end)', async () => {
    const first = (await app.inject({ url: '/v1/images?q=billing&environment=development', headers })).json() as { nextCursor: string };
    const same = await app.inject({ url: `/v1/images?environment=Development&q=billing&cursor=${first.nextCursor}`, headers });
    expect(same.statusCode).toBe(200);
    for (const query of ['q=bill', '', 'q=billing&category=x', 'q=billing&environment=Testing']) {
      const other = await app.inject({ url: `/v1/images?${query}&cursor=${first.nextCursor}`, headers });
      expect([other.statusCode, other.json().problems?.[0]?.field], query).toEqual([400, 'querystring.cursor']);
    }
  });

  it('is OpenAPI 3 and documents the request bodies of the upload routes', () => {
    expect(document.openapi).toMatch(/^3\./);
    const upload = document.paths['/v1/uploads']?.['post'];
    expect(JSON.stringify(upload?.requestBody?.content['multipart/form-data']?.schema)).toContain('"format":"binary"');
    expect(JSON.stringify(document.paths['/v1/uploads/references']?.['post']?.requestBody?.content['application/json']?.schema)).toContain('"reference"');
    expect(document.paths['/v1/uploads/{id}/complete']?.['post']?.requestBody).toBeDefined();
    // Environments as the routes take them, in any letter case: a generated client or a fuzzer sends no other.
    const environments = Object.values(document.paths).flatMap((methods) => Object.values(methods ?? {}))
      .flatMap((operation) => ((operation as { parameters?: { name: string; schema?: { pattern?: string } }[] }).parameters ?? []).filter((parameter) => parameter.name === 'environment'));
    expect(environments.length).toBeGreaterThanOrEqual(5);
    for (const parameter of environments) {
      const pattern = new RegExp(parameter.schema?.pattern ?? '');
      expect(['Testing', 'testing', 'PRODUCTION', 'Development', ' Testing ', 'Testing\u00a0'].every((name) => pattern.test(name))).toBe(true);
      expect(['0', 'Test', 'Testings', ''].some((name) => pattern.test(name))).toBe(false);
    }
    expect(JSON.stringify(document.paths['/v1/images/{uid}/transfers']?.['post']?.requestBody)).toContain('[tT][eE][sS][tT][iI][nN][gG]');
    // Numbers in query strings are taken in decimal digits only, and the document says so.
    const waitParameter = (document.paths['/v1/requests/{id}']?.['get'] as { parameters?: { name: string; description?: string }[] } | undefined)?.parameters?.find((parameter) => parameter.name === 'wait');
    expect(waitParameter?.description).toContain('in decimal digits');
    // A presign sent again with its key says so as the uploads do (found by a probe).
    expect(JSON.stringify(document.paths['/v1/uploads/presign']?.['post']?.responses?.['200'])).toContain('Idempotent-Replayed');
    // The router's pattern for the id stays out of the path the document names.
    expect(Object.keys(document.paths['/v1/uploads/{id}'] ?? {})).toEqual(['get', 'delete']);
    expect(Object.keys(document.paths).filter((path) => path.includes('(') || path.includes('^'))).toEqual([]);
  });

  it('says what generated clients need to read every answer: media types, headers, nulls, 64-bit sizes (found by a probe with four generators)', () => {
    const raw = JSON.parse(JSON.stringify(document)) as { paths: Record<string, Record<string, { responses: Record<string, { content?: Record<string, unknown>; headers?: Record<string, unknown> }>; requestBody?: unknown }>> };
    const version = '/v1/images/{uid}/versions/{version}';
    // A generator reads application/json as text and crashed on the gzip bytes.
    expect(Object.keys(raw.paths[`${version}/kustomize`]!['get']!.responses['200']!.content!)).toEqual(['application/gzip']);
    expect(Object.keys(raw.paths[`${version}/manifests`]!['get']!.responses['200']!.content!)).toEqual(['application/json', 'application/yaml']);
    // The link's expiry, which the redirect carries beside it (found by a review: undocumented), and the object's SHA-256
    // as ViewPort recorded it (found by a review: a client had only S3's forgeable x-amz-meta-orbit-sha256 to check by).
    for (const download of ['chart', 'archive']) {
      expect(Object.keys(raw.paths[`${version}/${download}`]!['get']!.responses['302']!.headers!)).toEqual(['Location', 'X-Orbit-Link-Expires', 'X-Checksum-Sha256', 'Repr-Digest']);
    }
    // A transfer sent again with its Idempotency-Key says so as the uploads do.
    expect(Object.keys(raw.paths['/v1/images/{uid}/transfers']!['post']!.responses['200']!.headers ?? {})).toContain('Idempotent-Replayed');
    expect(Object.keys(raw.paths['/v1/uploads']!['post']!.responses['200']!.headers!)).toContain('Idempotent-Replayed');
    expect(Object.keys(raw.paths['/v1/uploads']!['post']!.responses['401']!.headers!)).toEqual(['WWW-Authenticate']);
    // Location: what a presign's 201 opened, and where each 202 is followed (RFC 9110 §15.3.2).
    expect(Object.keys(raw.paths['/v1/uploads/presign']!['post']!.responses['201']!.headers ?? {})).toEqual(['Location']);
    // The 201's Location names the upload as the resource GET /v1/uploads/{id} answers (found by a review: that GET was a 405).
    expect(JSON.stringify(raw.paths['/v1/uploads/presign']!['post']!.responses['201']!.headers)).toContain('GET it for the upload\'s state');
    expect(Object.keys(raw.paths['/v1/uploads/{id}']!['get']!.responses).sort()).toEqual(['200', '304', '400', '401', '404', '412', '414', '415', '431', '501', '503']);
    for (const [path, method] of [['/v1/uploads', 'post'], ['/v1/uploads/references', 'post'], ['/v1/uploads/{id}/complete', 'post'], ['/v1/images/{uid}/transfers', 'post']] as const) {
      expect(Object.keys(raw.paths[path]![method]!.responses['202']!.headers ?? {}), path).toEqual(['Location']);
    }
    const text = JSON.stringify(raw);
    // OpenAPI 3.0 reads nullable only beside a type: port may be sent as null.
    expect(text).not.toMatch(/"nullable":true,"anyOf"/);
    expect(JSON.stringify(schemaNamed('Port'))).toMatch(/^\{"anyOf":\[\{"type":"integer"[^}]*"nullable":true/);
    // A 7 GiB upload's size is no 32-bit integer.
    expect(JSON.stringify(raw.paths['/v1/uploads/presign']!['post']!.requestBody)).toContain('"format":"int64"');
  });

  it('publishes the patterns the routes check in code: Idempotency-Key, cursors, references', () => {
    const parameter = (path: string, method: string, name: string) => document.paths[path]?.[method]?.parameters?.find((entry) => entry.name === name)?.schema;
    const keyPattern = new RegExp(String(parameter('/v1/uploads', 'post', 'idempotency-key')?.['pattern']));
    expect(['8e03978e-40d5-43e8-bc93-6894a57f9324', '"quoted key"'].map((key) => keyPattern.test(key))).toEqual([true, true]);
    expect(['', '""', 'schlüssel'].map((key) => keyPattern.test(key))).toEqual([false, false, false]);
    for (const path of ['/v1/images', '/v1/requests', '/v1/images/{uid}/events']) expect(parameter(path, 'get', 'cursor')?.['pattern'], path).toBe('^[A-Za-z0-9_-]+$');
    const reference = (document.paths['/v1/uploads/references']?.['post']?.requestBody?.content['application/json']?.schema as { properties: Record<string, { pattern: string }> }).properties['reference'];
    expect(['', 'nginx:1.27', 'docker.io/library/nginx:1.27'].map((text) => new RegExp(reference?.pattern ?? '').test(text))).toEqual([false, false, true]);
  });

  it('documents how an upload pins its archive by SHA-256: sha256 at completion, X-Checksum-Sha256 on a multipart upload, each with the forms the gateway takes', async () => {
    const completion = (document.paths['/v1/uploads/{id}/complete']?.['post']?.requestBody?.content['application/json']?.schema as { properties: Record<string, { pattern: string }>; required: string[] });
    const header = document.paths['/v1/uploads']?.['post']?.parameters?.find((entry) => entry.name === 'x-checksum-sha256')?.schema as { pattern: string } | undefined;
    for (const pattern of [completion.properties['sha256']?.pattern, header?.pattern]) {
      const taken = new RegExp(pattern ?? '^$');
      expect(['ab'.repeat(32), 'AB'.repeat(32), `sha256:${'ab'.repeat(32)}`].map((text) => taken.test(text))).toEqual([true, true, true]);
      expect(['ab'.repeat(31), `md5:${'ab'.repeat(32)}`, ''].map((text) => taken.test(text))).toEqual([false, false, false]);
    }
    expect(completion.required).toEqual(['metadata']);
    expect((await conforms('POST', '/v1/uploads/00000000-0000-4000-8000-000000000001/complete', { payload: { metadata: { imageName: 'app', imageVersion: 'v1-0-00' }, sha256: 'nope' } })).status).toBe(400);
  });

  it('documents S3\'s x-amz-checksum-sha256 and -sha1 on a multipart upload, in the base64 form S3 takes (found by a review: a wrong one was ignored)', () => {
    const header = (name: string) => document.paths['/v1/uploads']?.['post']?.parameters?.find((entry) => entry.in === 'header' && entry.name === name) as { schema?: { pattern?: string }; description?: string } | undefined;
    const digestOf = (algorithm: string) => createHash(algorithm).update('archive').digest('base64');
    for (const [name, algorithm] of [['x-amz-checksum-sha256', 'sha256'], ['x-amz-checksum-sha1', 'sha1']] as const) {
      const taken = new RegExp(header(name)?.schema?.pattern ?? '^$');
      expect([digestOf(algorithm), createHash(algorithm).update('archive').digest('hex'), digestOf(algorithm === 'sha1' ? 'sha256' : 'sha1'), ''].map((text) => taken.test(text)), name).toEqual([true, false, false, false]);
    }
    expect(JSON.stringify(header('x-amz-checksum-sha256'))).toContain('x-amz-checksum-crc32');
  });

  it('writes every pattern so that RE2 reads it as ECMAScript does (kin-openapi refused the document over a lookahead), and each pattern takes the example beside it', () => {
    const patterns = patternsIn(document);
    expect(patterns.length).toBeGreaterThan(20);
    for (const { at, pattern, example } of patterns) {
      expect(re2Unreadable(pattern), `${at}: ${pattern}`).toBeUndefined();
      // JSON Schema reads a pattern as ECMAScript with the u flag.
      const compiled = new RegExp(pattern, 'u');
      if (example !== undefined) expect(compiled.test(String(example)), `${at}: ${String(example)}`).toBe(true);
    }
    // The label key's (in the metadata, a component held once) and the reference's.
    expect(patterns.filter(({ example }) => example !== undefined).length).toBeGreaterThanOrEqual(2);
    // The checker itself: what RE2 refuses, and what it takes.
    expect(['^(?=a)b', '(?!x)', '(?<=a)', '(?<!a)', '(a)\\1', '\\u00a0', '(?>a)', '^\\s*a'].map(re2Unreadable).every((found) => found !== undefined)).toBe(true);
    expect(['^(?:a|b)$', '[(?=]', '\\(?=', '^(a)?\\.b$', '[\\t\\xA0]'].map(re2Unreadable)).toEqual([undefined, undefined, undefined, undefined, undefined]);
  });

  it('takes environments in every case and white space trim() removes, which RE2 reads alike (its \\s is ASCII only)', () => {
    const parameter = document.paths['/v1/images/{uid}/versions/{version}/manifests']?.['get']?.parameters?.find((entry) => entry.name === 'environment');
    const pattern = new RegExp(String(parameter?.schema?.['pattern']), 'u');
    const trimmed = Array.from({ length: 0x10000 }, (_, code) => String.fromCharCode(code)).filter((char) => char.trim() === '');
    expect(trimmed.length).toBeGreaterThan(20);
    for (const space of trimmed) expect(pattern.test(`${space}Testing${space}`), `U+${space.charCodeAt(0).toString(16)}`).toBe(true);
    expect(['Testing\u200b', '\u200bTesting', 'Test ing'].some((name) => pattern.test(name))).toBe(false);
  });

  it('gives each operation one request media type, so a generated client sends the one the route reads', () => {
    const bodies = Object.values(document.paths).flatMap((methods) => Object.values(methods)).flatMap((operation) => (operation.requestBody ? [operation.requestBody] : []));
    expect(bodies.length).toBeGreaterThanOrEqual(4);
    for (const body of bodies) expect(Object.keys(body.content)).toHaveLength(1);
  });

  it('links each upload and transfer answer to the request it started (and the image), and listings and images to what they name, by fields the answer has', () => {
    const operations = Object.values(document.paths).flatMap((methods) => Object.values(methods));
    const ids = new Set(operations.map((operation) => operation.operationId));
    const links = operations.flatMap((operation) => Object.entries(operation.responses).flatMap(([status, response]) => {
      const described = response as { links?: Record<string, { operationId: string; parameters: Record<string, string> }>; content?: Record<string, { schema?: { properties?: Record<string, unknown> } }> };
      return Object.values(described.links ?? {}).map((link) => ({ from: `${operation.operationId} ${status}`, link, fields: Object.keys(resolved(described.content?.['application/json']?.schema)?.['properties'] ?? {}) }));
    }));
    expect(new Set(links.map(({ from }) => from.split(' ')[0]))).toEqual(new Set(['uploadImage', 'uploadFromRegistry', 'completeUpload', 'transferImage', 'presignUpload', 'searchImages', 'listRequests', 'getImage']));
    for (const { from, link, fields } of links) {
      expect(ids.has(link.operationId), from).toBe(true);
      for (const expression of Object.values(link.parameters)) expect(fields, `${from} -> ${expression}`).toContain(expression.replace('$response.body#/', '').split('/')[0]);
    }
  });

  it('names every operation once, so generated clients get methods like transferImage()', () => {
    const ids = Object.values(document.paths).flatMap((methods) => Object.values(methods).map((operation) => operation.operationId));
    expect(ids.length).toBeGreaterThanOrEqual(8);
    expect(ids.every((id) => typeof id === 'string' && /^[a-z][A-Za-z]+$/.test(id))).toBe(true);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('describes every answer of the upload and request routes, success and refusal', async () => {
    const form = (parts: string) => ({ payload: parts, headers: { 'content-type': 'multipart/form-data; boundary=b' } });
    const part = (name: string, body: string, filename?: string) => `--b\r\nContent-Disposition: form-data; name="${name}"${filename ? `; filename="${filename}"` : ''}\r\nContent-Type: ${filename ? 'application/x-tar' : 'application/json'}\r\n\r\n${body}\r\n`;
    const accepted = await conforms('POST', '/v1/uploads', form(`${part('metadata', JSON.stringify(metadata))}${part('image', 'tar', 'a.tar')}--b--\r\n`));
    expect(accepted.status).toBe(202);
    expect((await conforms('POST', '/v1/uploads/references', { payload: { metadata, reference: '127.0.0.1:5000/team/app:1' } })).status).toBe(202);
    expect((await conforms('POST', '/v1/uploads/references', { payload: { metadata: { ...metadata, port: 'x' }, reference: 'r.example/a:1' } })).status).toBe(400);
    expect((await conforms('POST', '/v1/uploads/references', { payload: { metadata, reference: 'no tag' } })).status).toBe(400);
    expect((await conforms('POST', '/v1/uploads/references', { payload: { metadata: { ...metadata, imageVersion: 'v1-0-00' }, reference: 'r.example/a:1' } })).status).toBe(409);
    // The same JSON is still taken at /v1/uploads, where curl users have sent it.
    expect((await conforms('POST', '/v1/uploads', { payload: { metadata, reference: '127.0.0.1:5000/team/app:1' } })).status).toBe(202);
    expect((await conforms('POST', '/v1/uploads', { headers: { authorization: 'Bearer nope' }, payload: { metadata } })).status).toBe(401);
    expect((await conforms('POST', '/v1/uploads', form(`${part('metadata', JSON.stringify(metadata))}${part('image', 'x'.repeat(4096), 'a.tar')}--b--\r\n`))).status).toBe(413);
    expect((await conforms('POST', '/v1/uploads/presign')).status).toBe(201);
    expect((await conforms('POST', '/v1/uploads/presign', { payload: { sizeBytes: 1000 } })).status).toBe(201);
    expect((await conforms('POST', '/v1/uploads/presign', { payload: { sizeBytes: 10 ** 9 } })).status).toBe(413);
    expect((await conforms('POST', '/v1/uploads/presign', { payload: { sizeBytes: -1 } })).status).toBe(400);
    // expiresAt is in the document's UploadState, or the answer's serializer would drop it.
    expect((await conforms('GET', `/v1/uploads/${RESUMABLE}`)).body).toMatchObject({ state: 'open', sizeBytes: 17, expiresAt: RESUMABLE_EXPIRES.toISOString(), partsUrl: `/v1/uploads/${RESUMABLE}/parts` });
    expect((await conforms('GET', `/v1/uploads/${NEVER_PRESIGNED}`)).status).toBe(404);
    expect((await conforms('GET', '/v1/uploads/not-a-uuid')).status).toBe(400);
    expect((await conforms('GET', `/v1/uploads/${RESUMABLE}`, { headers: { authorization: 'Bearer nope' } })).status).toBe(401);
    expect((await conforms('GET', `/v1/uploads/${RESUMABLE}/parts`)).status).toBe(200);
    expect((await conforms('GET', '/v1/uploads/00000000-0000-4000-8000-000000000009/parts')).status).toBe(404);
    expect((await conforms('POST', '/v1/uploads/00000000-0000-4000-8000-000000000009/complete', { payload: { metadata } })).status).toBe(409);
    expect((await conforms('POST', '/v1/uploads/not-a-uuid/complete', { payload: { metadata } })).status).toBe(400);

    const id = String(accepted.body['requestId']);
    expect((await conforms('GET', `/v1/requests/${id}`)).status).toBe(200);
    expect((await conforms('GET', `/v1/requests/${id}?wait=999`)).status).toBe(400);
    expect((await conforms('GET', '/v1/requests/00000000-0000-4000-8000-000000000009')).status).toBe(404);
    const first = await conforms('GET', '/v1/requests?limit=1');
    expect((first.body['requests'] as unknown[]).length).toBe(1);
    expect((await conforms('GET', `/v1/requests?limit=1&cursor=${String(first.body['nextCursor'])}`)).status).toBe(200);
    expect((await conforms('GET', '/v1/requests?kind=transfer&status=failed')).status).toBe(200);
    expect((await conforms('GET', '/v1/requests?status=done')).status).toBe(400);
    expect((await conforms('GET', '/v1/requests?cursor=bad')).status).toBe(400);
    // Two strings, as the image search's cursor holds, but no time where a request listing's begins.
    expect((await conforms('GET', `/v1/requests?cursor=${Buffer.from(JSON.stringify(['billing-api', UID])).toString('base64url')}`)).body).toMatchObject({ code: 'ORBIT_ERR_BAD_REQUEST' });
  });

  it('describes every answer of the image and transfer routes', async () => {
    expect((await conforms('GET', `/v1/images/${UID}`)).status).toBe(200);
    expect((await conforms('GET', `/v1/images/${'B'.repeat(60)}`)).status).toBe(404);
    expect((await conforms('GET', `/v1/images/${UID}/events`)).status).toBe(200);
    expect((await conforms('GET', `/v1/images/${UID}/events?limit=10&cursor=bad`)).status).toBe(400);
    expect((await conforms('GET', '/v1/images?q=billing')).status).toBe(200);
    expect((await conforms('GET', '/v1/images?q=billing&cursor=garbage')).status).toBe(400);
    expect((await conforms('GET', '/v1/images?limit=0')).status).toBe(400);
    const transfer = (body: object) => conforms('POST', `/v1/images/${UID}/transfers`, { payload: body });
    expect((await transfer({ imageVersion: 'v1-0-00', transferEnvironment: 'Testing' })).status).toBe(202);
    // Generated clients often send every field, unset ones as null.
    expect((await transfer({ imageVersion: 'v1-0-00', transferEnvironment: 'Testing', notes: null })).status).toBe(202);
    expect((await transfer({ imageVersion: 'v1-0-00', transferEnvironment: 'Staging' })).status).toBe(409);
    expect((await transfer({ imageVersion: 'v9-9-99', transferEnvironment: 'Testing' })).status).toBe(404);
    expect((await transfer({ imageVersion: 'v1-0-00' })).status).toBe(400);
    expect((await transfer({ imageVersion: 'v1-0-00', transferEnvironment: 'Testing', dryRun: true })).body).toMatchObject({ outcome: 'allowed' });
    expect((await transfer({ imageVersion: 'v1-0-00', transferEnvironment: 'Staging', dryRun: true })).status).toBe(409);
    // What the app refuses before any route: documented for every operation that reads a body (found by a probe).
    const asXml = await conforms('POST', `/v1/images/${UID}/transfers`, { payload: '<transfer/>', headers: { 'content-type': 'text/xml' } });
    expect(asXml.status).toBe(415);
    const huge = await conforms('POST', `/v1/images/${UID}/transfers`, { payload: JSON.stringify({ imageVersion: 'v1-0-00', transferEnvironment: 'Testing', notes: 'x'.repeat(1_100_000) }), headers: { 'content-type': 'application/json' } });
    expect(huge.status).toBe(413);
  });

  it('holds a path or query naming an image, a version or a request to its grammar: an alias ViewPort\'s MySQL would match is a 400 naming it', async () => {
    const recorded = async () => ((await conforms('GET', '/v1/requests?limit=200')).body['requests'] as unknown[]).length;
    const before = await recorded();
    const refused = [
      await conforms('GET', `/v1/images/${UID}%20`), await conforms('GET', `/v1/images/${UID}%20/events`), await conforms('GET', `/v1/images/${UID.toLowerCase()}x`),
      await conforms('POST', `/v1/images/${UID}%20/transfers`, { payload: { imageVersion: 'v1-0-00', transferEnvironment: 'Testing' } }),
      await conforms('GET', `/v1/images/${UID}/versions/v0-9-00%20`), await conforms('GET', `/v1/images/${UID}/versions/v0-9-00%20/manifests?environment=Testing`),
      await conforms('GET', '/v1/requests/8e03978e-40d5-43e8-bc93-6894a57f9324%20'), await conforms('GET', `/v1/requests?imageUID=${UID}%20`),
    ];
    expect(refused.map(({ status }) => status)).toEqual(refused.map(() => 400));
    expect(refused.map(({ body }) => (body['problems'] as { field: string }[])[0]?.field)).toEqual([
      'params.uid', 'params.uid', 'params.uid', 'params.uid', 'params.version', 'params.version', 'params.id', 'querystring.imageUID',
    ]);
    expect(await recorded()).toBe(before);
    const parameter = (path: string, name: string) => document.paths[path]?.['get']?.parameters?.find((entry) => entry.name === name)?.schema;
    expect(new RegExp(String(parameter('/v1/images/{uid}', 'uid')?.['pattern'])).test(UID)).toBe(true);
    expect(new RegExp(String(parameter('/v1/images/{uid}/versions/{version}', 'version')?.['pattern'])).test('1.0.0')).toBe(true);
  });

  it('describes the answers of what an environment holds: manifests, and the redirects to the archive and chart', async () => {
    expect((await conforms('GET', `/v1/images/${UID}/versions/v0-9-00`)).body).toMatchObject({ imageVersion: 'v0-9-00', promotions: { Testing: { requestId: 'r1' } } });
    expect((await conforms('GET', `/v1/images/${UID}/versions/v9-9-99`)).status).toBe(404);
    expect((await conforms('GET', `/v1/images/${UID}/versions/v0-9-00/manifests?environment=Testing`)).body).toMatchObject({ kind: 'List', items: [{ kind: 'ConfigMap' }] });
    expect((await conforms('GET', `/v1/images/${UID}/versions/v0-9-00/manifests?environment=Nowhere`)).status).toBe(400);
    expect((await conforms('GET', `/v1/images/${UID}/versions/v1-0-00/manifests?environment=Testing`)).status).toBe(404);
    expect((await conforms('GET', `/v1/images/${UID}/versions/v0-9-00/chart`)).status).toBe(404);
    const archive = await app.inject({ method: 'GET', url: `/v1/images/${UID}/versions/v0-9-00/archive?environment=Testing`, headers });
    expect([archive.statusCode, archive.headers['location']]).toEqual([302, `http://s3/app-image-1209-bkt-k8t-aws/${UID}-v0-9-00.tar?X-Amz-Signature=s`]);
    for (const operation of ['downloadArchive', 'downloadChart']) {
      const found = Object.values(document.paths).flatMap((methods) => Object.values(methods)).find((entry) => entry.operationId === operation);
      expect(Object.keys(found?.responses ?? {}), operation).toEqual(expect.arrayContaining(['200', '302']));
    }
    // The link as data, for a browser app (found by a review: a script cannot read a 302's Location).
    const json = { accept: 'application/json' };
    expect((await conforms('GET', `/v1/images/${UID}/versions/v0-9-00/archive?environment=Testing`, { headers: json })).body).toMatchObject({
      url: `http://s3/app-image-1209-bkt-k8t-aws/${UID}-v0-9-00.tar?X-Amz-Signature=s`, fileName: `billing-api-v0-9-00.tar`, sizeBytes: 5, sha256: 'e'.repeat(64),
    });
    expect((await conforms('GET', `/v1/images/${UID}/versions/v0-9-00/archive`, { headers: json })).body).toMatchObject({ sha256: null });
    expect((await conforms('GET', `/v1/images/${UID}/versions/v0-9-00/chart`, { headers: json })).status).toBe(404);
  });

  it('documents the Helm repository as helm uses it: Basic credentials beside bearer, and If-None-Match answered 304 against the index\'s ETag', async () => {
    type Described = { security?: unknown; parameters?: { name: string; in: string }[]; responses: Record<string, { headers?: Record<string, unknown> }> };
    const index = document.paths['/helm/{environment}/{owner}/index.yaml']?.['get'] as Described | undefined;
    const chart = document.paths['/helm/{environment}/{owner}/charts/{uid}/{file}']?.['get'] as Described | undefined;
    const schemes = (document as OpenApiDocument & { components: { securitySchemes: Record<string, { type: string; scheme: string }> }; security: unknown }).components.securitySchemes;
    expect(schemes['basic']).toMatchObject({ type: 'http', scheme: 'basic' });
    for (const operation of [index, chart]) expect(operation?.security).toEqual([{ bearer: [] }, { basic: [] }]);
    // The API's own operations stay bearer only.
    expect((document as OpenApiDocument & { security: unknown }).security).toEqual([{ bearer: [] }]);
    // If-Match too, which the index honours (412) as every conditional read does (found by a review: the document listed If-None-Match alone).
    expect(index?.parameters?.filter((parameter) => parameter.in === 'header').map((parameter) => parameter.name.toLowerCase())).toEqual(['if-none-match', 'if-match']);
    expect(Object.keys(index?.responses ?? {})).toContain('412');
    expect(Object.keys(index?.responses['200']?.headers ?? {})).toContain('ETag');
    expect(Object.keys(index?.responses ?? {})).toContain('304');
    // What the document says is what helm gets: Basic with the token as password, an ETag, then a 304 that the document lists.
    const basic = { authorization: `Basic ${Buffer.from(`helm:${token}`).toString('base64')}` };
    const first = await app.inject({ url: '/helm/Development/dev1/index.yaml', headers: basic });
    expect([first.statusCode, typeof first.headers['etag']]).toEqual([200, 'string']);
    const again = await app.inject({ url: '/helm/Development/dev1/index.yaml', headers: { ...basic, 'if-none-match': String(first.headers['etag']) } });
    expect(Object.keys(index?.responses ?? {})).toContain(String(again.statusCode));
    expect(again.statusCode).toBe(304);
  });

  it('takes a path id only as the UUID it was given out as: urn:uuid: and braces are a 400 naming params.id (urn:uuid: passed format uuid, then missed in the store)', async () => {
    const { body } = await conforms('POST', '/v1/uploads/references', { payload: { metadata: { ...metadata, imageVersion: 'v1-2-00' }, reference: 'r.example/a:1' } });
    const id = String(body['requestId']);
    expect((await conforms('GET', `/v1/requests/${id}`)).status).toBe(200);
    // Either case names the same request: ids are looked up in lower case.
    expect((await conforms('GET', `/v1/requests/${id.toUpperCase()}`)).status).toBe(200);
    for (const alias of [`urn:uuid:${id}`, `{${id}}`, id.replaceAll('-', '')]) {
      for (const [method, url] of [['GET', `/v1/requests/${alias}`], ['GET', `/v1/uploads/${alias}/parts`], ['POST', `/v1/uploads/${alias}/complete`]] as const) {
        const refused = await conforms(method, url, method === 'POST' ? { payload: { metadata } } : {});
        expect([refused.status, (refused.body['problems'] as { field: string }[])[0]?.field], `${method} ${url}`).toEqual([400, 'params.id']);
      }
    }
    const pattern = new RegExp(String(document.paths['/v1/requests/{id}']?.['get']?.parameters?.find((entry) => entry.name === 'id')?.schema?.['pattern']), 'u');
    expect([id, id.toUpperCase(), `urn:uuid:${id}`].map((text) => pattern.test(text))).toEqual([true, true, false]);
  });

  it('refuses a query parameter an operation does not list, naming it (a misspelt filter listed everything), on every /v1 operation (found by a review: those listing none took any, and a transfer asked with ?dryRun=true promoted for real)', async () => {
    type Listed = { parameters?: { name: string; in: string }[]; requestBody?: unknown; responses: Record<string, { description?: string }> };
    const operations = Object.entries(document.paths).flatMap(([path, methods]) => Object.entries(methods).map(([method, operation]) => ({ path, method, operation: operation as Listed })))
      .filter(({ path }) => path.startsWith('/v1/'));
    expect(operations.length).toBeGreaterThanOrEqual(18);
    // A body is checked before the query (Fastify's order): each operation is sent one it takes.
    const bodyOf: Record<string, object> = {
      '/v1/uploads/references': { metadata, reference: 'r.example/a:1' }, '/v1/uploads/presign': {}, '/v1/uploads/{id}/complete': { metadata },
      '/v1/images/{uid}/transfers': { imageVersion: 'v0-9-00', transferEnvironment: 'Testing' },
    };
    for (const { path, method, operation } of operations) {
      const url = path.replace('{uid}', UID).replace('{version}', 'v0-9-00').replace('{id}', '00000000-0000-4000-8000-000000000009');
      const misspelt = path.endsWith('/transfers') ? 'dryRun' : (operation.parameters ?? []).find((parameter) => parameter.in === 'query')?.name.toUpperCase() ?? 'orbitUnknown';
      const body = bodyOf[path];
      const refused = await app.inject({ method: method.toUpperCase() as 'GET', url: `${url}?${misspelt}=1`, headers, ...(body ? { payload: body } : {}) });
      expect([refused.statusCode, refused.json().code, refused.json().problems?.[0]?.field], `${method} ${path}`).toEqual([400, 'ORBIT_ERR_BAD_REQUEST', `querystring.${misspelt}`]);
      expect(refused.json().message, path).toContain(`unknown query parameter "${misspelt}"`);
      expect(operation.responses['400']?.description, path).toContain('a query parameter this operation does not list');
      expect(operation.responses['400']?.description, path).toContain('or one given more than once');
    }
    const repeated = await conforms('GET', '/v1/requests?limit=1&limit=2');
    expect([repeated.status, repeated.body['message']]).toEqual([400, 'query parameter "limit" is given 2 times: give it once']);
    const misspelt = await conforms('GET', `/v1/requests?imageUid=${UID}`);
    expect([misspelt.status, misspelt.body['message']]).toEqual([400, 'unknown query parameter "imageUid": this operation takes kind, status, imageUID, limit, cursor (names as written, in their letter case)']);
    expect((await conforms('GET', `/v1/requests?imageUID=${UID}`)).status).toBe(200);
    // Chart repository clients are not held to it: what helm, Argo CD or Flux may add to a URL is theirs.
    const basic = { authorization: `Basic ${Buffer.from(`helm:${token}`).toString('base64')}` };
    expect((await app.inject({ url: '/helm/Development/dev1/index.yaml?ts=1', headers: basic })).statusCode).toBe(200);
  });

  it('tells a generated client that an image\'s or version\'s 404 may mean "not yet, follow the upload" or "its upload failed", naming both codes (found by a quality reread: it said only "No such request or image")', () => {
    const polled = ['/v1/images/{uid}', '/v1/images/{uid}/events', '/v1/images/{uid}/versions', '/v1/images/{uid}/versions/{version}',
      ...['manifests', 'kustomize', 'archive', 'chart'].map((deployed) => `/v1/images/{uid}/versions/{version}/${deployed}`)];
    type Described = { responses: Record<string, { description?: string } | undefined> };
    const notFoundOf = (path: string): string | undefined => (document.paths[path]?.['get'] as Described | undefined)?.responses['404']?.description;
    for (const path of polled) {
      const missing = notFoundOf(path);
      expect(missing, path).toMatch(/IMAGE_NOT_READY, its upload is still under way .*GET \/v1\/requests\/\{requestId\}\?wait=30/);
      expect(missing, path).toContain('IMAGE_UPLOAD_FAILED, its newest upload failed');
    }
    expect(notFoundOf('/v1/requests/{id}')).not.toContain('IMAGE_NOT_READY');
  });

  it(`answers an id up to ${MAX_PARAM_LENGTH} characters with a 400 naming it, and a longer path segment 414, as docs/errors.md says`, async () => {
    const long = await conforms('GET', `/v1/images/${'a'.repeat(MAX_PARAM_LENGTH)}`);
    expect([long.status, (long.body['problems'] as { field: string }[])[0]?.field]).toEqual([400, 'params.uid']);
    // Documented where it is answered (found by a review: on no operation), with the error body.
    const longer = await conforms('GET', `/v1/images/${'a'.repeat(MAX_PARAM_LENGTH + 1)}`);
    expect([longer.status, longer.body['code']]).toEqual([414, 'ORBIT_ERR_BAD_REQUEST']);
    const errorsDoc = readFileSync(new URL('../../../docs/errors.md', import.meta.url), 'utf8');
    expect(errorsDoc).toContain(`a path segment (an id, a version) over ${MAX_PARAM_LENGTH} characters (414`);
    expect(errorsDoc).not.toContain('a path over 512 characters');
  });

  it('names the unions a generated client must build or read, metadata.port and a transfer\'s 200, and the main models, in components (oapi-codegen gave each a Go type no caller could set or read)', async () => {
    const bodies = [['/v1/uploads', 'multipart/form-data'], ['/v1/uploads/references', 'application/json'], ['/v1/uploads/{id}/complete', 'application/json']] as const;
    for (const [path, media] of bodies) {
      const body = document.paths[path]?.['post']?.requestBody?.content[media]?.schema as { properties: Record<string, unknown> } | undefined;
      expect(body?.properties['metadata'], path).toEqual({ $ref: '#/components/schemas/ImageMetadata' });
    }
    expect((schemaNamed('ImageMetadata')?.['properties'] as Record<string, unknown>)['port']).toEqual({ $ref: '#/components/schemas/Port' });
    expect((schemaNamed('Port')?.['anyOf'] as { type: string; nullable?: boolean }[]).map(({ type, nullable }) => [type, nullable])).toEqual([['integer', true], ['string', true]]);
    const transfer = document.paths['/v1/images/{uid}/transfers']?.['post']?.responses['200']?.content?.['application/json']?.schema;
    expect(transfer).toEqual({ $ref: '#/components/schemas/TransferOutcome' });
    expect(schemaNamed('TransferOutcome')).toEqual({ anyOf: [{ $ref: '#/components/schemas/TransferAnswer' }, { $ref: '#/components/schemas/TransferDryRunAnswer' }] });
    // No union is left inline in an operation: a generator names an inline one after its place, if it can use it at all.
    const inline = operations.filter(({ operation }) => /"(anyOf|oneOf)":/.test(JSON.stringify(operation)));
    expect(inline.map(({ method, path }) => `${method} ${path}`)).toEqual([]);
    const answerOf = (path: string, status: string) => document.paths[path]?.['get']?.responses[status]?.content?.['application/json']?.schema;
    expect([answerOf('/v1/images/{uid}', '200'), answerOf('/v1/requests/{id}', '200'), answerOf('/v1/images/{uid}', '404')]).toEqual(
      ['ImageView', 'RequestView', 'ErrorBody'].map((name) => ({ $ref: `#/components/schemas/${name}` })),
    );
    // Every reference names a component, and the answers read through them still keep to the document.
    for (const ref of JSON.stringify(document).match(/"\$ref":"[^"]+"/g) ?? []) expect(schemaNamed(ref.replace(/^"\$ref":"#\/components\/schemas\/|"$/g, '')), ref).toBeDefined();
    expect((await conforms('POST', `/v1/images/${UID}/transfers`, { payload: { imageVersion: 'v1-0-00', transferEnvironment: 'Testing', dryRun: true } })).status).toBe(200);
    expect((await conforms('POST', '/v1/uploads/references', { payload: { metadata: { ...metadata, imageVersion: 'v1-3-00', port: '8080' }, reference: 'r.example/a:1' } })).status).toBe(202);
  });

  it('tells a client what of an event\'s payload someone who is not the image\'s owner is shown (found by a review: every payload went out whole)', () => {
    const events = schemaNamed('ImageEvents')?.['properties'] as { events: { items: { properties: { payload: { description?: string } } } } } | undefined;
    const payload = events?.events.items.properties.payload;
    // Open to any JSON: the owner's payloads are the events as logged, and a schema that listed fields would cut the owner's too.
    expect(payload).toEqual({ description: expect.any(String) as unknown });
    for (const said of ['username only', 'idempotencyKey', 'no S3 object', 'left out']) expect(payload?.description).toContain(said);
  });

  it('documents the conditional reads on every GET whose 200 carries an ETag, and only there: If-None-Match, If-Match, the ETag, 304 and 412 (found by a review: only the Helm routes said so)', async () => {
    const { body } = await conforms('POST', '/v1/uploads/references', { payload: { metadata: { ...metadata, imageVersion: 'v1-4-00' }, reference: 'r.example/a:1' } });
    const ids: Record<string, string> = { uid: UID, version: 'v0-9-00', id: String(body['requestId']) };
    const reads = operations.filter(({ method, path }) => method === 'get' && path.startsWith('/v1/'));
    expect(reads.length).toBeGreaterThanOrEqual(12);
    const tagged: string[] = [];
    for (const { path, operation } of reads) {
      const required = (operation.parameters ?? []).filter((parameter) => parameter.in === 'query' && (parameter as { required?: boolean }).required);
      const url = `${path.replace(/\{(\w+)\}/g, (_, name: string) => ids[name] ?? name)}${required.length > 0 ? `?${required.map((parameter) => `${parameter.name}=Testing`).join('&')}` : ''}`;
      const first = await app.inject({ url, headers });
      const etag = first.headers['etag'];
      const documented = operation.responses as Record<string, { headers?: Record<string, unknown> }>;
      const conditions = (operation.parameters ?? []).filter((parameter) => parameter.in === 'header').map((parameter) => parameter.name);
      if (first.statusCode !== 200 || typeof etag !== 'string') {
        expect(Object.keys(documented), `${path} answers ${first.statusCode} without an ETag`).not.toContain('304');
        continue;
      }
      tagged.push(String(operation.operationId));
      expect(conditions, path).toEqual(expect.arrayContaining(['if-none-match', 'if-match']));
      expect(Object.keys(documented['200']?.headers ?? {}), path).toContain('ETag');
      const again = await app.inject({ url, headers: { ...headers, 'if-none-match': etag } });
      expect([again.statusCode, Object.keys(documented)], path).toEqual([304, expect.arrayContaining(['304', '412'])]);
      expect(contract.check('GET', url, 412, (await app.inject({ url, headers: { ...headers, 'if-match': '"other"' } })).json()), path).toBeUndefined();
    }
    expect(tagged.sort()).toEqual([...CONDITIONAL_READS].sort());
  });

  it('declares getManifests\' YAML with no schema (validators decode it, and a --- stream is no one value) and says what it holds', async () => {
    const ok = document.paths['/v1/images/{uid}/versions/{version}/manifests']?.['get']?.responses['200'] as { description: string; content: Record<string, unknown> };
    expect(ok.content['application/yaml']).toEqual({});
    expect(ok.description).toContain('one document per object, each after a --- line');
    const yaml = await app.inject({ url: `/v1/images/${UID}/versions/v0-9-00/manifests?environment=Testing`, headers: { ...headers, accept: 'application/yaml' } });
    expect([yaml.statusCode, yaml.headers['content-type'], yaml.body.startsWith('---')]).toEqual([200, 'application/yaml; charset=utf-8', true]);
  });

  it('declares every field of a version answer as the projector writes it and the reader reads it back (found by a review: twelve were left to prose, or unsaid, and generated clients dropped them)', async () => {
    const version = projectedVersion();
    // What the review found missing, each in the answer here: the test would not see a field the sample leaves out.
    expect(Object.keys(version)).toEqual(expect.arrayContaining([
      'architecture', 'chartLocation', 'chartName', 'chartVersion', 'configDigest', 'createdAt', 'helmChartName', 'layers', 'metadata', 'os', 'requestId', 'requestedAt',
    ]));
    const projected = gateway(undefined, [version]);
    const served = openApiContract((await projected.inject('/docs/json')).json() as OpenApiDocument);
    const url = `/v1/images/${UID}/versions/${String(version['imageVersion'])}`;
    const answer = await projected.inject({ url, headers });
    expect(answer.statusCode).toBe(200);
    const body = answer.json() as Record<string, unknown>;
    // Every fact the reader gave (labels is null here: the sample's image says nothing of its labels' completeness).
    expect(Object.keys(body)).toEqual(expect.arrayContaining(Object.keys(version)));
    expect(undeclaredKeys(body, schemaNamed('ImageVersion'), components)).toEqual([]);
    // Each with its real type and nullability: the answer keeps to the document.
    expect(served.check('GET', url, 200, body)).toBeUndefined();
    for (const listed of [`/v1/images/${UID}`, `/v1/images/${UID}/versions`, '/v1/images?q=billing']) {
      const page = await projected.inject({ url: listed, headers });
      expect([page.statusCode, served.check('GET', listed, page.statusCode, page.json())], listed).toEqual([200, undefined]);
    }
    await projected.close();
  });

  it('declares in properties every field of every answer the routes give here, success and refusal, so a generated client keeps each (found by a review)', async () => {
    await conforms('POST', `/v1/images/${UID}/transfers`, { payload: { imageVersion: 'v1-0-00', transferEnvironment: 'Testing' } });
    const requestId = ((await app.inject({ url: '/v1/requests', headers })).json() as { requests: { requestId: string }[] }).requests[0]?.requestId;
    const reads = [
      `/v1/images/${UID}`, `/v1/images/${UID}/events`, `/v1/images/${UID}/versions`, `/v1/images/${UID}/versions/v0-9-00`, '/v1/images?q=billing', '/v1/requests',
      `/v1/requests/${String(requestId)}`, `/v1/uploads/${RESUMABLE}`, `/v1/images/${'B'.repeat(60)}`, '/v1/images?limit=0', `/v1/images/${UID}/versions/v9-9-99`,
    ];
    for (const url of reads) {
      const answer = await app.inject({ url, headers });
      const path = url.split('?')[0] ?? url;
      const template = Object.keys(document.paths).sort((a, b) => Number(a.includes('{')) - Number(b.includes('{')))
        .find((candidate) => new RegExp(`^${candidate.replace(/\{[^}]+\}/g, '[^/]+')}$`).test(path)) ?? '';
      const schema = document.paths[template]?.['get']?.responses[String(answer.statusCode)]?.content?.['application/json']?.schema;
      expect(schema, `${url} ${answer.statusCode}`).toBeDefined();
      expect(undeclaredKeys(answer.json(), schema, components), `${url} ${answer.statusCode}`).toEqual([]);
    }
  });

  it('takes a path with a trailing slash as the same resource without it, on every route (found by a review: a 400 on three paths, a 404 "no route" on the fourth)', async () => {
    for (const path of ['/v1/images', '/v1/requests', `/v1/images/${UID}`, `/v1/images/${UID}/versions`, `/v1/images/${UID}/versions/v0-9-00`, '/helm/Development/dev1/index.yaml']) {
      const [plain, slashed] = await Promise.all([app.inject({ url: path, headers }), app.inject({ url: `${path}/`, headers })]);
      expect([slashed.statusCode, slashed.headers['content-type']], `${path}/`).toEqual([plain.statusCode, plain.headers['content-type']]);
      expect(plain.statusCode, path).toBe(200);
    }
    // The document is where it was, and a method a path does not take is still its 405.
    expect((await app.inject('/docs/json/')).statusCode).toBe(200);
    // swagger-ui's own index.html redirect is to /docs/, never to itself.
    for (const url of ['/docs/static/index.html', '/docs/static/index.html/', '/docs/static/index.html?x=1']) {
      const moved = await app.inject(url);
      expect([moved.statusCode, moved.headers['location']], url).toEqual([302, '/docs/']);
    }
    const deleted = await app.inject({ method: 'DELETE', url: '/v1/images/', headers });
    expect([deleted.statusCode, deleted.headers['allow']]).toEqual([405, (await app.inject({ method: 'DELETE', url: '/v1/images', headers })).headers['allow']]);
  });

  it('sends problems on every refusal, [] when it names no field, and says so in ErrorBody (found by a review: present on some, absent on others)', async () => {
    expect(schemaNamed('ErrorBody')?.['required']).toEqual(['code', 'message', 'problems']);
    const transfers = `/v1/images/${UID}/transfers`;
    const refusals = await Promise.all([
      app.inject({ url: '/v1/images', headers: { authorization: 'Bearer nope' } }),
      app.inject({ url: '/nowhere', headers }),
      app.inject({ method: 'DELETE', url: '/v1/images', headers }),
      app.inject({ method: 'POST', url: transfers, headers: { ...headers, 'content-type': 'text/xml' }, payload: '<transfer/>' }),
      app.inject({ method: 'POST', url: transfers, headers: { ...headers, 'content-type': 'application/json' }, payload: JSON.stringify({ notes: 'x'.repeat(1_100_000) }) }),
      app.inject({ method: 'POST', url: transfers, headers, payload: { imageVersion: 'v9-9-99', transferEnvironment: 'Testing', dryRun: true } }),
      app.inject({ method: 'POST', url: transfers, headers, payload: { imageVersion: 'v1-0-00', transferEnvironment: 'Staging' } }),
      app.inject({ url: `/v1/images/${'a'.repeat(MAX_PARAM_LENGTH + 1)}`, headers }),
      app.inject({ url: '/v1/images/%E0%A4%A', headers }),
    ]);
    expect(refusals.map((answer) => answer.statusCode)).toEqual([401, 404, 405, 415, 413, 404, 409, 414, 400]);
    for (const answer of refusals) expect(answer.json(), `${answer.statusCode} ${answer.body.slice(0, 200)}`).toMatchObject({ code: expect.any(String) as unknown, problems: expect.any(Array) as unknown });
  });

  it('names a header at fault header.<name> however it was refused: by the route\'s schema or in code, the Idempotency-Key at every length (found by a review: three spellings, two limits)', async () => {
    const transfers = `/v1/images/${UID}/transfers`;
    const ask = { imageVersion: 'v1-0-00', transferEnvironment: 'Testing', dryRun: true };
    const keyed = await Promise.all(['k'.repeat(256), 'k'.repeat(258), 'k'.repeat(2000)].map((key) => app.inject({ method: 'POST', url: transfers, headers: { ...headers, 'idempotency-key': key }, payload: ask })));
    for (const answer of keyed) {
      expect([answer.statusCode, answer.json()]).toEqual([400, {
        code: 'ORBIT_ERR_BAD_REQUEST', message: expect.stringContaining('Idempotency-Key must be 1 to 255') as unknown,
        problems: [{ field: 'header.idempotency-key', message: expect.stringContaining('Idempotency-Key must be 1 to 255') as unknown }],
      }]);
    }
  });

  it('documents on every operation what the app refuses before its route: a Content-Encoding or a body it does not read (415), a Transfer-Encoding it does not decode (501), a body over its limit (413) or stalled (408)', async () => {
    expect(operations.length).toBeGreaterThanOrEqual(20);
    for (const { path, method, operation } of operations) {
      const statuses = Object.keys(operation.responses);
      expect(statuses, `${method} ${path}`).toEqual(expect.arrayContaining(['415', '431', '501', ...(['post', 'delete'].includes(method) ? ['408', '413'] : [])]));
      // A path segment over the router's limit (414) only where the path has one to fill; headers over 16 KiB (431) anywhere.
      expect(statuses.includes('414'), `${method} ${path}`).toBe(path.includes('{'));
      for (const status of ['414', '431'].filter((refused) => statuses.includes(refused))) {
        expect(operation.responses[status]?.content?.['application/json']?.schema, `${method} ${path} ${status}`).toEqual({ $ref: '#/components/schemas/ErrorBody' });
      }
      const url = path.replace('{uid}', UID).replace('{version}', 'v0-9-00').replace('{id}', RESUMABLE).replace('{environment}', 'Development').replace('{owner}', 'dev1').replace('{file}', 'a.tgz');
      const verb = method.toUpperCase() as 'GET';
      const coded = await app.inject({ method: verb, url, headers: { ...headers, 'content-encoding': 'br' } });
      expect(contract.check(verb, url, coded.statusCode, coded.json()), `${method} ${path}`).toBeUndefined();
      expect(coded.statusCode).toBe(415);
      const chunkedGzip = await app.inject({ method: verb, url, headers: { ...headers, 'transfer-encoding': 'gzip, chunked' } });
      expect([chunkedGzip.statusCode, contract.check(verb, url, chunkedGzip.statusCode, chunkedGzip.json())], `${method} ${path}`).toEqual([501, undefined]);
    }
    // A DELETE reads a body too (found by a probe): one of a type it does not read, or over 1 MiB.
    const abandon = `/v1/uploads/${RESUMABLE}`;
    expect((await conforms('DELETE', abandon, { payload: 'text', headers: { 'content-type': 'text/plain' } })).status).toBe(415);
    expect((await conforms('DELETE', abandon, { payload: JSON.stringify({ x: 'y'.repeat(1_100_000) }), headers: { 'content-type': 'application/json' } })).status).toBe(413);
  });

  it('says in its description what holds for every operation: HEAD on every GET, and 405 with Allow for a method a path does not take', async () => {
    const info = (document as OpenApiDocument & { info: { description: string } }).info.description;
    expect(info).toContain('Every GET also answers HEAD');
    expect(info).toContain('405 (ORBIT_ERR_METHOD_NOT_ALLOWED) with an Allow header');
    // Built once per format from one shared info object: the YAML's, built after the JSON's, said it twice (bug review).
    const fromYaml = (parse((await app.inject('/docs/yaml')).body) as { info: { description: string } }).info.description;
    expect(fromYaml.split('Every GET also answers HEAD').length - 1).toBe(1);
    const again = ((await app.inject('/docs/json')).json() as { info: { description: string } }).info.description;
    expect(again.split('Every GET also answers HEAD').length - 1).toBe(1);
    const head = await app.inject({ method: 'HEAD', url: `/v1/images/${UID}`, headers });
    expect([head.statusCode, typeof head.headers['etag'], head.body]).toEqual([200, 'string', '']);
    const refused = await app.inject({ method: 'PUT', url: `/v1/images/${UID}`, headers });
    expect([refused.statusCode, refused.json().code, refused.headers['allow']]).toEqual([405, 'ORBIT_ERR_METHOD_NOT_ALLOWED', 'GET, HEAD']);
  });
});

describe('the gateway at start', () => {
  it('prints no Fastify warning: one is a line of plain text among the JSON log (FSTDEP022 was, at every start)', async () => {
    const warnings: string[] = [];
    const onWarning = (warning: Error & { code?: string }): void => void warnings.push(`${warning.code ?? warning.name}: ${warning.message}`);
    process.on('warning', onWarning);
    try {
      const app = gateway();
      await app.ready();
      await app.inject({ url: '/v1/images/x', headers: { authorization: `Bearer ${await issueLocalToken(auth, 'dev1', [])}` } });
      // Node emits 'warning' on a later tick than emitWarning is called.
      await new Promise((resolve) => setImmediate(resolve));
    } finally {
      process.off('warning', onWarning);
    }
    expect(warnings.filter((line) => line.startsWith('FST'))).toEqual([]);
  });
});
