import { createHash, randomBytes } from 'node:crypto';
import { DeleteObjectCommand, GetObjectCommand, HeadObjectCommand, ListMultipartUploadsCommand, ListObjectVersionsCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { bucketNames, createDynamo, createS3, imageBucketOf, newImageUID, tableName, type EnvironmentName } from '@orbit/lib';
import { sampleEvents, type TransferRequested } from '@orbit/schemas';
import { describe, expect, it } from 'vitest';
import { quietLogger, testConfig, uniqueSuffix } from '../../../test/helpers/index.js';
import { serverSideCopy } from './copy.js';
import { storedKeyOf } from './store-image.js';
import { recordTransferLocation, transferImage } from './transfer.js';

const s3 = createS3(testConfig);
const buckets = bucketNames(testConfig);
const deps = {
  s3, dynamo: createDynamo(testConfig), metadataTable: tableName('appImageMetadata', testConfig),
  bucketOf: (environment: EnvironmentName) => imageBucketOf(environment, buckets),
};

async function storedImage(body: Buffer): Promise<TransferRequested> {
  const imageUID = newImageUID();
  await s3.send(new PutObjectCommand({
    Bucket: buckets.development, Key: storedKeyOf(imageUID, 'v1-0-00'), Body: body, ServerSideEncryption: 'AES256',
    ChecksumSHA256: createHash('sha256').update(body).digest('base64'),
  }));
  return { ...sampleEvents(imageUID, `req-${uniqueSuffix()}`)['orbit.transfer.requested'], requestId: `req-${uniqueSuffix()}` };
}

const sha256Of = (body: Buffer): string => createHash('sha256').update(body).digest('hex');
const bytesOf = async (bucket: string, key: string): Promise<Buffer> => Buffer.from(await (await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }))).Body!.transformToByteArray());

/** An image stored as the harbor-writer stores it: the object, and its row with the validated SHA-256 and the S3 version. */
async function storedWithRecord(body: Buffer): Promise<{ event: TransferRequested; versionId: string }> {
  const event = await storedImage(body);
  const key = storedKeyOf(event.imageUID, 'v1-0-00');
  const versionId = (await s3.send(new HeadObjectCommand({ Bucket: buckets.development, Key: key }))).VersionId ?? '';
  await deps.dynamo.send(new PutCommand({ TableName: deps.metadataTable, Item: { imageUID: event.imageUID, imageVersion: 'v1-0-00', bucket: buckets.development, key, versionId, sha256: sha256Of(body), sizeBytes: body.length } }));
  return { event, versionId };
}

/** Another body put in its place out of band, with a checksum of its own: what Orbit never does. */
async function replaced(event: TransferRequested, body: Buffer): Promise<void> {
  await s3.send(new PutObjectCommand({
    Bucket: buckets.development, Key: storedKeyOf(event.imageUID, 'v1-0-00'), Body: body, ServerSideEncryption: 'AES256', ChecksumSHA256: createHash('sha256').update(body).digest('base64'),
  }));
}

