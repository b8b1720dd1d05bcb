import { createHash } from 'node:crypto';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { createDynamo, createS3, kustomizeTableKeyOf, newImageUID, StoredJsonError, tableName } from '@orbit/lib';
import { describe, expect, it } from 'vitest';
import { testConfig, uniqueSuffix } from '../../../../test/helpers/index.js';
import { awsDeployables } from './deployables.js';

const s3 = createS3(testConfig);
const dynamo = createDynamo(testConfig);
const deployables = awsDeployables(s3, dynamo, (environment) => tableName(kustomizeTableKeyOf(environment), testConfig), tableName('baseKustomize', testConfig), 60);
const manifests = [{ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'web-env', namespace: 'orbit-testing', labels: { environment: 'Testing' } }, data: {} }];

async function chartRow(helmChartName: string, field: Record<string, unknown>): Promise<void> {
  await dynamo.send(new PutCommand({ TableName: tableName('kustomizeTesting', testConfig), Item: { helmChartName, environment: 'Testing', manifests: field } }));
}

async function putChartObject(key: string, body: Buffer): Promise<{ bucket: string; key: string; versionId: string | null }> {
  const put = await s3.send(new PutObjectCommand({ Bucket: testConfig.ORBIT_BUCKET_CHARTS, Key: key, Body: body }));
  return { bucket: testConfig.ORBIT_BUCKET_CHARTS, key, versionId: put.VersionId ?? null };
}

describe('what an environment holds, read from DynamoDB Local and MinIO', () => {
  it('reads manifests from the row, or from the chart bucket where the row points, checked against the row\'s SHA-256', async () => {
    const inline = `${newImageUID()}-v1-0-00`;
    await chartRow(inline, { inline: JSON.stringify(manifests) });
    expect(await deployables.manifests('Testing', inline)).toEqual(manifests);

    const kept = `${newImageUID()}-v1-0-00`;
    const text = Buffer.from(JSON.stringify(manifests));
    const location = await putChartObject(`${kept}/manifests-testing.json`, text);
    await chartRow(kept, { location, sha256: createHash('sha256').update(text).digest('hex') });
    expect(await deployables.manifests('Testing', kept)).toEqual(manifests);

    const tampered = `${newImageUID()}-v1-0-00`;
    await chartRow(tampered, { location, sha256: 'f'.repeat(64) });
    await expect(deployables.manifests('Testing', tampered)).rejects.toBeInstanceOf(StoredJsonError);
    expect(await deployables.manifests('Testing', `${newImageUID()}-v1-0-00`)).toBeUndefined();
  });

  it('reads an environment\'s Kustomize tree from the base row (inline, or in the chart bucket) with where that environment pins the image', async () => {
    const tree = { 'base/kustomization.yaml': 'resources: []\n', 'overlays/testing/kustomization.yaml': 'resources:\n  - ../../base\n' };
    const files = JSON.stringify({ Development: { 'base/kustomization.yaml': 'resources: []\n' }, Testing: tree });
    const pinned = `harbor.test/orbit-testing/web@sha256:${'e'.repeat(64)}`;
    const inline = `${newImageUID()}-v1-0-00`;
    await dynamo.send(new PutCommand({ TableName: tableName('baseKustomize', testConfig), Item: { helmChartName: inline, files: { inline: files } } }));
    expect(await deployables.kustomization('Testing', inline)).toBeUndefined();
    await dynamo.send(new PutCommand({ TableName: tableName('kustomizeTesting', testConfig), Item: { helmChartName: inline, environment: 'Testing', imageReference: pinned, manifests: { inline: '[]' } } }));
    expect(await deployables.kustomization('Testing', inline)).toEqual({ files: new Map(Object.entries(tree)), imageReference: pinned });

    const kept = `${newImageUID()}-v1-0-00`;
    const text = Buffer.from(files);
    const location = await putChartObject(`${kept}/kustomize.json`, text);
    await dynamo.send(new PutCommand({ TableName: tableName('baseKustomize', testConfig), Item: { helmChartName: kept, files: { location, sha256: createHash('sha256').update(text).digest('hex') } } }));
    await dynamo.send(new PutCommand({ TableName: tableName('kustomizeDevelopment', testConfig), Item: { helmChartName: kept, environment: 'Development', manifests: { inline: '[]' } } }));
    expect(await deployables.kustomization('Development', kept)).toEqual({ files: new Map([['base/kustomization.yaml', 'resources: []\n']]), imageReference: null });
    await dynamo.send(new PutCommand({ TableName: tableName('kustomizeTesting', testConfig), Item: { helmChartName: kept, environment: 'Testing', manifests: { inline: '[]' } } }));
    await dynamo.send(new PutCommand({ TableName: tableName('baseKustomize', testConfig), Item: { helmChartName: kept, files: { inline: JSON.stringify({ Development: {} }) } } }));
    await expect(deployables.kustomization('Testing', kept)).rejects.toBeInstanceOf(StoredJsonError);
  });

  it('reads an object\'s size at its version without its bytes, and says NotFound of a key or version not there, as the chart route reads them', async () => {
    const key = `test/${uniqueSuffix()}/billing-api-1.0.0.tgz`;
    const first = await putChartObject(key, Buffer.from('first chart'));
    const second = await putChartObject(key, Buffer.from('the second chart'));
    expect(await deployables.sizeOf?.(first)).toBe(11);
    expect(await deployables.sizeOf?.(second)).toBe(16);
    expect(await deployables.sizeOf?.({ ...first, versionId: null })).toBe(16);
    const missing = await deployables.sizeOf?.({ ...first, key: `${key}.gone`, versionId: null }).catch((error: unknown) => error);
    expect((missing as { name?: string }).name).toBe('NotFound');
    const unknownVersion = await deployables.sizeOf?.({ ...first, versionId: '00000000-0000-4000-8000-000000000000' }).catch((error: unknown) => error);
    expect((unknownVersion as { name?: string }).name).toBe('NotFound');
  });

  it('signs a GET of the object at its version, downloaded as the file name given', async () => {
    const key = `test/${uniqueSuffix()}/image.tar`;
    const first = await putChartObject(key, Buffer.from('first bytes'));
    await putChartObject(key, Buffer.from('second bytes'));
    const link = await deployables.downloadUrl(first, 'web-v1-0-00.tar');
    expect(Date.parse(link.expiresAt) - Date.now()).toBeLessThanOrEqual(60_000);
    const response = await fetch(link.url);
    expect(response.status).toBe(200);
    expect(await response.text()).toBe('first bytes');
    expect(response.headers.get('content-disposition')).toBe('attachment; filename="web-v1-0-00.tar"');
    // An archive uploaded zstd'd as a whole is served as what it is.
    const typed = await fetch((await deployables.downloadUrl(first, 'web-v1-0-00.tar.zst', 'application/zstd')).url);
    expect([typed.status, typed.headers.get('content-type'), typed.headers.get('content-disposition')]).toEqual([200, 'application/zstd', 'attachment; filename="web-v1-0-00.tar.zst"']);
  });
});
