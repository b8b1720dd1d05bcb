import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import type { PipelineFailed, UploadRequested } from '@orbit/schemas';
import { buildApp } from '../app.js';
import { tokenVerifier } from '../auth.js';
import type { StoredObjectRef } from '../ports.js';
import { ROUTE_TEST_AUTH, routeTestToken } from '../testing/route-gateway.js';

const metadata = { imageName: 'billing-api', imageVersion: 'v1-0-00', port: 8080 };
/** A presigned upload the store holds, PUT straight to S3 (which checked any x-amz-checksum-* on that PUT itself). */
const PRESIGNED = '00000000-0000-4000-8000-000000000001';
const BOUNDARY = '----orbit-amz-checksum';

/** A gateway staging forms in memory, hashing what it stages as S3's store does; what it published, refused and discarded. */
function gateway() {
  const published: UploadRequested[] = [];
  const refused: PipelineFailed[] = [];
  const staged: string[] = [];
  const discarded: string[] = [];
  const nothing = async (): Promise<undefined> => undefined;
  const app = buildApp({
    ready: async () => true, metrics: new Registry(), verify: tokenVerifier({ kind: 'hs256', ...ROUTE_TEST_AUTH }), maxUploadBytes: 1024 * 1024,
    uploads: {
      async stage(owner, uploadId, body: Readable) {
        const hash = createHash('sha256');
        let sizeBytes = 0;
        for await (const chunk of body) {
          sizeBytes += (chunk as Buffer).length;
          hash.update(chunk as Buffer);
        }
        staged.push(`${owner}/${uploadId}`);
        return { bucket: 'staging', key: `${owner}/${uploadId}`, versionId: null, sizeBytes, sha256: hash.digest('hex') };
      },
      presign: async () => { throw new Error('not under test'); },
      find: async (owner, uploadId) => (uploadId === PRESIGNED ? { bucket: 'staging', key: `${owner}/direct`, versionId: null, sizeBytes: 10, sha256: null } : undefined),
      resume: nothing, presignedWith: nothing, abandon: async () => 'unknown' as const, givenUp: async () => false,
      discard: async (object: StoredObjectRef) => void discarded.push(object.key),
    },
    names: { uidFor: async () => 'U'.repeat(60), peek: async () => 'U'.repeat(60) },
    requests: { get: nothing, finishedAmong: async () => new Set(), list: async () => ({ requests: [] }) },
    events: { byCorrelationId: async () => [], byImageUID: async () => ({ entries: [] }) },
    publish: {
      uploadRequested: async (event) => void published.push(event),
      uploadRefused: async (event) => void refused.push(event),
    },
    images: { get: nothing, search: async () => ({ images: [] }), getVersion: nothing, versionsPage: nothing, overview: nothing, outline: nothing, getChart: nothing, charted: async () => [] },
  });
  return { app, published, refused, staged, discarded };
}

/** A multipart upload of `archive` with the metadata, as curl -F sends it. */
function form(archive: Buffer): Buffer {
  return Buffer.concat([
    Buffer.from(`--${BOUNDARY}\r\nContent-Disposition: form-data; name="metadata"\r\nContent-Type: application/json\r\n\r\n${JSON.stringify(metadata)}\r\n`),
    Buffer.from(`--${BOUNDARY}\r\nContent-Disposition: form-data; name="image"; filename="app.tar"\r\nContent-Type: application/x-tar\r\n\r\n`), archive,
    Buffer.from(`\r\n--${BOUNDARY}--\r\n`),
  ]);
}

const digest = (algorithm: string, bytes: Buffer | string, encoding: 'base64' | 'hex' = 'base64'): string => createHash(algorithm).update(bytes).digest(encoding);

