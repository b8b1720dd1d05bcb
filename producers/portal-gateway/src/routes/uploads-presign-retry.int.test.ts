/**
 * A presign sent again under its Idempotency-Key, on the local stack's staging bucket (MinIO): the gateway in-process on
 * the real S3 upload store, with completion claims kept here. The running pipeline uses the built dist/, which these
 * sources are not.
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { DeleteObjectCommand, GetObjectCommand, ListMultipartUploadsCommand, ListObjectVersionsCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { createPresigningS3, createS3 } from '@orbit/lib';
import type { UploadRequested } from '@orbit/schemas';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { quietLogger, testConfig, uniqueSuffix } from '../../../../test/helpers/index.js';
import { buildApp } from '../app.js';
import { tokenVerifier } from '../auth.js';
import type { HeldRequest, UploadClaims } from '../ports.js';
import { directKey, presignRecordKey, s3UploadStore } from '../stores/s3-uploads.js';
import { ROUTE_TEST_AUTH, routeTestToken } from '../testing/route-gateway.js';

const MIB = 1024 ** 2;
const s3 = createS3(testConfig);
const bucket = testConfig.ORBIT_BUCKET_STAGING;
const sha256 = (bytes: Buffer): string => createHash('sha256').update(bytes).digest('hex');

/**
 * One request per upload id, as upload_completions keeps them: the first claim holds it, and its command is kept in
 * `claimedCommands`; `succeed` moves a request on as the pipeline would.
 */
function completionClaims(claimedCommands: UploadRequested[]): { readonly claims: UploadClaims; readonly succeed: (requestId: string) => void } {
  const held = new Map<string, HeldRequest>();
  const succeed = (requestId: string): void => {
    for (const [id, request] of held) if (request.requestId === requestId) held.set(id, { ...request, status: 'succeeded' });
  };
  const claims: UploadClaims = {
    claim: async (key, request, command, _trace, beforeCommit) => {
      const id = `${request.owner}\u0000${key}`;
      const before = held.get(id);
      if (before) return before;
      await beforeCommit?.();
      const claimed: HeldRequest = { requestId: request.requestId, status: 'accepted', imageUID: request.imageUID };
      held.set(id, claimed);
      claimedCommands.push(command);
      return claimed;
    },
    find: async (owner, key) => held.get(`${owner}\u0000${key}`),
  };
  return { claims, succeed };
}

/** A gateway on the real staging bucket; `v1-0-00` is stored already, so its completion is refused at the door (NAME_CONFLICT). */
function retryGateway() {
  const published: UploadRequested[] = [];
  const { claims: completions, succeed } = completionClaims(published);
  const app = buildApp({
    ready: async () => true, metrics: new Registry(), verify: tokenVerifier({ kind: 'hs256', ...ROUTE_TEST_AUTH }),
    uploads: s3UploadStore(s3, bucket, 64 * MIB, { presigner: createPresigningS3(testConfig), presignSeconds: 600, partSizeBytes: 5 * MIB }),
    names: { uidFor: async () => 'R'.repeat(60), peek: async () => 'R'.repeat(60) },
    versionStored: async (_imageUID, imageVersion) => (imageVersion === 'v1-0-00' ? imageVersion : undefined),
    completions,
    requests: { get: async () => undefined, finishedAmong: async () => new Set(), list: async () => ({ requests: [] }) },
    events: { byCorrelationId: async () => [], byImageUID: async () => ({ entries: [] }) },
    publish: { uploadRequested: async (event) => void published.push(event), uploadRefused: async () => undefined },
    maxUploadBytes: 64 * MIB, logger: quietLogger,
  });
  return { app, published, succeed };
}

interface PresignAnswer {
  readonly uploadId: string;
  readonly expiresAt: string;
  readonly completeUrl: string;
  readonly headers: Record<string, string>;
  readonly partSizeBytes: number;
  readonly parts: readonly { readonly partNumber: number; readonly url: string; readonly sizeBytes: number }[];
}

async function sendParts(presigned: PresignAnswer, archive: Buffer): Promise<void> {
  for (const part of presigned.parts) {
    const from = (part.partNumber - 1) * presigned.partSizeBytes;
    const answer = await fetch(part.url, { method: 'PUT', body: archive.subarray(from, from + part.sizeBytes), headers: presigned.headers });
    await answer.arrayBuffer();
    expect(answer.status).toBe(200);
  }
}

async function openUploads(owner: string, uploadId: string): Promise<number> {
  const listed = await s3.send(new ListMultipartUploadsCommand({ Bucket: bucket, Prefix: directKey(owner, uploadId) }));
  return (listed.Uploads ?? []).length;
}

