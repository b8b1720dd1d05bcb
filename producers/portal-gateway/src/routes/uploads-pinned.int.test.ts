/**
 * An upload pinned by SHA-256, on the local stack's staging bucket (MinIO): the gateway in-process on the real S3
 * upload store, and the image-validator's decision (validateUpload) on the command the gateway published, reading the
 * staged archive from S3 as the validator does. The running pipeline uses the built dist/, which these sources are not.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { Readable } from 'node:stream';
import { GetObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { createPresigningS3, createS3, ownerKeySegment } from '@orbit/lib';
import type { ObjectRef, PipelineFailed, UploadRequested } from '@orbit/schemas';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { quietLogger, testConfig, uniqueSuffix } from '../../../../test/helpers/index.js';
import { archiveOf, buildImage, ociEntries } from '../../../../consumers/image-validator/test-fixtures/images.js';
import { DEFAULT_VALIDATION_LIMITS } from '../../../../consumers/image-validator/src/archive/limits.js';
import { validateUpload } from '../../../../consumers/image-validator/src/handle.js';
import { buildApp } from '../app.js';
import { tokenVerifier } from '../auth.js';
import { s3UploadStore } from '../stores/s3-uploads.js';
import { ROUTE_TEST_AUTH, routeTestToken } from '../testing/route-gateway.js';

const MIB = 1024 ** 2;
const s3 = createS3(testConfig);
const bucket = testConfig.ORBIT_BUCKET_STAGING;
const sha256 = (bytes: Buffer): string => createHash('sha256').update(bytes).digest('hex');

const image = await buildImage({ repoTags: ['pinned:1.0.0'], layers: [{ files: { app: 'x' } }] });
const archive = await archiveOf(ociEntries(image), { gzip: true });

/** A gateway on the real staging bucket, whose commands and refusals are kept here instead of being sent. */
function pinnedGateway() {
  const published: UploadRequested[] = [];
  const refused: PipelineFailed[] = [];
  const app = buildApp({
    ready: async () => true, metrics: new Registry(), verify: tokenVerifier({ kind: 'hs256', ...ROUTE_TEST_AUTH }),
    uploads: s3UploadStore(s3, bucket, 64 * MIB, { presigner: createPresigningS3(testConfig), presignSeconds: 600, partSizeBytes: 5 * MIB }),
    names: { uidFor: async () => 'P'.repeat(60), peek: async () => undefined },
    requests: { get: async () => undefined, finishedAmong: async () => new Set(), list: async () => ({ requests: [] }) },
    events: { byCorrelationId: async () => [], byImageUID: async () => ({ entries: [] }) },
    publish: {
      uploadRequested: async (event) => void published.push(event),
      uploadRefused: async (event) => void refused.push(event),
    },
    maxUploadBytes: 64 * MIB, logger: quietLogger,
  });
  return { app, published, refused };
}

/** The image-validator's verdict on a command, reading its staged archive (the version it names) from S3. */
function validated(event: UploadRequested) {
  const openStaged = async (ref: ObjectRef): Promise<Readable> => {
    const object = await s3.send(new GetObjectCommand({ Bucket: ref.bucket, Key: ref.key, ...(ref.versionId ? { VersionId: ref.versionId } : {}) }));
    return object.Body as Readable;
  };
  return validateUpload(event, { openStaged, names: { holderOf: async () => 'nobody' }, limits: DEFAULT_VALIDATION_LIMITS, stagingBucket: bucket });
}

async function presignedAndPut(app: ReturnType<typeof pinnedGateway>['app'], headers: Record<string, string>, ...bodies: Buffer[]): Promise<string> {
  const presigned = await app.inject({ method: 'POST', url: '/v1/uploads/presign', headers });
  expect(presigned.statusCode, presigned.body).toBe(201);
  const { uploadId, url, headers: putHeaders } = presigned.json() as { uploadId: string; url: string; headers: Record<string, string> };
  for (const body of bodies) {
    const answer = await fetch(url, { method: 'PUT', body, headers: putHeaders });
    await answer.arrayBuffer();
    expect(answer.status).toBe(200);
  }
  return uploadId;
}

