import { createHash, randomBytes } from 'node:crypto';
import { GetObjectCommand, HeadObjectCommand, ListObjectVersionsCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { bucketNames, createDynamo, createS3, imageBucketOf, kustomizeTableKeyOf, newImageUID, tableName, type EnvironmentName } from '@orbit/lib';
import { sampleEvents, type TransferRequested } from '@orbit/schemas';
import { describe, expect, it } from 'vitest';
import { quietLogger, testConfig, uniqueSuffix } from '../../../test/helpers/index.js';
import { serverSideCopy } from './copy.js';
import { checkTransfer, type ReconcileDeps, type TransferRecord } from './reconcile.js';
import { storedKeyOf } from './store-image.js';
import { recordTransferLocation, transferImage } from './transfer.js';

/**
 * An object overwritten out of band with other bytes of the same size, as a
 * new S3 version labelled `orbit-sha256=<the validated SHA-256>` (what
 * `aws s3api put-object --metadata` does: a CRC32 of S3's, no SHA-256), must
 * not pass for the validated image: not as a transfer's source, not as its
 * target, not for transfers:reconcile (found by a data-integrity review).
 */
const s3 = createS3(testConfig);
const dynamo = createDynamo(testConfig);
const buckets = bucketNames(testConfig);
const deps: ReconcileDeps = {
  s3, dynamo, metadataTable: tableName('appImageMetadata', testConfig), bucketOf: (environment) => imageBucketOf(environment, buckets),
  kustomizeTableOf: (environment) => tableName(kustomizeTableKeyOf(environment), testConfig),
  registryOf: () => 'registry.example.com/orbit',
};
const version = 'v1-0-00';
const sha256Of = (body: Buffer): string => createHash('sha256').update(body).digest('hex');
const bytesOf = async (bucket: string, key: string, versionId?: string | null): Promise<Buffer> =>
  Buffer.from(await (await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key, ...(versionId ? { VersionId: versionId } : {}) }))).Body!.transformToByteArray());
const manifestsFor = (environment: EnvironmentName) => ({ inline: JSON.stringify([{ kind: 'Deployment', metadata: { name: 'web', labels: { environment } }, spec: { replicas: 1 } }]) });

/** Same size, other bytes, written over `bucket`/`key` as a new version carrying `metadata`, with a CRC32 only. */
async function forgedOver(bucket: string, key: string, size: number, metadata: Record<string, string>): Promise<{ versionId: string; body: Buffer }> {
  const body = Buffer.concat([Buffer.from('hello EVIL '), Buffer.alloc(size)]).subarray(0, size);
  const put = await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, ServerSideEncryption: 'AES256', ChecksumAlgorithm: 'CRC32', Metadata: metadata }));
  const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key, ChecksumMode: 'ENABLED' }));
  expect(head.ChecksumSHA256).toBeUndefined();
  return { versionId: put.VersionId ?? '', body };
}

/** An image in Development with its metadata row (validated SHA-256, S3 version) and its Development chart row; `inParts` stores it as a multipart copy, as the store step does above 5 GiB. */
async function stored(body: Buffer, inParts?: Parameters<typeof serverSideCopy>[5]): Promise<{ event: TransferRequested; key: string; versionId: string; sourceRow: Record<string, unknown> }> {
  const imageUID = newImageUID();
  const key = storedKeyOf(imageUID, version);
  const development = deps.bucketOf('Development');
  let versionId: string;
  if (inParts) {
    const staged = `s45ff-staged/${uniqueSuffix()}.tar`;
    await s3.send(new PutObjectCommand({ Bucket: development, Key: staged, Body: body }));
    versionId = (await serverSideCopy(s3, { bucket: development, key: staged, etag: null }, { bucket: development, key }, body.length, { 'orbit-sha256': sha256Of(body) }, inParts)).versionId ?? '';
  } else {
    versionId = (await s3.send(new PutObjectCommand({ Bucket: development, Key: key, Body: body, ServerSideEncryption: 'AES256', ChecksumSHA256: createHash('sha256').update(body).digest('base64'), Metadata: { 'orbit-sha256': sha256Of(body) } }))).VersionId ?? '';
  }
  await dynamo.send(new PutCommand({ TableName: deps.metadataTable, Item: { imageUID, imageVersion: version, bucket: development, key, versionId, sha256: sha256Of(body), sizeBytes: body.length } }));
  const sourceRow = {
    helmChartName: `${imageUID}-${version}`, chartName: 'web', chartSha256: 'c'.repeat(64), manifests: manifestsFor('Development'),
    chart: { bucket: testConfig.ORBIT_BUCKET_CHARTS, key: `${imageUID}-${version}/web-1.0.0.tgz`, versionId: 'c1' }, environment: 'Development', image: { bucket: development, key, versionId },
  };
  await dynamo.send(new PutCommand({ TableName: deps.kustomizeTableOf('Development'), Item: sourceRow }));
  const event = { ...sampleEvents(imageUID, `s45ff-${uniqueSuffix()}`)['orbit.transfer.requested'], requestId: `s45ff-req-${uniqueSuffix()}` };
  return { event, key, versionId, sourceRow };
}

