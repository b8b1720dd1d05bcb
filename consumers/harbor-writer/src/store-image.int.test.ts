import { createHash, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  CompleteMultipartUploadCommand, CreateMultipartUploadCommand, GetObjectCommand, HeadObjectCommand, ListObjectVersionsCommand, PutObjectCommand, UploadPartCommand,
} from '@aws-sdk/client-s3';
import { GetCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { bucketNames, createDynamo, createS3, newImageUID, tableName } from '@orbit/lib';
import { sampleEvents, type ImageValidated } from '@orbit/schemas';
import { quietLogger, testConfig, uniqueSuffix } from '../../../test/helpers/index.js';
import { storedKeyOf, storeValidatedImage } from './store-image.js';
import { recordTransferLocation } from './transfer.js';

const s3 = createS3(testConfig);
const dynamo = createDynamo(testConfig);
const buckets = bucketNames(testConfig);
const deps = {
  s3, dynamo, developmentBucket: buckets.development, stagingBucket: buckets.staging,
  metadataTable: tableName('appImageMetadata', testConfig), manifestTable: tableName('userInputManifest', testConfig),
};

async function staged(body: Buffer, claimedSha?: string): Promise<ImageValidated> {
  // The sample events' owner is dev1: their uploads stage under uploads/dev1/.
  const key = `uploads/dev1/test/${uniqueSuffix()}.tar`;
  const put = await s3.send(new PutObjectCommand({ Bucket: buckets.staging, Key: key, Body: body, ServerSideEncryption: 'AES256' }));
  const base = sampleEvents(newImageUID(), `req-${uniqueSuffix()}`)['orbit.image.validated'];
  return { ...base, staging: { bucket: buckets.staging, key, versionId: put.VersionId ?? null }, sizeBytes: body.length, sha256: claimedSha ?? createHash('sha256').update(body).digest('hex') };
}

const exists = (bucket: string, key: string): Promise<boolean> => s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key })).then(() => true, () => false);

