import { createHash } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { DeleteObjectCommand, ListObjectVersionsCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { DeleteCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { bucketNames, createDynamo, createS3, helmChartNameOf, imageBucketOf, kustomizeTableKeyOf, newImageUID, tableName, type EnvironmentName } from '@orbit/lib';
import { afterAll, describe, expect, it } from 'vitest';
import { testConfig } from '../../../test/helpers/index.js';
import { runSourceCli } from '../../../test/helpers/source-cli.js';

const cli = fileURLToPath(new URL('./verify-cli.ts', import.meta.url));
const s3 = createS3(testConfig);
const dynamo = createDynamo(testConfig);
const buckets = bucketNames(testConfig);
const metadataTable = tableName('appImageMetadata', testConfig);
const kustomizeTable = tableName(kustomizeTableKeyOf('Development'), testConfig);
const made: { imageUID: string; key: string }[] = [];
const charts: { helmChartName: string; key: string }[] = [];

const put = (environment: EnvironmentName, key: string, body: Buffer) => s3.send(new PutObjectCommand({
  Bucket: imageBucketOf(environment, buckets), Key: key, Body: body, ServerSideEncryption: 'AES256', ChecksumSHA256: createHash('sha256').update(body).digest('base64'),
}));

/** A version as the harbor-writer records it (its Development archive, and a Testing copy when asked), under an s45fv- key. */
async function storedVersion(withTestingCopy = false): Promise<{ imageUID: string; key: string; versionId: string }> {
  const imageUID = newImageUID();
  const key = `s45fv-${imageUID}-v1-0-00.tar`;
  made.push({ imageUID, key });
  const body = Buffer.from(`image ${imageUID}`);
  const stored = await put('Development', key, body);
  const copy = withTestingCopy ? await put('Testing', key, body) : undefined;
  await dynamo.send(new PutCommand({
    TableName: metadataTable, Item: {
      imageUID, imageVersion: 'v1-0-00', username: 's45fv', bucket: imageBucketOf('Development', buckets), key, versionId: stored.VersionId ?? null,
      sha256: createHash('sha256').update(body).digest('hex'), sizeBytes: body.length,
      ...(copy ? { locationTesting: { bucket: imageBucketOf('Testing', buckets), key, versionId: copy.VersionId ?? null } } : {}),
    },
  }));
  expect(stored.VersionId).toBeTruthy();
  return { imageUID, key, versionId: stored.VersionId ?? '' };
}

// As `npm run` runs it (orbit.sh silences the SDK's notice about Node versions), so stderr holds only what the command says.
const verify = (...args: string[]) => runSourceCli(cli, args, { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' }, 60_000);

afterAll(async () => {
  for (const { helmChartName, key } of charts) {
    await dynamo.send(new DeleteCommand({ TableName: kustomizeTable, Key: { helmChartName } }));
    const listed = await s3.send(new ListObjectVersionsCommand({ Bucket: testConfig.ORBIT_BUCKET_CHARTS, Prefix: key }));
    for (const entry of listed.Versions ?? []) await s3.send(new DeleteObjectCommand({ Bucket: testConfig.ORBIT_BUCKET_CHARTS, Key: key, VersionId: entry.VersionId }));
  }
  for (const { imageUID, key } of made) {
    await dynamo.send(new DeleteCommand({ TableName: metadataTable, Key: { imageUID, imageVersion: 'v1-0-00' } }));
    for (const environment of ['Development', 'Testing'] as const) {
      const bucket = imageBucketOf(environment, buckets);
      const listed = await s3.send(new ListObjectVersionsCommand({ Bucket: bucket, Prefix: key }));
      for (const entry of [...(listed.Versions ?? []), ...(listed.DeleteMarkers ?? [])]) await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: key, VersionId: entry.VersionId }));
    }
  }
});

describe('storage:verify against MinIO and DynamoDB Local', () => {
  it('counts healthy archives, Development-only and transferred, and a chart, ok and exits 0', async () => {
    const alone = await storedVersion();
    const transferred = await storedVersion(true);
    // The Development chart of one of them, as chart-generator stores and records it.
    const chart = Buffer.from(`chart of ${alone.imageUID}`);
    const chartKey = `${helmChartNameOf(alone.imageUID, 'v1-0-00')}/s45fv-1.0.0.tgz`;
    const chartSha256 = createHash('sha256').update(chart).digest('hex');
    const storedChart = await s3.send(new PutObjectCommand({
      Bucket: testConfig.ORBIT_BUCKET_CHARTS, Key: chartKey, Body: chart, ServerSideEncryption: 'AES256', ChecksumSHA256: Buffer.from(chartSha256, 'hex').toString('base64'),
    }));
    charts.push({ helmChartName: helmChartNameOf(alone.imageUID, 'v1-0-00'), key: chartKey });
    await dynamo.send(new PutCommand({
      TableName: kustomizeTable, Item: {
        helmChartName: helmChartNameOf(alone.imageUID, 'v1-0-00'), environment: 'Development', chart: { bucket: testConfig.ORBIT_BUCKET_CHARTS, key: chartKey, versionId: storedChart.VersionId ?? null }, chartSha256,
      },
    }));
    const run = await verify('--image', alone.imageUID, '--image', transferred.imageUID);
    expect(run.stderr).toBe('');
    expect(run.stdout).toBe('checked 3 recorded image archives and 1 charts; 4 ok, 0 lost, 0 noncurrent, 0 size differs, 0 checksum differs\n');
    expect(run.code).toBe(0);
  }, 90_000);

  it('reports a Development-only archive whose key was overwritten as noncurrent, then lost once its version is deleted, exiting 1 (found by a review: nothing noticed)', async () => {
    const { imageUID, key, versionId } = await storedVersion();
    const bucket = imageBucketOf('Development', buckets);
    await put('Development', key, Buffer.from('overwritten by hand'));

    const overwritten = await verify('--image', imageUID);
    expect(overwritten.code).toBe(1);
    // The stack's archive buckets keep noncurrent versions 30 days (NONCURRENT_VERSION_DAYS); S3 acts at the midnight UTC after.
    expect(overwritten.stdout).toMatch(new RegExp(
      `^  ${imageUID} v1-0-00 Development s3://${bucket}/${key}@${versionId}: noncurrent: another version \\(\\S+\\) is current at the key; the bucket's noncurrent-version rule deletes it in about 3[01] day\\(s\\)\n`, 'm'));
    expect(overwritten.stdout).toContain('checked 1 recorded image archives and 0 charts; 0 ok, 0 lost, 1 noncurrent, 0 size differs, 0 checksum differs\n');

    await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: key, VersionId: versionId }));
    const lost = await verify('--image', imageUID);
    expect(lost.code).toBe(1);
    expect(lost.stdout).toContain(`  ${imageUID} v1-0-00 Development s3://${bucket}/${key}@${versionId}: lost: the recorded object is gone`);
    expect(lost.stdout).toContain('checked 1 recorded image archives and 0 charts; 0 ok, 1 lost, 0 noncurrent, 0 size differs, 0 checksum differs\n');

    const json = await verify('--image', imageUID, '--json');
    expect(json.code).toBe(1);
    expect(JSON.parse(json.stdout)).toMatchObject({ imageUID, environment: 'Development', bucket, key, versionId, state: 'lost' });
    expect(json.stderr).toContain('1 lost');
  }, 120_000);

  it('finds a copy whose bytes differ from the validated ones by --deep, and a key deleted under a recorded version as noncurrent', async () => {
    const { imageUID, key, versionId } = await storedVersion(true);
    const development = imageBucketOf('Development', buckets);
    const testing = imageBucketOf('Testing', buckets);
    // The Testing copy recorded without a version (as an unversioned bucket leaves it), then overwritten with other bytes of the same length.
    await dynamo.send(new PutCommand({
      TableName: metadataTable, Item: {
        imageUID, imageVersion: 'v1-0-00', username: 's45fv', bucket: development, key, versionId, sha256: createHash('sha256').update(`image ${imageUID}`).digest('hex'),
        sizeBytes: `image ${imageUID}`.length, locationTesting: { bucket: testing, key, versionId: null },
      },
    }));
    await s3.send(new PutObjectCommand({ Bucket: testing, Key: key, Body: Buffer.from(`IMAGE ${imageUID}`), ServerSideEncryption: 'AES256' }));
    // Deleted without a version: S3 puts a delete marker over the recorded version, which the noncurrent rule then takes too.
    await s3.send(new DeleteObjectCommand({ Bucket: development, Key: key }));
    const deep = await verify('--image', imageUID, '--deep');
    expect(deep.code).toBe(1);
    expect(deep.stdout).toMatch(new RegExp(`^  ${imageUID} v1-0-00 Testing s3://${testing}/${key}: checksum differs: sha256 [0-9a-f]{64} of the bytes read, [0-9a-f]{64} recorded\n`, 'm'));
    expect(deep.stdout).toContain(`  ${imageUID} v1-0-00 Development s3://${development}/${key}@${versionId}: noncurrent: the key was deleted (a delete marker is current); `);
    expect(deep.stdout).toContain('checked 2 recorded image archives and 0 charts; 0 ok, 0 lost, 1 noncurrent, 0 size differs, 1 checksum differs\n');
  }, 90_000);
});