/** Transfers and records it as the pipeline does: the copy's location, and the Testing chart row the promotion writes for it. */
async function transferred(event: TransferRequested, sourceRow: Record<string, unknown>, copyLimits?: Parameters<typeof serverSideCopy>[5]) {
  const outcome = await transferImage(event, { ...deps, ...(copyLimits ? { copyLimits } : {}) }, quietLogger);
  if (outcome.kind !== 'copied') throw new Error(`not copied: ${JSON.stringify(outcome.event)}`);
  await recordTransferLocation(outcome.event, deps);
  await dynamo.send(new PutCommand({ TableName: deps.kustomizeTableOf('Testing'), Item: {
    ...sourceRow, environment: 'Testing', manifests: manifestsFor('Testing'), image: outcome.event.target, imageSha256: outcome.event.sha256, promotedFrom: 'Development', transferRequestId: event.requestId,
  } }));
  return outcome.event;
}

const recordOf = (event: TransferRequested): TransferRecord => ({ requestId: event.requestId, imageUID: event.imageUID, imageVersion: version, owner: 's45ff', notes: event.notes, source: 'Development', target: 'Testing' });

describe('s45ff: orbit-sha256 metadata is a claim, never proof (MinIO, DynamoDB Local)', () => {
  it('reconcile finds a Testing copy overwritten with forged orbit-sha256, and the re-drive copies the validated bytes again instead of adopting it', async () => {
    const validated = randomBytes(20 * 1024);
    const { event, key, sourceRow } = await stored(validated);
    const first = await transferred(event, sourceRow);
    expect(await checkTransfer(recordOf(event), deps)).toEqual({ source: 'Development', problems: [], repairable: true });

    const testing = deps.bucketOf('Testing');
    const forged = await forgedOver(testing, key, validated.length, { 'orbit-sha256': sha256Of(validated) });
    const check = await checkTransfer(recordOf(event), deps);
    expect(check.repairable).toBe(true);
    expect(check.problems).toContainEqual(`${testing}/${key} has version ${forged.versionId} (not ${String(first.target.versionId)}, the one Orbit recorded) with no SHA-256 of S3's own, only the claim ${sha256Of(validated)} in its metadata, its Development twin ${sha256Of(validated)}`);

    // The re-drive (the same request again) copies, and announces the new copy: not the forged version under the validated SHA-256.
    const again = await transferred(event, sourceRow);
    expect(again.target.versionId).not.toBe(forged.versionId);
    expect(again.target.versionId).not.toBe(first.target.versionId);
    expect(sha256Of(await bytesOf(testing, key, again.target.versionId))).toBe(sha256Of(validated));
    expect(sha256Of(await bytesOf(testing, key))).toBe(sha256Of(validated));
    expect(await checkTransfer(recordOf(event), deps)).toEqual({ source: 'Development', problems: [], repairable: true });
  });

  it('a transfer copies the recorded Development version, not a forged overwrite labelled with its SHA-256', async () => {
    const validated = randomBytes(20 * 1024);
    const { event, key, versionId, sourceRow } = await stored(validated);
    const forged = await forgedOver(deps.bucketOf('Development'), key, validated.length, { 'orbit-sha256': sha256Of(validated) });
    const copied = await transferred(event, sourceRow);
    expect(copied).toMatchObject({ source: { versionId }, sha256: sha256Of(validated) });
    expect(sha256Of(await bytesOf(deps.bucketOf('Testing'), key))).toBe(sha256Of(validated));
    expect(sha256Of(await bytesOf(deps.bucketOf('Development'), key))).toBe(sha256Of(forged.body));
    expect(await checkTransfer(recordOf(event), deps)).toEqual({ source: 'Development', problems: [], repairable: true });
  });

  it('in parts (no SHA-256 of S3\'s): a redelivery that never recorded its copy keeps its own, a forged one that copies its metadata is copied over', async () => {
    const inParts = { singleCopyBytes: 5 * 1024 * 1024, partBytes: 5 * 1024 * 1024, partsInParallel: 2 };
    const validated = randomBytes(11 * 1024 * 1024 + 5);
    const { event, key } = await stored(validated, inParts);
    const testing = deps.bucketOf('Testing');
    const first = await transferImage(event, { ...deps, copyLimits: inParts }, quietLogger);
    if (first.kind !== 'copied') throw new Error('not copied');
    // Died before recordTransferLocation: the redelivery finds its own copy (same request, same source version, same ETag) and keeps it.
    const redelivered = await transferImage(event, { ...deps, copyLimits: inParts }, quietLogger);
    expect(redelivered).toMatchObject({ kind: 'copied', event: { target: { versionId: first.event.target.versionId } } });
    const versions = async () => ((await s3.send(new ListObjectVersionsCommand({ Bucket: testing, Prefix: key }))).Versions ?? []).filter((entry) => entry.Key === key);
    expect(await versions()).toHaveLength(1);

    // Other bytes of the same size with the copy's own metadata (request id, source version): S3's ETag tells them apart.
    const metadata = (await s3.send(new HeadObjectCommand({ Bucket: testing, Key: key }))).Metadata ?? {};
    expect(metadata['orbit-copied-from-version']).toBeTruthy();
    const forged = await forgedOver(testing, key, validated.length, metadata);
    const copied = await transferImage(event, { ...deps, copyLimits: inParts }, quietLogger);
    expect(copied.kind === 'copied' && copied.event.target.versionId).not.toBe(forged.versionId);
    expect(await versions()).toHaveLength(3);
    expect(sha256Of(await bytesOf(testing, key))).toBe(sha256Of(validated));
  });
});