describe('harbor-writer against MinIO and DynamoDB Local', () => {
  it('copies server side, verifies the checksum, records the rows and removes the staged object; a redelivery changes nothing', async () => {
    const body = Buffer.alloc(256 * 1024, 9);
    const event = await staged(body);
    const first = await storeValidatedImage(event, deps, quietLogger);
    expect(first.kind).toBe('stored');
    const key = storedKeyOf(event.imageUID, event.metadata.imageVersion);
    const object = await s3.send(new GetObjectCommand({ Bucket: buckets.development, Key: key }));
    expect(object.ServerSideEncryption).toBe('AES256');
    expect(createHash('sha256').update(Buffer.from(await object.Body!.transformToByteArray())).digest('hex')).toBe(event.sha256);
    expect(await exists(buckets.staging, event.staging.key)).toBe(false);
    const row = await dynamo.send(new GetCommand({ TableName: deps.metadataTable, Key: { imageUID: event.imageUID, imageVersion: event.metadata.imageVersion } }));
    expect(row.Item).toMatchObject({ sha256: event.sha256, key, createdTimestampUnix: expect.any(Number) });
    const again = await storeValidatedImage(event, deps, quietLogger);
    expect(again.kind).toBe('stored');
    if (first.kind === 'stored' && again.kind === 'stored') expect(again.event.stored.versionId).toBe(first.event.stored.versionId);
  });

  it('passes on when the request was accepted: a run again stamps its ImageStored anew, with the same requestedAt (found by a review: a re-run was a newer upload)', async () => {
    const requestedAt = Date.parse('2026-11-22T09:59:00Z');
    const event = { ...(await staged(Buffer.alloc(1024, 7))), requestedAt };
    const first = await storeValidatedImage(event, deps, quietLogger);
    const again = await storeValidatedImage(event, deps, quietLogger);
    expect([first, again]).toMatchObject([{ kind: 'stored', event: { requestedAt } }, { kind: 'stored', event: { requestedAt } }]);
    // One validated before the field: none, not the store's own time.
    const { requestedAt: _absent, ...before } = await staged(Buffer.alloc(1024, 8));
    expect(await storeValidatedImage(before, deps, quietLogger)).toMatchObject({ kind: 'stored', event: { requestedAt: null } });
  });

  it('removes the validated version of the staged key and every one before it: a presigned URL sent three times left two (found by a review)', async () => {
    const body = Buffer.alloc(32 * 1024, 5);
    const first = await staged(Buffer.alloc(32 * 1024, 1));
    // The same key PUT twice more, as a client retrying its single presigned PUT does; the last one is validated.
    await s3.send(new PutObjectCommand({ Bucket: buckets.staging, Key: first.staging.key, Body: Buffer.alloc(32 * 1024, 2), ServerSideEncryption: 'AES256' }));
    const last = await s3.send(new PutObjectCommand({ Bucket: buckets.staging, Key: first.staging.key, Body: body, ServerSideEncryption: 'AES256' }));
    const event = { ...first, staging: { ...first.staging, versionId: last.VersionId ?? null }, sha256: createHash('sha256').update(body).digest('hex') };
    const versionsLeft = async (): Promise<number> => {
      const listed = await s3.send(new ListObjectVersionsCommand({ Bucket: buckets.staging, Prefix: event.staging.key }));
      return [...(listed.Versions ?? []), ...(listed.DeleteMarkers ?? [])].filter((entry) => entry.Key === event.staging.key).length;
    };
    expect(await versionsLeft()).toBe(3);
    expect((await storeValidatedImage(event, deps, quietLogger)).kind).toBe('stored');
    expect(await versionsLeft()).toBe(0);
  });

  it('keeps what a transfer recorded in the metadata row when the store is redelivered after it', async () => {
    const event = await staged(Buffer.alloc(64 * 1024, 3));
    const first = await storeValidatedImage(event, deps, quietLogger);
    if (first.kind !== 'stored') throw new Error(`not stored: ${JSON.stringify(first.event)}`);
    const key = { imageUID: event.imageUID, imageVersion: event.metadata.imageVersion };
    const copied = { ...sampleEvents(event.imageUID)['orbit.image.copied'], imageVersion: event.metadata.imageVersion };
    await recordTransferLocation(copied, deps);
    const before = (await dynamo.send(new GetCommand({ TableName: deps.metadataTable, Key: key, ConsistentRead: true }))).Item;
    expect(before?.['locationTesting']).toEqual(copied.target);

    await storeValidatedImage(event, deps, quietLogger);
    const after = (await dynamo.send(new GetCommand({ TableName: deps.metadataTable, Key: key, ConsistentRead: true }))).Item;
    expect(after?.['locationTesting']).toEqual(copied.target);
    expect(after).toMatchObject({ sha256: event.sha256, createdTimestampUnix: before?.['createdTimestampUnix'], createdTimestampUTC: before?.['createdTimestampUTC'] });
  });

  it('fails with CHECKSUM_MISMATCH and leaves nothing in the Development bucket when the bytes differ from the upload', async () => {
    const event = await staged(Buffer.from('the real bytes'), 'f'.repeat(64));
    const outcome = await storeValidatedImage(event, deps, quietLogger);
    expect(outcome.kind === 'failed' && outcome.event.reasonCode).toBe('CHECKSUM_MISMATCH');
    expect(await exists(buckets.development, storedKeyOf(event.imageUID, event.metadata.imageVersion))).toBe(false);
  });

  // The part path is what images above 5 GiB take; small limits let it run on a few MiB.
  const inParts = { ...deps, copyLimits: { singleCopyBytes: 5 * 1024 * 1024, partBytes: 5 * 1024 * 1024, partsInParallel: 2 } };

  it('copies an image above the single-copy limit in parts, every byte in place, and a redelivery copies nothing again', async () => {
    const body = randomBytes(11 * 1024 * 1024 + 17);
    const event = await staged(body);
    const first = await storeValidatedImage(event, inParts, quietLogger);
    expect(first.kind).toBe('stored');
    const key = storedKeyOf(event.imageUID, event.metadata.imageVersion);
    const object = await s3.send(new GetObjectCommand({ Bucket: buckets.development, Key: key }));
    expect(object.Metadata?.['orbit-sha256']).toBe(event.sha256);
    expect(createHash('sha256').update(Buffer.from(await object.Body!.transformToByteArray())).digest('hex')).toBe(event.sha256);
    // The staged object is gone by now: a redelivery must recognise the copy rather than look for it.
    const again = await storeValidatedImage(event, inParts, quietLogger);
    expect(again.kind).toBe('stored');
    if (first.kind === 'stored' && again.kind === 'stored') expect(again.event.stored.versionId).toBe(first.event.stored.versionId);
  });

  it('keeps no part copy whose size differs from the upload', async () => {
    const body = randomBytes(6 * 1024 * 1024);
    const event = { ...(await staged(body)), sizeBytes: body.length + 1 };
    const outcome = await storeValidatedImage(event, inParts, quietLogger);
    expect(outcome.kind === 'failed' && outcome.event.reasonCode).toBe('CHECKSUM_MISMATCH');
    expect(await exists(buckets.development, storedKeyOf(event.imageUID, event.metadata.imageVersion))).toBe(false);
  });

  it('fails with STAGED_OBJECT_MISSING when the staged upload is gone', async () => {
    const event = { ...(await staged(Buffer.from('x'))), staging: { bucket: buckets.staging, key: `uploads/dev1/none/${uniqueSuffix()}.tar`, versionId: null } };
    const outcome = await storeValidatedImage(event, deps, quietLogger);
    expect(outcome.kind === 'failed' && outcome.event.reasonCode).toBe('STAGED_OBJECT_MISSING');
  });

  /** Bytes at `key` in `bucket`, with the S3 version that holds them. */
  async function put(bucket: string, key: string, body: Buffer): Promise<string | null> {
    return (await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, ServerSideEncryption: 'AES256' }))).VersionId ?? null;
  }
  const bytesOf = async (bucket: string, key: string, versionId: string | null): Promise<Buffer> =>
    Buffer.from(await (await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key, ...(versionId ? { VersionId: versionId } : {}) }))).Body!.transformToByteArray());

  /** An ImageValidated for a fresh image whose staging names `ref`, its size and SHA-256 those of `body`, as a forger who read them would send. */
  function forged(ref: { bucket: string; key: string; versionId: string | null }, body: Buffer): ImageValidated {
    const base = sampleEvents(newImageUID(), `req-${uniqueSuffix()}`)['orbit.image.validated'];
    return { ...base, staging: ref, sizeBytes: body.length, sha256: createHash('sha256').update(body).digest('hex') };
  }

  it("fails with STAGING_NOT_OWNED and leaves another image's stored archive alone when the event's staging names it", async () => {
    const victim = Buffer.from(`the victim's image ${uniqueSuffix()}`);
    const victimKey = storedKeyOf(newImageUID(), 'v1-0-00');
    const victimVersion = await put(buckets.development, victimKey, victim);
    const event = forged({ bucket: buckets.development, key: victimKey, versionId: victimVersion }, victim);

    const outcome = await storeValidatedImage(event, deps, quietLogger);

    expect(outcome.kind === 'failed' && outcome.event.reasonCode).toBe('STAGING_NOT_OWNED');
    expect(outcome.kind === 'failed' && outcome.event.message).toContain(`${buckets.development}/${victimKey}`);
    expect(await bytesOf(buckets.development, victimKey, victimVersion)).toEqual(victim);
    expect(await exists(buckets.development, storedKeyOf(event.imageUID, event.metadata.imageVersion))).toBe(false);
  });

  it("fails with STAGING_NOT_OWNED and leaves another owner's staged upload alone", async () => {
    const theirs = Buffer.from(`dev2's upload ${uniqueSuffix()}`);
    const theirKey = `uploads/dev2/direct/${uniqueSuffix()}.tar`;
    const theirVersion = await put(buckets.staging, theirKey, theirs);
    const event = forged({ bucket: buckets.staging, key: theirKey, versionId: theirVersion }, theirs);

    const outcome = await storeValidatedImage(event, deps, quietLogger);

    expect(outcome.kind === 'failed' && outcome.event.reasonCode).toBe('STAGING_NOT_OWNED');
    expect(await bytesOf(buckets.staging, theirKey, theirVersion)).toEqual(theirs);
    expect(await exists(buckets.development, storedKeyOf(event.imageUID, event.metadata.imageVersion))).toBe(false);
  });

  // Found by a data-integrity review: another version at the Development key claiming the request and the validated
  // SHA-256 in its metadata was kept on a redelivery and recorded; what S3 shows counts, the metadata does not.
  describe('s45fs: an object at the Development key is kept only where S3 shows it holds the validated bytes', () => {
    const sha256Of = (body: Buffer): string => createHash('sha256').update(body).digest('hex');
    const s45fsStaged = async (body: Buffer): Promise<ImageValidated> => {
      const event = await staged(body);
      return { ...event, requestId: `s45fs-req-${uniqueSuffix()}` };
    };
    const versionsAt = async (key: string): Promise<string[]> =>
      ((await s3.send(new ListObjectVersionsCommand({ Bucket: buckets.development, Prefix: key }))).Versions ?? []).filter((entry) => entry.Key === key).map((entry) => entry.VersionId ?? '');
    /** Same size, other bytes, put over the key with the store's own claims: a CRC32 of S3's, no SHA-256. */
    const forgedOver = async (event: ImageValidated, metadata: Record<string, string> = {}): Promise<string> => {
      const body = Buffer.concat([Buffer.from('hello EVIL '), Buffer.alloc(event.sizeBytes)]).subarray(0, event.sizeBytes);
      const key = storedKeyOf(event.imageUID, event.metadata.imageVersion);
      const put = await s3.send(new PutObjectCommand({
        Bucket: buckets.development, Key: key, Body: body, ServerSideEncryption: 'AES256', ChecksumAlgorithm: 'CRC32',
        Metadata: { 'orbit-request-id': event.requestId, 'orbit-image-uid': event.imageUID, 'orbit-sha256': event.sha256, ...metadata },
      }));
      expect((await s3.send(new HeadObjectCommand({ Bucket: buckets.development, Key: key, ChecksumMode: 'ENABLED' }))).ChecksumSHA256).toBeUndefined();
      return put.VersionId ?? '';
    };
    /** The consumer killed after its copy, before it recorded it: the staged upload stays, the row is not written. */
    const killedBeforeRecording = { ...deps, dynamo: { send: async (command: unknown) => (command instanceof UpdateCommand ? Promise.reject(new Error('killed')) : dynamo.send(command as GetCommand)) } as unknown as DynamoDBDocumentClient };
    const rowOf = async (event: ImageValidated) =>
      (await dynamo.send(new GetCommand({ TableName: deps.metadataTable, Key: { imageUID: event.imageUID, imageVersion: event.metadata.imageVersion }, ConsistentRead: true }))).Item;

    it('copies the staged upload over a forged object that claims the request and its SHA-256, and records the copy', async () => {
      const body = randomBytes(64 * 1024);
      const event = await s45fsStaged(body);
      const key = storedKeyOf(event.imageUID, event.metadata.imageVersion);
      const forged = await forgedOver(event, { 'orbit-copied-from-version': event.staging.versionId ?? '' });
      const outcome = await storeValidatedImage(event, deps, quietLogger);
      if (outcome.kind !== 'stored') throw new Error(`not stored: ${JSON.stringify(outcome.event)}`);
      expect(outcome.event.stored.versionId).not.toBe(forged);
      expect(sha256Of(await bytesOf(buckets.development, key, outcome.event.stored.versionId))).toBe(event.sha256);
      expect(sha256Of(await bytesOf(buckets.development, key, null))).toBe(event.sha256);
      expect(await rowOf(event)).toMatchObject({ versionId: outcome.event.stored.versionId, sha256: event.sha256 });
    });

    it('keeps the version it recorded, not a forged one put over it, once the staged upload is gone', async () => {
      const body = randomBytes(64 * 1024);
      const event = await s45fsStaged(body);
      const key = storedKeyOf(event.imageUID, event.metadata.imageVersion);
      const first = await storeValidatedImage(event, deps, quietLogger);
      if (first.kind !== 'stored') throw new Error(`not stored: ${JSON.stringify(first.event)}`);
      const forged = await forgedOver(event);
      const again = await storeValidatedImage(event, deps, quietLogger);
      expect(again).toMatchObject({ kind: 'stored', event: { stored: { versionId: first.event.stored.versionId } } });
      expect(await rowOf(event)).toMatchObject({ versionId: first.event.stored.versionId });
      expect(await versionsAt(key)).toEqual([forged, first.event.stored.versionId]);
    });

    it('a redelivery after its own store copies nothing: recorded, or killed before it recorded the copy', async () => {
      const event = await s45fsStaged(randomBytes(64 * 1024));
      const key = storedKeyOf(event.imageUID, event.metadata.imageVersion);
      await expect(storeValidatedImage(event, killedBeforeRecording, quietLogger)).rejects.toThrow('killed');
      const [copied] = await versionsAt(key);
      const first = await storeValidatedImage(event, deps, quietLogger);
      expect(first).toMatchObject({ kind: 'stored', event: { stored: { versionId: copied } } });
      const again = await storeValidatedImage(event, deps, quietLogger);
      expect(again).toMatchObject({ kind: 'stored', event: { stored: { versionId: copied } } });
      expect(await versionsAt(key)).toEqual([copied]);
    });

    it('in parts (no SHA-256 of S3\'s): killed before recording, the redelivery knows its own copy of the staged version by its ETag', async () => {
      // Staged in the parts the copy uses, so the copy's ETag is the staged version's.
      const body = randomBytes(11 * 1024 * 1024 + 5);
      const event = await s45fsStaged(Buffer.alloc(1));
      const upload = await s3.send(new CreateMultipartUploadCommand({ Bucket: buckets.staging, Key: event.staging.key, ServerSideEncryption: 'AES256' }));
      const parts = [];
      for (let first = 0, number = 1; first < body.length; first += 5 * 1024 * 1024, number++) {
        const part = await s3.send(new UploadPartCommand({ Bucket: buckets.staging, Key: event.staging.key, UploadId: upload.UploadId, PartNumber: number, Body: body.subarray(first, first + 5 * 1024 * 1024) }));
        parts.push({ ETag: part.ETag ?? '', PartNumber: number });
      }
      const done = await s3.send(new CompleteMultipartUploadCommand({ Bucket: buckets.staging, Key: event.staging.key, UploadId: upload.UploadId, MultipartUpload: { Parts: parts } }));
      const inPartsEvent = { ...event, staging: { ...event.staging, versionId: done.VersionId ?? null }, sizeBytes: body.length, sha256: sha256Of(body) };
      const key = storedKeyOf(event.imageUID, event.metadata.imageVersion);
      await expect(storeValidatedImage(inPartsEvent, { ...killedBeforeRecording, copyLimits: inParts.copyLimits }, quietLogger)).rejects.toThrow('killed');
      const [copied] = await versionsAt(key);
      const again = await storeValidatedImage(inPartsEvent, inParts, quietLogger);
      expect(again).toMatchObject({ kind: 'stored', event: { stored: { versionId: copied } } });
      expect(await versionsAt(key)).toEqual([copied]);
    });
  });
});