describe('harbor-writer transfers against MinIO', () => {
  it('moves on the bytes that were validated, not what was put in their place in Development afterwards', async () => {
    const validated = randomBytes(64 * 1024);
    const { event, versionId } = await storedWithRecord(validated);
    await replaced(event, Buffer.from('not the image that was validated'));
    const outcome = await transferImage(event, deps, quietLogger);
    expect(outcome).toMatchObject({ kind: 'copied', event: { sha256: sha256Of(validated), sizeBytes: validated.length, source: { versionId }, notes: event.notes } });
    expect(sha256Of(await bytesOf(buckets.testing, storedKeyOf(event.imageUID, 'v1-0-00')))).toBe(sha256Of(validated));

    // With the validated version gone as well, nothing can be moved on: refused with its reason, nothing copied.
    const lost = await storedWithRecord(randomBytes(1024));
    await replaced(lost.event, Buffer.from('something else'));
    await s3.send(new DeleteObjectCommand({ Bucket: buckets.development, Key: storedKeyOf(lost.event.imageUID, 'v1-0-00'), VersionId: lost.versionId }));
    const refused = await transferImage(lost.event, deps, quietLogger);
    expect(refused).toMatchObject({ kind: 'failed', event: { reasonCode: 'SOURCE_CHANGED' } });
    if (refused.kind === 'failed') expect(refused.event.message).toContain(sha256Of(Buffer.from('something else')));
    const left = await s3.send(new ListObjectVersionsCommand({ Bucket: buckets.testing, Prefix: storedKeyOf(lost.event.imageUID, 'v1-0-00') }));
    expect(left.Versions ?? []).toHaveLength(0);
  });

  it('copies Development to Testing server side, keeps the source, and copies nothing twice on a redelivery', async () => {
    const body = Buffer.alloc(128 * 1024, 3);
    const event = await storedImage(body);
    const first = await transferImage(event, deps, quietLogger);
    expect(first).toMatchObject({ kind: 'copied', event: { pid: 'c8bms18-c16bre09-e50', sha256: createHash('sha256').update(body).digest('hex'), sizeBytes: body.length } });
    const key = storedKeyOf(event.imageUID, 'v1-0-00');
    if (first.kind !== 'copied') throw new Error('not copied');
    await recordTransferLocation(first.event, deps);
    const row = await deps.dynamo.send(new GetCommand({ TableName: deps.metadataTable, Key: { imageUID: event.imageUID, imageVersion: 'v1-0-00' } }));
    expect(row.Item?.['locationTesting']).toEqual({ bucket: buckets.testing, key, versionId: first.event.target.versionId });
    expect((await s3.send(new HeadObjectCommand({ Bucket: buckets.development, Key: key }))).ContentLength).toBe(body.length);
    await transferImage(event, deps, quietLogger);
    const versions = await s3.send(new ListObjectVersionsCommand({ Bucket: buckets.testing, Prefix: key }));
    expect(versions.Versions?.filter((version) => version.Key === key)).toHaveLength(1);
  });

  it('copies an image above the single-copy limit in parts: every byte and its recorded SHA-256 arrive, a redelivery copies nothing', async () => {
    const body = randomBytes(11 * 1024 * 1024 + 5);
    const sha256 = createHash('sha256').update(body).digest('hex');
    const inParts = { ...deps, copyLimits: { singleCopyBytes: 5 * 1024 * 1024, partBytes: 5 * 1024 * 1024, partsInParallel: 2 } };
    // Stored as the store step stores an image this size: copied in the same parts. S3 keeps no SHA-256 of a copy in parts, so
    // a redelivery that never recorded its copy knows it by the ETag it shares with the source (provenCopyOf).
    const event = await storedImage(body);
    const key = storedKeyOf(event.imageUID, 'v1-0-00');
    const { versionId } = await serverSideCopy(s3, { bucket: buckets.development, key, etag: null }, { bucket: buckets.development, key }, body.length, { 'orbit-sha256': sha256 }, inParts.copyLimits);
    await deps.dynamo.send(new PutCommand({ TableName: deps.metadataTable, Item: { imageUID: event.imageUID, imageVersion: 'v1-0-00', bucket: buckets.development, key, versionId, sha256, sizeBytes: body.length } }));
    expect(await transferImage(event, inParts, quietLogger)).toMatchObject({ kind: 'copied', event: { sha256, sizeBytes: body.length } });
    const copy = await s3.send(new GetObjectCommand({ Bucket: buckets.testing, Key: key }));
    expect(copy.Metadata?.['orbit-sha256']).toBe(sha256);
    expect(createHash('sha256').update(Buffer.from(await copy.Body!.transformToByteArray())).digest('hex')).toBe(sha256);
    await transferImage(event, inParts, quietLogger);
    const versions = await s3.send(new ListObjectVersionsCommand({ Bucket: buckets.testing, Prefix: key }));
    expect(versions.Versions?.filter((version) => version.Key === key)).toHaveLength(1);
  });

  it('leaves no object and no open multipart upload behind when a part copy fails', async () => {
    const key = `parts-fail/${uniqueSuffix()}.tar`;
    const limits = { singleCopyBytes: 5 * 1024 * 1024, partBytes: 5 * 1024 * 1024, partsInParallel: 3 };
    // Twelve MiB of a source that is not there: every part copy fails, some while others are in flight.
    await expect(serverSideCopy(s3, { bucket: buckets.development, key: `missing/${uniqueSuffix()}.tar`, etag: null }, { bucket: buckets.testing, key }, 12 * 1024 * 1024, {}, limits)).rejects.toThrow();
    const open = await s3.send(new ListMultipartUploadsCommand({ Bucket: buckets.testing, Prefix: key }));
    expect(open.Uploads ?? []).toHaveLength(0);
    const versions = await s3.send(new ListObjectVersionsCommand({ Bucket: buckets.testing, Prefix: key }));
    expect(versions.Versions ?? []).toHaveLength(0);
  });

  it('fails the transfer with a reason when the source is missing or the target bucket does not exist', async () => {
    const missing = { ...(await storedImage(Buffer.from('x'))), imageUID: newImageUID() };
    expect(await transferImage(missing, deps, quietLogger)).toMatchObject({ kind: 'failed', event: { pid: 'c8bms18-c20bre24-911', reasonCode: 'SOURCE_OBJECT_MISSING' } });
    const event = await storedImage(Buffer.from('y'));
    const nowhere = { ...deps, bucketOf: (environment: EnvironmentName) => (environment === 'Testing' ? `no-such-bucket-${uniqueSuffix()}` : buckets.development) };
    expect(await transferImage(event, nowhere, quietLogger)).toMatchObject({ kind: 'failed', event: { reasonCode: 'BUCKET_MISSING' } });
  });
});