describe('S3\'s x-amz-checksum-* on an upload to the gateway (found by a review: a wrong x-amz-checksum-sha256 was ignored, 202, and the upload succeeded)', () => {
  const archive = Buffer.alloc(4096, 7);

  async function upload(app: ReturnType<typeof gateway>['app'], headers: Record<string, string>) {
    return app.inject({
      method: 'POST', url: '/v1/uploads', payload: form(archive),
      headers: { authorization: `Bearer ${await routeTestToken('dev1')}`, 'content-type': `multipart/form-data; boundary=${BOUNDARY}`, ...headers },
    });
  }

  it('refuses an archive that does not hash to its x-amz-checksum-sha256 422 CHECKSUM_MISMATCH naming it, nothing published or left staged; takes the one that does', async () => {
    const { app, published, refused, staged, discarded } = gateway();
    const wrong = await upload(app, { 'x-amz-checksum-sha256': digest('sha256', 'another archive') });
    expect([wrong.statusCode, wrong.json().code, wrong.json().problems?.[0]?.field], wrong.body).toEqual([422, 'CHECKSUM_MISMATCH', 'header.x-amz-checksum-sha256']);
    expect(wrong.json().message).toContain(`hashes to sha256 ${digest('sha256', archive, 'hex')}, but x-amz-checksum-sha256 gave ${digest('sha256', 'another archive', 'hex')} (as hex)`);
    expect(published).toEqual([]);
    expect(refused.map((event) => event.reasonCode)).toEqual(['CHECKSUM_MISMATCH']);
    expect(staged).toHaveLength(1);
    expect(discarded).toEqual(staged);

    const right = await upload(app, { 'x-amz-checksum-sha256': digest('sha256', archive) });
    expect(right.statusCode, right.body).toBe(202);
    expect(published.map((event) => event.sha256)).toEqual([digest('sha256', archive, 'hex')]);
  });

  it('checks x-amz-checksum-sha1 as X-Checksum-Sha1, and refuses the checksums it does not compute 400 naming them before the body is read', async () => {
    const { app, published, staged } = gateway();
    const wrong = await upload(app, { 'x-amz-checksum-sha1': digest('sha1', 'another archive') });
    expect([wrong.statusCode, wrong.json().code, wrong.json().problems?.[0]?.field], wrong.body).toEqual([422, 'CHECKSUM_MISMATCH', 'header.x-amz-checksum-sha1']);
    for (const header of ['x-amz-checksum-crc32', 'x-amz-checksum-crc32c', 'x-amz-checksum-crc64nvme']) {
      const unchecked = await upload(app, { [header]: 'AAAAAA==' });
      expect([unchecked.statusCode, unchecked.json().problems?.[0]?.field], header).toEqual([400, `header.${header}`]);
      expect(unchecked.json().message).toContain('would go unchecked');
    }
    const hex = await upload(app, { 'x-amz-checksum-sha256': digest('sha256', archive, 'hex') });
    expect([hex.statusCode, hex.json().problems?.[0]?.field]).toEqual([400, 'header.x-amz-checksum-sha256']);
    // Only the first upload's archive was staged: the refusals came before a byte of the body was read.
    expect([staged.length, published]).toEqual([1, []]);
    const right = await upload(app, { 'x-amz-checksum-sha1': digest('sha1', archive), 'x-amz-checksum-sha256': digest('sha256', archive) });
    expect(right.statusCode, right.body).toBe(202);
  });

  it('refuses one on a reference upload, which sends no archive for it to pin, as X-Checksum-Sha256', async () => {
    const { app, published } = gateway();
    for (const url of ['/v1/uploads', '/v1/uploads/references']) {
      const answer = await app.inject({
        method: 'POST', url, payload: { metadata, reference: 'r.example/app:1.0' },
        headers: { authorization: `Bearer ${await routeTestToken('dev1')}`, 'x-amz-checksum-sha256': digest('sha256', archive) },
      });
      expect([answer.statusCode, answer.json().problems?.[0]?.field], url).toEqual([400, 'header.x-amz-checksum-sha256']);
    }
    expect(published).toEqual([]);
  });

  it('pins a presigned upload\'s completion by x-amz-checksum-sha256, as S3\'s CompleteMultipartUpload takes the object\'s checksum', async () => {
    const { app, published } = gateway();
    const headers = { authorization: `Bearer ${await routeTestToken('dev1')}` };
    const differing = await app.inject({
      method: 'POST', url: `/v1/uploads/${PRESIGNED}/complete`, payload: { metadata, sha256: 'cd'.repeat(32) }, headers: { ...headers, 'x-amz-checksum-sha256': digest('sha256', archive) },
    });
    expect([differing.statusCode, differing.json().problems?.[0]?.field]).toEqual([400, 'header.x-amz-checksum-sha256']);
    const done = await app.inject({ method: 'POST', url: `/v1/uploads/${PRESIGNED}/complete`, payload: { metadata }, headers: { ...headers, 'x-amz-checksum-sha256': digest('sha256', archive) } });
    expect(done.statusCode, done.body).toBe(202);
    expect([published[0]?.source, published[0]?.sha256]).toEqual(['PRESIGNED', digest('sha256', archive, 'hex')]);
  });
});
