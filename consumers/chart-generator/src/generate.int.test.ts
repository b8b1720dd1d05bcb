import { GetObjectCommand, ListObjectVersionsCommand } from '@aws-sdk/client-s3';
import { createDynamo, createS3, newImageUID, tableName } from '@orbit/lib';
import { sampleEvents, type ImageCopied, type ImageStored } from '@orbit/schemas';
import { describe, expect, it } from 'vitest';
import { testConfig, uniqueSuffix } from '../../../test/helpers/index.js';
import { awsChartStore, sha256Hex } from './chart-store.js';
import { generateChart, MAX_INLINE_BYTES } from './generate.js';
import { promoteChart } from './promote.js';

const s3 = createS3(testConfig);
const store = awsChartStore(s3, createDynamo(testConfig), testConfig.ORBIT_BUCKET_CHARTS);
const tables = { manifests: tableName('kustomizeDevelopment', testConfig), base: tableName('baseKustomize', testConfig) };
const deps = { store, registry: 'registry.example.com/orbit', tables };
const tableOf = (environment: string): string => tableName(environment === 'Testing' ? 'kustomizeTesting' : 'kustomizeDevelopment', testConfig);

function stored(over: Partial<ImageStored['metadata']> = {}): ImageStored {
  const event = sampleEvents(newImageUID(), `req-${uniqueSuffix()}`)['orbit.image.stored'];
  return { ...event, metadata: { ...event.metadata, ...over } };
}

describe('chart-generator against MinIO and DynamoDB Local', () => {
  it('stores the packaged chart, the rendered manifests and the Kustomize files, the same bytes on a redelivery', async () => {
    const event = stored();
    const first = await generateChart(event, deps);
    expect(first.kind).toBe('generated');
    if (first.kind !== 'generated') return;
    expect(first.event).toMatchObject({ pid: 'c12bms06-c20bre12-e80', chartName: 'billing-api', chartVersion: '1.0.0', helmChartName: `${event.imageUID}-v1-0-00`, environment: 'Development' });
    const object = await s3.send(new GetObjectCommand({ Bucket: first.event.chart.bucket, Key: first.event.chart.key }));
    expect(sha256Hex(Buffer.from(await object.Body!.transformToByteArray()))).toBe(first.event.chartSha256);
    const row = await store.getRow(tables.manifests, first.event.helmChartName);
    const manifests = JSON.parse(String((row?.['manifests'] as { inline: string }).inline)) as { kind: string; spec?: { template?: { spec?: { containers?: { image: string }[] } } } }[];
    expect(manifests.map((object) => object.kind)).toEqual(expect.arrayContaining(['Deployment', 'Service', 'ConfigMap', 'HorizontalPodAutoscaler', 'PodDisruptionBudget', 'NetworkPolicy']));
    const deployment = manifests.find((object) => object.kind === 'Deployment');
    expect(deployment?.spec?.template?.spec?.containers?.[0]?.image).toBe(`registry.example.com/orbit/billing-api@${event.image.manifestDigest}`);
    const base = await store.getRow(tables.base, first.event.helmChartName);
    const overlays = JSON.parse(String((base?.['files'] as { inline: string }).inline)) as Record<string, Record<string, string>>;
    expect(Object.keys(overlays)).toEqual(['Development', 'Testing', 'Staging', 'Production']);
    expect(Object.keys(overlays['Testing'] ?? {})).toContain('overlays/testing/kustomization.yaml');

    const again = await generateChart(event, deps);
    expect(again.kind === 'generated' && again.event.chartSha256).toBe(first.event.chartSha256);
    // The same bytes again are the same object: one version, the first one.
    expect(again.kind === 'generated' && again.event.chart.versionId).toBe(first.event.chart.versionId);
    const versions = await s3.send(new ListObjectVersionsCommand({ Bucket: first.event.chart.bucket, Prefix: first.event.chart.key }));
    expect((versions.Versions ?? []).filter((version) => version.Key === first.event.chart.key)).toHaveLength(1);
  });

  it('keeps an object that already holds the same bytes, and writes a new version when the bytes differ', async () => {
    const key = `test/${uniqueSuffix()}/chart.tgz`;
    const first = await store.putObject(key, Buffer.from('chart one'), 'application/gzip');
    expect(await store.putObject(key, Buffer.from('chart one'), 'application/gzip')).toEqual(first);
    const changed = await store.putObject(key, Buffer.from('chart two'), 'application/gzip');
    expect(changed.versionId).not.toBe(first.versionId);
    expect(changed.sha256).toBe(sha256Hex(Buffer.from('chart two')));
    const object = await s3.send(new GetObjectCommand({ Bucket: testConfig.ORBIT_BUCKET_CHARTS, Key: key }));
    expect(await object.Body!.transformToString()).toBe('chart two');
  });

  it('keeps manifests too big for a DynamoDB item in the chart bucket, pointed at from the row', async () => {
    const envVars = Array.from({ length: 4000 }, (_, i) => ({ key: `VAR_${i}`, value: 'x'.repeat(100) }));
    const outcome = await generateChart(stored({ envVars }), deps);
    expect(outcome.kind).toBe('generated');
    if (outcome.kind !== 'generated') return;
    const row = await store.getRow(tables.manifests, outcome.event.helmChartName);
    const pointer = row?.['manifests'] as { location?: { key: string }; sha256?: string };
    expect(pointer.location?.key).toBe(`${outcome.event.helmChartName}/manifests.json`);
    const object = await s3.send(new GetObjectCommand({ Bucket: testConfig.ORBIT_BUCKET_CHARTS, Key: pointer.location?.key ?? '' }));
    const bytes = Buffer.from(await object.Body!.transformToByteArray());
    expect(bytes.length).toBeGreaterThan(MAX_INLINE_BYTES);
    expect(sha256Hex(bytes)).toBe(pointer.sha256);
  });

  it('ends the request with a reason code for input no chart can carry', async () => {
    const outcome = await generateChart(stored({ commandOverride: 'run "unclosed' }), deps);
    expect(outcome).toMatchObject({ kind: 'failed', event: { pid: 'c8bms06-c20bre24-911', flow: 'upload', stage: 'chart', reasonCode: 'CHART_COMMAND' } });
  });

  it('promotes the chart row to the target environment, or fails the transfer when there is none', async () => {
    const event = stored();
    const generated = await generateChart(event, deps);
    expect(generated.kind).toBe('generated');
    const copied: ImageCopied = { ...sampleEvents(event.imageUID, 'req-t')['orbit.image.copied'], target: { bucket: testConfig.ORBIT_BUCKET_TESTING, key: `${event.imageUID}-v1-0-00.tar`, versionId: 'v9' } };
    const promoted = await promoteChart(copied, { store, tableOf });
    expect(promoted).toMatchObject({ kind: 'promoted', event: { pid: 'c8bms18-c20bre30-e70', targetEnvironment: 'Testing', targetTable: tableOf('Testing'), image: copied.target, sha256: copied.sha256, notes: copied.notes } });
    expect(await store.getRow(tableOf('Testing'), `${event.imageUID}-v1-0-00`)).toMatchObject({ environment: 'Testing', promotedFrom: 'Development', image: copied.target });
    const missing = await promoteChart({ ...copied, imageUID: newImageUID() }, { store, tableOf });
    expect(missing).toMatchObject({ kind: 'failed', event: { pid: 'c8bms18-c20bre24-911', reasonCode: 'CHART_NOT_FOUND' } });
  });
});