describe('an upload pinned by SHA-256 (staging in MinIO, the validator\'s decision from handle.ts)', () => {
  it('refuses CHECKSUM_MISMATCH a presigned archive its URL took again after the one the completion pinned, naming the completion\'s sha256; takes the one that matches', async () => {
    const { app, published } = pinnedGateway();
    const owner = `pin-${uniqueSuffix()}`;
    const headers = { authorization: `Bearer ${await routeTestToken(owner)}` };
    const metadata = { imageName: 'pinned', imageVersion: 'v1-0-00' };
    // 1. The URL used twice within its hour: the archive meant, then other bytes over it.
    const overwritten = await presignedAndPut(app, headers, archive, randomBytes(2048));
    const completed = await app.inject({ method: 'POST', url: `/v1/uploads/${overwritten}/complete`, headers, payload: { metadata, sha256: `sha256:${sha256(archive)}` } });
    expect(completed.statusCode, completed.body).toBe(202);
    expect(published[0]?.sha256).toBe(sha256(archive));
    const refused = await validated(published[0]!);
    expect(refused).toMatchObject({ kind: 'rejected', reasonCode: 'CHECKSUM_MISMATCH' });
    expect(refused.kind === 'rejected' ? refused.message : '').toContain(`but the completion gave sha256 ${sha256(archive)}`);
    // 2. The archive meant, pinned: validated.
    const meant = await presignedAndPut(app, headers, archive);
    const taken = await app.inject({ method: 'POST', url: `/v1/uploads/${meant}/complete`, headers, payload: { metadata: { ...metadata, imageVersion: 'v1-0-01' }, sha256: sha256(archive).toUpperCase() } });
    expect(taken.statusCode, taken.body).toBe(202);
    expect(await validated(published[1]!)).toMatchObject({ kind: 'validated', sha256: sha256(archive) });
  });

  it('refuses a streamed archive whose X-Checksum-Sha256 is another: 422 CHECKSUM_MISMATCH, a failed request recorded, nothing published and nothing left in staging', async () => {
    const { app, published, refused } = pinnedGateway();
    const owner = `pin-${uniqueSuffix()}`;
    const headers = { authorization: `Bearer ${await routeTestToken(owner)}` };
    const boundary = `pin${uniqueSuffix()}`;
    const payload = Buffer.concat([
      Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="metadata"\r\n\r\n${JSON.stringify({ imageName: 'pinned', imageVersion: 'v1-0-00' })}\r\n`),
      Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="image"; filename="image.tar"\r\nContent-Type: application/x-tar\r\n\r\n`),
      archive, Buffer.from(`\r\n--${boundary}--\r\n`),
    ]);
    const wrong = 'ab'.repeat(32);
    const answer = await app.inject({ method: 'POST', url: '/v1/uploads', payload, headers: { ...headers, 'content-type': `multipart/form-data; boundary=${boundary}`, 'x-checksum-sha256': wrong } });
    expect([answer.statusCode, answer.json().code]).toEqual([422, 'CHECKSUM_MISMATCH']);
    expect(answer.json().message).toContain(`hashes to sha256 ${sha256(archive)}, but X-Checksum-Sha256 gave ${wrong}`);
    expect(published).toEqual([]);
    expect(refused.map((event) => [event.reasonCode, event.requestId])).toEqual([['CHECKSUM_MISMATCH', answer.json().requestId]]);
    const left = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: `uploads/${ownerKeySegment(owner)}/` }));
    expect(left.Contents ?? []).toEqual([]);
  });

  it('checks Artifactory\'s X-Checksum-Sha1, X-Checksum-Md5 and X-Checksum against the archive, and Content-MD5 against the body: a wrong one is 422 CHECKSUM_MISMATCH naming it, with nothing left in staging (they were ignored: found by a review)', async () => {
    const { app, published, refused } = pinnedGateway();
    const owner = `pin-${uniqueSuffix()}`;
    const headers = { authorization: `Bearer ${await routeTestToken(owner)}` };
    const boundary = `pin${uniqueSuffix()}`;
    const body = (imageVersion: string) => Buffer.concat([
      Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="metadata"\r\n\r\n${JSON.stringify({ imageName: 'pinned', imageVersion })}\r\n`),
      Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="image"; filename="image.tar"\r\nContent-Type: application/x-tar\r\n\r\n`),
      archive, Buffer.from(`\r\n--${boundary}--\r\n`),
    ]);
    const upload = (imageVersion: string, pin: Record<string, string>) =>
      app.inject({ method: 'POST', url: '/v1/uploads', payload: body(imageVersion), headers: { ...headers, 'content-type': `multipart/form-data; boundary=${boundary}`, ...pin } });
    const hex = (algorithm: string, bytes: Buffer) => createHash(algorithm).update(bytes).digest('hex');
    const wrongs: [string, string, string][] = [
      ['x-checksum-sha1', '0'.repeat(40), `hashes to sha1 ${hex('sha1', archive)}, but X-Checksum-Sha1 gave ${'0'.repeat(40)}`],
      ['x-checksum-md5', '0'.repeat(32), `hashes to md5 ${hex('md5', archive)}, but X-Checksum-Md5 gave ${'0'.repeat(32)}`],
      ['x-checksum', '0'.repeat(32), `hashes to md5 ${hex('md5', archive)}, but X-Checksum gave ${'0'.repeat(32)}`],
      ['content-md5', 'AAAAAAAAAAAAAAAAAAAAAA==', `the body received hashes to md5 ${hex('md5', body('v1-0-04'))}, but Content-MD5 gave ${'0'.repeat(32)}`],
    ];
    for (const [index, [header, value, said]] of wrongs.entries()) {
      const answer = await upload(`v1-0-0${index + 1}`, { [header]: value });
      expect([answer.statusCode, answer.json().code, answer.json().problems?.[0]?.field], header).toEqual([422, 'CHECKSUM_MISMATCH', `header.${header}`]);
      expect(answer.json().message, header).toContain(said);
    }
    expect(published).toEqual([]);
    expect(refused.map((event) => event.reasonCode)).toEqual(['CHECKSUM_MISMATCH', 'CHECKSUM_MISMATCH', 'CHECKSUM_MISMATCH', 'CHECKSUM_MISMATCH']);
    const left = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: `uploads/${ownerKeySegment(owner)}/` }));
    expect(left.Contents ?? []).toEqual([]);
    // JFrog's CLI sends all three of the archive's; right, with the body's Content-MD5, they are taken.
    const right = await upload('v2-0-00', {
      'x-checksum-sha256': sha256(archive), 'x-checksum-sha1': hex('sha1', archive).toUpperCase(), 'x-checksum-md5': hex('md5', archive),
      'content-md5': createHash('md5').update(body('v2-0-00')).digest('base64'),
    });
    expect(right.statusCode, right.body).toBe(202);
    expect(published.map((event) => event.sha256)).toEqual([sha256(archive)]);
  });
});