describe('a presign sent again under its Idempotency-Key (staging in MinIO)', () => {
  it('answers 200 with no parts once its parts were put together by a completion refused at the door, and the completion that follows takes those bytes; no second upload is opened (found by a review: 201, and the parts PUT to it were never stored)', async () => {
    const { app, published } = retryGateway();
    const owner = `retry-${uniqueSuffix()}`;
    const key = randomUUID();
    const headers = { authorization: `Bearer ${await routeTestToken(owner)}`, 'idempotency-key': key };
    const archive = randomBytes(6 * MIB);
    const presign = () => app.inject({ method: 'POST', url: '/v1/uploads/presign', headers, payload: { sizeBytes: archive.length } });
    const first = await presign();
    expect(first.statusCode).toBe(201);
    const presigned = first.json() as PresignAnswer;
    await sendParts(presigned, archive);
    const complete = (imageVersion: string) => app.inject({ method: 'POST', url: `/v1/uploads/${presigned.uploadId}/complete`, headers, payload: { metadata: { imageName: 'retried', imageVersion } } });
    const taken = await complete('v1-0-00');
    expect([taken.statusCode, taken.json().code]).toEqual([409, 'NAME_CONFLICT']);

    const again = await presign();
    expect([again.statusCode, again.headers['idempotent-replayed']]).toEqual([200, 'true']);
    expect(again.json()).toMatchObject({ uploadId: presigned.uploadId, parts: [] });
    expect(await openUploads(owner, presigned.uploadId)).toBe(0);

    const completed = await complete('v1-0-01');
    expect(completed.statusCode, completed.body).toBe(202);
    const staged = published[0]!.staging!;
    const object = await s3.send(new GetObjectCommand({ Bucket: staged.bucket, Key: staged.key, ...(staged.versionId ? { VersionId: staged.versionId } : {}) }));
    expect(sha256(Buffer.from(await object.Body!.transformToByteArray()))).toBe(sha256(archive));
    // Completed: the key names that upload for good.
    expect((await presign()).json()).toMatchObject({ code: 'ORBIT_ERR_UPLOAD_COMPLETED' });
    // Its parts are asked for as DELETE is answered: the request that has it, not 404 "never declared" (found by a review).
    const parts = await app.inject({ method: 'GET', url: `/v1/uploads/${presigned.uploadId}/parts`, headers });
    expect([parts.statusCode, parts.json().code, parts.json().message]).toEqual([409, 'ORBIT_ERR_UPLOAD_COMPLETED', expect.stringContaining(`request ${published[0]!.requestId} has it`)]);
  });

  it('refuses a presign under the Idempotency-Key of an upload given up (409 GIVEN_UP, saying when), so what its single PUT URL took after the DELETE is never completed (found by a review: 201 under the same id, and those bytes stored)', async () => {
    const { app, published } = retryGateway();
    const owner = `given-up-${uniqueSuffix()}`;
    const headers = { authorization: `Bearer ${await routeTestToken(owner)}`, 'idempotency-key': randomUUID() };
    const presign = (sizeBytes?: number) => app.inject({ method: 'POST', url: '/v1/uploads/presign', headers, ...(sizeBytes === undefined ? {} : { payload: { sizeBytes } }) });
    const first = await presign();
    expect([first.statusCode, first.headers['location']]).toEqual([201, `/v1/uploads/${(first.json() as { uploadId: string }).uploadId}`]);
    const presigned = first.json() as { uploadId: string; url: string; headers: Record<string, string> };
    const beforeDelete = Date.now();
    expect((await app.inject({ method: 'DELETE', url: `/v1/uploads/${presigned.uploadId}`, headers })).statusCode).toBe(204);
    // S3 cannot revoke the URL: it takes the archive after the give-up.
    const put = await fetch(presigned.url, { method: 'PUT', body: randomBytes(64 * 1024), headers: presigned.headers });
    await put.arrayBuffer();
    expect(put.status).toBe(200);

    for (const sizeBytes of [undefined, 6 * MIB]) {
      const again = await presign(sizeBytes);
      const { code, message } = again.json() as { code: string; message: string };
      expect([again.statusCode, code], again.body).toEqual([409, 'ORBIT_ERR_UPLOAD_GIVEN_UP']);
      expect(message).toContain(`upload ${presigned.uploadId}, which was given up at `);
      expect(message).toContain('new Idempotency-Key');
      const at = Date.parse(/given up at (\S+) /.exec(message)?.[1] ?? '');
      // S3 keeps the record's time to the second.
      expect(at).toBeGreaterThanOrEqual(Math.floor(beforeDelete / 1000) * 1000);
      expect(at).toBeLessThanOrEqual(Date.now());
    }
    expect(await openUploads(owner, presigned.uploadId)).toBe(0);
    const completed = await app.inject({ method: 'POST', url: `/v1/uploads/${presigned.uploadId}/complete`, headers, payload: { metadata: { imageName: 'given-up', imageVersion: 'v1-0-01' } } });
    expect([completed.statusCode, completed.json().code]).toEqual([409, 'ORBIT_ERR_UPLOAD_GIVEN_UP']);
    expect(published).toEqual([]);
    const listed = await s3.send(new ListObjectVersionsCommand({ Bucket: bucket, Prefix: directKey(owner, presigned.uploadId) }));
    expect([...(listed.Versions ?? []), ...(listed.DeleteMarkers ?? [])].filter((entry) => entry.Key === directKey(owner, presigned.uploadId))).toEqual([]);
  });

  it('opens no second upload for presigns sent again while its completion runs: each answers 200 with the same upload or 409 completed (found by a review: 201s, and their multipart uploads left open)', async () => {
    const { app } = retryGateway();
    const owner = `retry-race-${uniqueSuffix()}`;
    for (let round = 0; round < 3; round += 1) {
      const headers = { authorization: `Bearer ${await routeTestToken(owner)}`, 'idempotency-key': randomUUID() };
      const archive = randomBytes(6 * MIB);
      const presign = () => app.inject({ method: 'POST', url: '/v1/uploads/presign', headers, payload: { sizeBytes: archive.length } });
      const presigned = (await presign()).json() as PresignAnswer;
      await sendParts(presigned, archive);
      const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
      const [completed, ...retries] = await Promise.all([
        app.inject({ method: 'POST', url: `/v1/uploads/${presigned.uploadId}/complete`, headers, payload: { metadata: { imageName: 'retried', imageVersion: `v1-0-${round + 1}` } } }),
        ...[0, 5, 10, 25, 50, 100].map((ms) => sleep(ms).then(presign)),
      ]);
      expect(completed!.statusCode, completed!.body).toBe(202);
      for (const retry of retries) {
        const answer = retry.json() as Partial<PresignAnswer> & { code?: string };
        const seen = retry.statusCode === 200 ? { status: 200, uploadId: answer.uploadId, parts: answer.parts } : { status: retry.statusCode, code: answer.code };
        expect([{ status: 200, uploadId: presigned.uploadId, parts: [] }, { status: 409, code: 'ORBIT_ERR_UPLOAD_COMPLETED' }]).toContainEqual(seen);
      }
      expect(await openUploads(owner, presigned.uploadId)).toBe(0);
    }
  });

  it('deletes what a completed single PUT\'s URL took after its request succeeded when the completion is sent again or the upload is given up (found by a review: it stayed in staging a day)', async () => {
    const { app, published, succeed } = retryGateway();
    const owner = `put-after-${uniqueSuffix()}`;
    const headers = { authorization: `Bearer ${await routeTestToken(owner)}` };
    const presigned = (await app.inject({ method: 'POST', url: '/v1/uploads/presign', headers })).json() as { uploadId: string; url: string; headers: Record<string, string> };
    const putArchive = async (): Promise<void> => {
      const answer = await fetch(presigned.url, { method: 'PUT', body: randomBytes(64 * 1024), headers: presigned.headers });
      await answer.arrayBuffer();
      expect(answer.status).toBe(200);
    };
    const key = directKey(owner, presigned.uploadId);
    const versionsLeft = async (): Promise<number> => {
      const listed = await s3.send(new ListObjectVersionsCommand({ Bucket: bucket, Prefix: key }));
      return [...(listed.Versions ?? []), ...(listed.DeleteMarkers ?? [])].filter((entry) => entry.Key === key).length;
    };
    await putArchive();
    const complete = () => app.inject({ method: 'POST', url: `/v1/uploads/${presigned.uploadId}/complete`, headers, payload: { metadata: { imageName: 'put-after', imageVersion: 'v1-0-01' } } });
    expect((await complete()).statusCode).toBe(202);
    // While the request runs its staged version stays, later PUTs with it.
    await putArchive();
    expect((await complete()).statusCode).toBe(200);
    expect(await versionsLeft()).toBe(2);
    // Stored: the harbor-writer deleted the version it stored and the ones before it.
    const staged = published[0]!.staging!;
    await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: key, VersionId: staged.versionId! }));
    succeed(published[0]!.requestId);
    await putArchive();
    const replayed = await complete();
    expect([replayed.statusCode, replayed.json().requestId]).toEqual([200, published[0]!.requestId]);
    expect(await versionsLeft()).toBe(0);
    await putArchive();
    const deleted = await app.inject({ method: 'DELETE', url: `/v1/uploads/${presigned.uploadId}`, headers });
    expect([deleted.statusCode, deleted.json().code]).toEqual([409, 'ORBIT_ERR_UPLOAD_COMPLETED']);
    expect(await versionsLeft()).toBe(0);
  });
});

describe('GET /v1/uploads/{id}, the upload a presign\'s Location names (staging in MinIO)', () => {
  it('answers its owner open (its size and parts when in parts), then completed with the request that has it, or given up with when; anyone else 404 (found by a review: a 405)', async () => {
    const { app, published } = retryGateway();
    const owner = `state-${uniqueSuffix()}`;
    const headers = { authorization: `Bearer ${await routeTestToken(owner)}` };
    const stranger = { authorization: `Bearer ${await routeTestToken(`other-${owner}`)}` };
    const read = async (location: string | undefined, as = headers): Promise<{ status: number; body: Record<string, unknown> }> => {
      const answer = await app.inject({ method: 'GET', url: String(location), headers: as });
      return { status: answer.statusCode, body: answer.json() as Record<string, unknown> };
    };

    // 1. In parts: open, then completed.
    const archive = randomBytes(6 * MIB);
    const parted = await app.inject({ method: 'POST', url: '/v1/uploads/presign', headers, payload: { sizeBytes: archive.length } });
    const presigned = parted.json() as PresignAnswer;
    const location = parted.headers['location'];
    expect(location).toBe(`/v1/uploads/${presigned.uploadId}`);
    expect(await read(location)).toEqual({ status: 200, body: {
      uploadId: presigned.uploadId, state: 'open', sizeBytes: archive.length, expiresAt: presigned.expiresAt, partsUrl: `/v1/uploads/${presigned.uploadId}/parts`, completeUrl: presigned.completeUrl,
    } });
    expect((await read(location, stranger)).status).toBe(404);
    // Fresh URLs (GET partsUrl) work longer: the state says until when the last ones do (its URLs signed long ago, as
    // far as the record knows: times are to the second, and a signing in the same second says the same).
    await s3.send(new PutObjectCommand({
      Bucket: bucket, Key: presignRecordKey(owner, presigned.uploadId), Body: JSON.stringify({ sizeBytes: archive.length, expiresAt: '2026-01-01T00:00:00.000Z' }),
      ContentType: 'application/json', ServerSideEncryption: 'AES256',
    }));
    const fresh = await app.inject({ method: 'GET', url: `/v1/uploads/${presigned.uploadId}/parts`, headers });
    const freshExpiry = (fresh.json() as { expiresAt: string }).expiresAt;
    expect(freshExpiry >= presigned.expiresAt).toBe(true);
    expect((await read(location)).body['expiresAt']).toBe(freshExpiry);
    await sendParts(presigned, archive);
    const completed = await app.inject({ method: 'POST', url: presigned.completeUrl, headers, payload: { metadata: { imageName: 'state', imageVersion: 'v1-0-01' } } });
    expect(completed.statusCode, completed.body).toBe(202);
    const { requestId, statusUrl } = completed.json() as { requestId: string; statusUrl: string };
    expect(published.map((command) => command.requestId)).toEqual([requestId]);
    expect(await read(location)).toEqual({ status: 200, body: { uploadId: presigned.uploadId, state: 'completed', sizeBytes: archive.length, requestId, statusUrl } });
    expect((await read(location, stranger)).status).toBe(404);

    // 2. One PUT: open, then given up.
    const single = await app.inject({ method: 'POST', url: '/v1/uploads/presign', headers });
    const { uploadId, expiresAt } = single.json() as { uploadId: string; expiresAt: string };
    expect(await read(single.headers['location'])).toEqual({ status: 200, body: { uploadId, state: 'open', expiresAt, completeUrl: `/v1/uploads/${uploadId}/complete` } });
    const beforeDelete = Date.now();
    expect((await app.inject({ method: 'DELETE', url: String(single.headers['location']), headers })).statusCode).toBe(204);
    const given = await read(single.headers['location']);
    expect([given.status, given.body['uploadId'], given.body['state'], Object.keys(given.body).sort()]).toEqual([200, uploadId, 'given-up', ['givenUpAt', 'state', 'uploadId']]);
    // S3 keeps the record's time to the second.
    expect(Date.parse(String(given.body['givenUpAt']))).toBeGreaterThanOrEqual(Math.floor(beforeDelete / 1000) * 1000);
    expect(Date.parse(String(given.body['givenUpAt']))).toBeLessThanOrEqual(Date.now());
    expect((await read(single.headers['location'], stranger)).status).toBe(404);
    expect((await read(`/v1/uploads/${randomUUID()}`)).status).toBe(404);
  });
});
