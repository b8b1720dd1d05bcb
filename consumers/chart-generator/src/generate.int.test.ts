import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { GetObjectCommand, ListObjectVersionsCommand } from '@aws-sdk/client-s3';
import { createDynamo, createS3, isRetriable, newImageUID, PushRefusedError, tableName, TOPICS } from '@orbit/lib';
import { sampleEvents, type ImageCopied, type ImageStored } from '@orbit/schemas';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { quietLogger, testConfig, uniqueSuffix } from '../../../test/helpers/index.js';
import { startRegistry } from '../../../test/helpers/registry.js';
import type { K8sObject } from './chart/manifests.js';
import { awsChartStore, sha256Hex } from './chart-store.js';
import { generateChart } from './generate.js';
import { pushChart, type ChartToPush } from './push-chart.js';
import { unpackChart } from './repackage-chart.js';
import { loadManifests, MAX_INLINE_BYTES } from './stored-json.js';
import { promoteChart } from './promote.js';
import { chartPlacementOf } from './repush-charts.js';

const s3 = createS3(testConfig);
const store = awsChartStore(s3, createDynamo(testConfig), testConfig.ORBIT_BUCKET_CHARTS);
const tables = { manifests: tableName('kustomizeDevelopment', testConfig), base: tableName('baseKustomize', testConfig) };
const deps = { store, registry: 'registry.example.com/orbit', tables };
const promoteDeps = {
  store, tableOf: (environment: string) => tableName(`kustomize${environment as 'Development' | 'Testing' | 'Staging' | 'Production'}`, testConfig), baseTable: tables.base,
  // The sample ImageCopied's registry: the harbor-writer pushes only to registries this service is configured for too.
  registry: deps.registry, environmentRegistries: new Map([['Testing', 'registry-testing.example.com/orbit']] as const),
};
const { tableOf } = promoteDeps;

function stored(over: Partial<ImageStored['metadata']> = {}): ImageStored {
  const event = sampleEvents(newImageUID(), `req-${uniqueSuffix()}`)['orbit.image.stored'];
  return { ...event, metadata: { ...event.metadata, ...over } };
}

describe('chart-generator against MinIO and DynamoDB Local', () => {
  it('pins the image where the harbor-writer pushed it, and falls back to ORBIT_IMAGE_REGISTRY for versions it did not push', async () => {
    // The harbor-writer pushes under ORBIT_IMAGE_REGISTRY; an environment's registry is as much this service's.
    const pushedElsewhere = { ...deps, environmentRegistries: new Map([['Testing', 'pushed.example.com:5000/team']] as const) };
    const imageOf = async (event: ImageStored): Promise<string | undefined> => {
      const outcome = await generateChart(event, pushedElsewhere);
      if (outcome.kind !== 'generated') throw new Error(outcome.kind);
      const row = await store.getRow(tables.manifests, outcome.event.helmChartName);
      const manifests = JSON.parse(String((row?.['manifests'] as { inline: string }).inline)) as K8sObject[];
      const deployment = manifests.find((object) => object.kind === 'Deployment') as { spec?: { template?: { spec?: { containers?: { image: string }[] } } } } | undefined;
      return deployment?.spec?.template?.spec?.containers?.[0]?.image;
    };
    const event = stored();
    expect(await imageOf({ ...event, imageReference: `pushed.example.com:5000/team/billing-api@${event.image.manifestDigest}` })).toBe(`pushed.example.com:5000/team/billing-api@${event.image.manifestDigest}`);
    const earlier = stored();
    expect(await imageOf({ ...earlier, imageReference: null, imageTag: null })).toBe(`registry.example.com/orbit/dev1/billing-api@${earlier.image.manifestDigest}`);
  });

  it('refuses, as an event no Orbit service writes, an image in a registry it is not configured for, pushing nothing there (found by a review: a forged ImageStored made it contact any host)', async () => {
    const event = stored();
    const pushed: string[] = [];
    const pushChart = async (_chart: ChartToPush, prefix: string): Promise<never> => {
      pushed.push(prefix);
      throw new Error('no push expected');
    };
    const refused = generateChart({ ...event, imageReference: `ghost.example.com/orbit/dev1/billing-api@${event.image.manifestDigest}` }, { ...deps, pushChart });
    await expect(refused).rejects.toMatchObject({ code: 'ORBIT_ERR_DECODE', cause: expect.objectContaining({ message: expect.stringContaining('imageReference "ghost.example.com/orbit/dev1/billing-api@') }) });
    expect(pushed).toEqual([]);
    expect(await store.getRow(tables.manifests, `${event.imageUID}-v1-0-00`)).toBeUndefined();
  });

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
    expect(deployment?.spec?.template?.spec?.containers?.[0]?.image).toBe(`registry.example.com/orbit/dev1/billing-api@${event.image.manifestDigest}`);
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
    const promoted = await promoteChart(copied, promoteDeps);
    expect(promoted).toMatchObject({ kind: 'promoted', event: { pid: 'c8bms18-c20bre30-e70', targetEnvironment: 'Testing', targetTable: tableOf('Testing'), image: copied.target, sha256: copied.sha256, notes: copied.notes } });
    expect(await store.getRow(tableOf('Testing'), `${event.imageUID}-v1-0-00`)).toMatchObject({ environment: 'Testing', promotedFrom: 'Development', image: copied.target });
    const missing = await promoteChart({ ...copied, imageUID: newImageUID() }, promoteDeps);
    expect(missing).toMatchObject({ kind: 'failed', event: { pid: 'c8bms18-c20bre24-911', reasonCode: 'CHART_NOT_FOUND' } });
  });

  it('points an environment with a registry of its own at the copy pushed there: its overlay renames the image, its promoted row pins it', async () => {
    const event = stored();
    const generated = await generateChart({ ...event, imageReference: `registry.example.com/orbit/dev1/billing-api@${event.image.manifestDigest}` }, { ...deps, environmentRegistries: new Map([['Testing', 'registry-testing.example.com/orbit']]) });
    if (generated.kind !== 'generated') throw new Error('not generated');
    const { helmChartName } = generated.event;
    const overlays = JSON.parse(String(((await store.getRow(tables.base, helmChartName))?.['files'] as { inline: string }).inline)) as Record<string, Record<string, string>>;
    const kustomization = (environment: string): { images?: unknown } => parse(overlays[environment]?.[`overlays/${environment.toLowerCase()}/kustomization.yaml`] ?? '') as { images?: unknown };
    expect(kustomization('Testing').images).toEqual([{ name: 'registry.example.com/orbit/dev1/billing-api', newName: 'registry-testing.example.com/orbit/dev1/billing-api' }]);
    expect(kustomization('Production')).not.toHaveProperty('images');

    const imageIn = async (environment: string): Promise<string | undefined> => {
      const manifests = await loadManifests(store, (await store.getRow(tableOf(environment), helmChartName))?.['manifests']);
      return (manifests.find((object) => object.kind === 'Deployment') as { spec?: { template?: { spec?: { containers?: { image: string }[] } } } } | undefined)?.spec?.template?.spec?.containers?.[0]?.image;
    };
    const copied: ImageCopied = {
      ...sampleEvents(event.imageUID, 'req-t')['orbit.image.copied'], target: { bucket: testConfig.ORBIT_BUCKET_TESTING, key: `${event.imageUID}-v1-0-00.tar`, versionId: 'v9' },
      imageReference: `registry-testing.example.com/orbit/dev1/billing-api@${event.image.manifestDigest}`, imageTag: 'registry-testing.example.com/orbit/dev1/billing-api:v1-0-00',
    };
    expect((await promoteChart(copied, promoteDeps)).kind).toBe('promoted');
    expect(await imageIn('Testing')).toBe(copied.imageReference);
    expect(await store.getRow(tableOf('Testing'), helmChartName)).toMatchObject({ imageReference: copied.imageReference, imageTag: copied.imageTag });
    expect(await imageIn('Development')).toBe(`registry.example.com/orbit/dev1/billing-api@${event.image.manifestDigest}`);
    // Promoted again where the target shares the upload registry (no reference in ImageCopied): pinned as at upload, no reference left over.
    expect((await promoteChart({ ...copied, imageReference: null, imageTag: null }, promoteDeps)).kind).toBe('promoted');
    expect(await imageIn('Testing')).toBe(`registry.example.com/orbit/dev1/billing-api@${event.image.manifestDigest}`);
    expect(await store.getRow(tableOf('Testing'), helmChartName)).not.toHaveProperty('imageReference');
  });

  it('keeps the owner path the harbor-writer pushed under (an earlier spelling\'s too) for every environment and the chart rows; today\'s when it did not push', async () => {
    const environmentRegistries = new Map([['Testing', 'registry-testing.example.com/orbit']] as const);
    const filesOf = async (helmChartName: string): Promise<string> => String(((await store.getRow(tables.base, helmChartName))?.['files'] as { inline: string }).inline);
    const base = stored();
    const event: ImageStored = { ...base, actor: { ...base.actor, username: 'Ada.Lovelace@example.com' }, imageReference: `registry.example.com/orbit/ada-lovelace-example-com-0123abcd/billing-api@${base.image.manifestDigest}` };
    const generated = await generateChart(event, { ...deps, environmentRegistries });
    if (generated.kind !== 'generated') throw new Error('not generated');
    expect(await store.getRow(tables.manifests, generated.event.helmChartName)).toMatchObject({ owner: 'Ada.Lovelace@example.com', ownerPath: 'ada-lovelace-example-com-0123abcd' });
    expect(await filesOf(generated.event.helmChartName)).toContain(String.raw`newName: \"registry-testing.example.com/orbit/ada-lovelace-example-com-0123abcd/billing-api\"`);

    const unpushed = stored();
    const fresh = await generateChart({ ...unpushed, actor: { ...unpushed.actor, username: 'Ada.Lovelace@example.com' }, imageReference: null }, { ...deps, environmentRegistries });
    if (fresh.kind !== 'generated') throw new Error('not generated');
    expect((await store.getRow(tables.manifests, fresh.event.helmChartName))?.['ownerPath']).toMatch(/^ada-lovelace-example-com-[0-9a-f]{16}$/);

    // Pushed before owners had paths (an ImageStored of before 2026-12-04, regenerated): `<registry>/<chart name>`, recorded
    // as null; a review found today's spelling recorded and the environment's copy renamed under it.
    const top = stored();
    const before = await generateChart({ ...top, actor: { ...top.actor, username: 'Ada.Lovelace@example.com' }, imageReference: `registry.example.com/orbit/billing-api@${top.image.manifestDigest}` }, { ...deps, environmentRegistries });
    if (before.kind !== 'generated') throw new Error('not generated');
    const row = await store.getRow(tables.manifests, before.event.helmChartName);
    expect(row).toMatchObject({ owner: 'Ada.Lovelace@example.com', ownerPath: null });
    expect(await filesOf(before.event.helmChartName)).toContain(String.raw`newName: \"registry-testing.example.com/orbit/billing-api\"`);
    expect(chartPlacementOf(row!, 'Development', 'registry.example.com/orbit')).toMatchObject({ registryPrefix: 'registry.example.com/orbit' });
  });

  it('gives an environment with a registry of its own a packaged chart pulling from there, and every other environment the upload\'s chart', async () => {
    const event = stored();
    const generated = await generateChart({ ...event, imageReference: `registry.example.com/orbit/dev1/billing-api@${event.image.manifestDigest}` }, deps);
    if (generated.kind !== 'generated') throw new Error('not generated');
    const { helmChartName, chart: uploadChart, chartSha256: uploadSha256 } = generated.event;
    const chartIn = async (environment: string) => {
      const row = await store.getRow(tableOf(environment), helmChartName);
      const ref = row?.['chart'] as { bucket: string; key: string; versionId: string | null };
      const bytes = await store.getObject(ref);
      expect(sha256Hex(bytes), `${environment}'s chart hashes to what its row says`).toBe(row?.['chartSha256']);
      const values = parse((await unpackChart(bytes, 'billing-api')).get('values.yaml') ?? '') as { image: { repository: string; digest: string } };
      return { ref, sha256: String(row?.['chartSha256']), image: values.image };
    };
    const copied: ImageCopied = {
      ...sampleEvents(event.imageUID, 'req-t')['orbit.image.copied'], target: { bucket: testConfig.ORBIT_BUCKET_TESTING, key: `${event.imageUID}-v1-0-00.tar`, versionId: 'v9' },
      imageReference: `registry-testing.example.com/orbit/dev1/billing-api@${event.image.manifestDigest}`, imageTag: 'registry-testing.example.com/orbit/dev1/billing-api:v1-0-00',
    };
    const promoted = await promoteChart(copied, promoteDeps);
    if (promoted.kind !== 'promoted') throw new Error(promoted.event.message);
    const testing = await chartIn('Testing');
    expect(testing.image).toMatchObject({ repository: 'registry-testing.example.com/orbit/dev1/billing-api', digest: event.image.manifestDigest });
    expect(testing.ref.key).toBe(`${helmChartName}/testing/billing-api-1.0.0.tgz`);
    expect(promoted.event).toMatchObject({ chart: testing.ref, chartSha256: testing.sha256 });
    expect(testing.sha256).not.toBe(uploadSha256);
    // The upload's chart is untouched; a redelivery writes no second version of Testing's.
    expect(await chartIn('Development')).toMatchObject({ ref: uploadChart, sha256: uploadSha256, image: { repository: 'registry.example.com/orbit/dev1/billing-api' } });
    const again = await promoteChart(copied, promoteDeps);
    expect(again.kind === 'promoted' && again.event.chart).toEqual(testing.ref);

    // On to Staging, which pulls from the upload registry: the upload's chart, not Testing's.
    const toStaging: ImageCopied = { ...copied, sourceEnvironment: 'Testing', targetEnvironment: 'Staging', target: { ...copied.target, bucket: testConfig.ORBIT_BUCKET_STAGING }, imageReference: null, imageTag: null };
    const staged = await promoteChart(toStaging, promoteDeps);
    expect(staged).toMatchObject({ kind: 'promoted', event: { chart: null, chartSha256: null } });
    expect(await chartIn('Staging')).toMatchObject({ ref: uploadChart, sha256: uploadSha256 });

    // The upload's chart not what its row recorded: the promotion fails with CHART_ROW rather than serve something else.
    const { createdTimestampUTC: _u, createdTimestampUnix: _x, ...development } = (await store.getRow(tableOf('Development'), helmChartName)) ?? {};
    await store.putRow(tableOf('Development'), { ...development, chartSha256: 'f'.repeat(64) });
    const failed = await promoteChart({ ...copied, requestId: 'req-t2' }, promoteDeps);
    expect(failed).toMatchObject({ kind: 'failed', event: { stage: 'chart', reasonCode: 'CHART_ROW' } });
    expect(failed.kind === 'failed' && failed.event.message).toContain(`does not hash to the ${'f'.repeat(64)}`);
  });

  it('pushes the chart beside the image and an environment\'s own chart into its registry; a registry refusing the upload\'s chart dead-letters the message', async () => {
    const [registry, guarded] = await Promise.all([startRegistry(), startRegistry({ users: { robot: 'secret' } })]);
    try {
      const access = { insecure: new Set<string>(), credentials: new Map() };
      const charts = { pushChart: (chart: ChartToPush, prefix: string) => pushChart(chart, prefix, { access }, quietLogger) };
      const event = stored();
      const generated = await generateChart({ ...event, imageReference: `${registry.address}/orbit/dev1/billing-api@${event.image.manifestDigest}` }, { ...deps, ...charts, registry: `${registry.address}/orbit` });
      if (generated.kind !== 'generated') throw new Error(generated.event.message);
      expect(generated.event.chartReference).toMatch(new RegExp(`^${registry.address}/orbit/dev1/charts/billing-api@sha256:[0-9a-f]{64}$`));
      expect(generated.event.chartTag).toBe(`${registry.address}/orbit/dev1/charts/billing-api:1.0.0`);

      const copied: ImageCopied = {
        ...sampleEvents(event.imageUID, 'req-t')['orbit.image.copied'], target: { bucket: testConfig.ORBIT_BUCKET_TESTING, key: `${event.imageUID}-v1-0-00.tar`, versionId: 'v9' },
        imageReference: `${registry.address}/orbit-testing/dev1/billing-api@${event.image.manifestDigest}`, imageTag: `${registry.address}/orbit-testing/dev1/billing-api:v1-0-00`,
      };
      const promoted = await promoteChart(copied, { ...promoteDeps, ...charts, environmentRegistries: new Map([['Testing', `${registry.address}/orbit-testing`]]) });
      if (promoted.kind !== 'promoted') throw new Error(promoted.event.message);
      expect(promoted.event.chartTag).toBe(`${registry.address}/orbit-testing/dev1/charts/billing-api:1.0.0`);
      expect(promoted.event.chartReference).not.toBe(generated.event.chartReference);
      // A target registry refusing the environment's chart fails the transfer with a reason; asked again once it takes it, the transfer finishes.
      const refusedPromotion = await promoteChart(
        { ...copied, imageReference: `${guarded.address}/orbit-testing/dev1/billing-api@${event.image.manifestDigest}` },
        { ...promoteDeps, ...charts, environmentRegistries: new Map([['Testing', `${guarded.address}/orbit-testing`]]) },
      );
      expect(refusedPromotion).toMatchObject({ kind: 'failed', event: { stage: 'chart', reasonCode: 'REGISTRY_PUSH_REFUSED', message: expect.stringContaining(`${guarded.address}/orbit-testing/dev1/charts/billing-api`) } });

      const refusedEvent = stored();
      // Nothing is wrong with the upload: the consume loop dead-letters the message (not retriable), and a re-drive once the registry takes it charts it.
      const refused = generateChart({ ...refusedEvent, imageReference: `${guarded.address}/orbit/dev1/billing-api@${refusedEvent.image.manifestDigest}` }, { ...deps, ...charts, registry: `${guarded.address}/orbit` });
      await expect(refused).rejects.toThrow(PushRefusedError);
      await expect(refused).rejects.toThrow(`${guarded.address}/orbit/dev1/charts/billing-api`);
      expect(isRetriable(await refused.catch((error: unknown) => error))).toBe(false);
      // Nothing of the refused chart is in the tables: the version never looks charted.
      expect(await store.getRow(tables.manifests, `${refusedEvent.imageUID}-v1-0-00`)).toBeUndefined();
    } finally {
      await Promise.all([registry.stop(), guarded.stop()]);
    }
  });

  it('refuses, as an event no Orbit service writes, an ImageCopied naming a registry it is not configured for, contacting nothing there (found by a review: a forged one had the Testing chart pushed to, and pinning, any host)', async () => {
    // The host a forged event names: it counts every request made to it.
    const requests: string[] = [];
    const host = createServer((request, response) => {
      requests.push(`${request.method} ${request.url}`);
      response.writeHead(404).end();
    });
    await new Promise<void>((resolve) => host.listen(0, '127.0.0.1', resolve));
    try {
      const named = `127.0.0.1:${(host.address() as AddressInfo).port}`;
      const charts = { pushChart: (chart: ChartToPush, prefix: string) => pushChart(chart, prefix, { access: { insecure: new Set<string>(), credentials: new Map() } }, quietLogger) };
      const event = stored();
      const generated = await generateChart(event, deps);
      if (generated.kind !== 'generated') throw new Error(generated.event.message);
      const forged: ImageCopied = {
        ...sampleEvents(event.imageUID, 'req-t')['orbit.image.copied'], target: { bucket: testConfig.ORBIT_BUCKET_TESTING, key: `${event.imageUID}-v1-0-00.tar`, versionId: 'v9' },
        imageReference: `${named}/orbit-testing/dev1/billing-api@${event.image.manifestDigest}`, imageTag: `${named}/orbit-testing/dev1/billing-api:v1-0-00`,
      };
      const refused = promoteChart(forged, { ...promoteDeps, ...charts });
      await expect(refused).rejects.toMatchObject({ code: 'ORBIT_ERR_DECODE', topic: TOPICS.imageCopied, cause: expect.objectContaining({ message: expect.stringContaining(`imageReference "${named}/orbit-testing/dev1/billing-api@`) }) });
      expect(requests).toEqual([]);
      expect(await store.getRow(tableOf('Testing'), generated.event.helmChartName)).toBeUndefined();
      // Configured for that registry, the same event does go there: the count above would have seen it.
      await promoteChart(forged, { ...promoteDeps, ...charts, environmentRegistries: new Map([['Testing', `${named}/orbit-testing`]]) }).catch(() => undefined);
      expect(requests.length).toBeGreaterThan(0);
    } finally {
      await new Promise((resolve) => host.close(resolve));
    }
  });

  it('gives each environment\'s table the manifests its overlay builds: namespace, label, replica bounds', async () => {
    const event = stored();
    const generated = await generateChart(event, deps);
    if (generated.kind !== 'generated') throw new Error('not generated');
    const helmChartName = generated.event.helmChartName;
    const copied: ImageCopied = { ...sampleEvents(event.imageUID, 'req-t')['orbit.image.copied'], target: { bucket: testConfig.ORBIT_BUCKET_TESTING, key: `${event.imageUID}-v1-0-00.tar`, versionId: 'v9' } };
    expect((await promoteChart(copied, promoteDeps)).kind).toBe('promoted');
    const manifestsIn = async (table: string) => loadManifests(store, (await store.getRow(table, helmChartName))?.['manifests']);
    const expectEnvironment = (objects: K8sObject[], environment: string, namespace: string, replicas: [number, number]) => {
      for (const object of objects) expect([object.kind, (object.metadata as { namespace?: string }).namespace, object.metadata.labels?.['environment']]).toEqual([object.kind, namespace, environment]);
      expect(objects.find((object) => object.kind === 'HorizontalPodAutoscaler')?.['spec']).toMatchObject({ minReplicas: replicas[0], maxReplicas: replicas[1] });
    };
    expectEnvironment(await manifestsIn(tableOf('Development')), 'Development', 'orbit-development', [1, 2]);
    expectEnvironment(await manifestsIn(tableOf('Testing')), 'Testing', 'orbit-testing', [1, 3]);
    // The base row keeps the manifests the chart renders, which every environment's are built from.
    const base = await manifestsIn(tables.base);
    expect(base.every((object) => (object.metadata as { namespace?: string }).namespace === undefined)).toBe(true);
    expect(base.find((object) => object.kind === 'HorizontalPodAutoscaler')?.['spec']).toMatchObject({ minReplicas: 2, maxReplicas: 5 });
  });

  it('promotes manifests kept in the chart bucket, and charts whose base row predates base manifests', async () => {
    const envVars = Array.from({ length: 4000 }, (_, i) => ({ key: `VAR_${i}`, value: 'x'.repeat(100) }));
    const big = stored({ envVars });
    const generated = await generateChart(big, deps);
    if (generated.kind !== 'generated') throw new Error('not generated');
    const copied: ImageCopied = { ...sampleEvents(big.imageUID, 'req-t')['orbit.image.copied'], target: { bucket: testConfig.ORBIT_BUCKET_TESTING, key: `${big.imageUID}-v1-0-00.tar`, versionId: 'v9' } };
    expect((await promoteChart(copied, promoteDeps)).kind).toBe('promoted');
    const promotedRow = await store.getRow(tableOf('Testing'), generated.event.helmChartName);
    expect((promotedRow?.['manifests'] as { location?: { key: string } }).location?.key).toBe(`${generated.event.helmChartName}/manifests-testing.json`);
    const bigTesting = await loadManifests(store, promotedRow?.['manifests']);
    expect(bigTesting.every((object) => object.metadata.labels?.['environment'] === 'Testing')).toBe(true);

    // An older chart: no manifests in its base row, the base rendering in its Development row.
    const older = stored();
    const olderGenerated = await generateChart(older, deps);
    if (olderGenerated.kind !== 'generated') throw new Error('not generated');
    const name = olderGenerated.event.helmChartName;
    const baseRow = await store.getRow(tables.base, name);
    const { manifests: baseManifests, createdTimestampUTC: _u, createdTimestampUnix: _x, ...withoutManifests } = baseRow ?? {};
    await store.putRow(tables.base, withoutManifests);
    const developmentRow = await store.getRow(tableOf('Development'), name);
    const { createdTimestampUTC: _u2, createdTimestampUnix: _x2, ...development } = developmentRow ?? {};
    await store.putRow(tableOf('Development'), { ...development, manifests: baseManifests });
    const olderCopied: ImageCopied = { ...copied, imageUID: older.imageUID, target: { ...copied.target, key: `${older.imageUID}-v1-0-00.tar` } };
    expect((await promoteChart(olderCopied, promoteDeps)).kind).toBe('promoted');
    const olderTesting = await loadManifests(store, (await store.getRow(tableOf('Testing'), name))?.['manifests']);
    expect(olderTesting.map((object) => [(object.metadata as { namespace?: string }).namespace, object.metadata.labels?.['environment']])).toEqual(olderTesting.map(() => ['orbit-testing', 'Testing']));
  });

  it('fails the transfer with CHART_ROW when the base manifests cannot be read back, instead of promoting something else', async () => {
    const event = stored();
    const generated = await generateChart(event, deps);
    if (generated.kind !== 'generated') throw new Error('not generated');
    const { createdTimestampUTC: _u, createdTimestampUnix: _x, ...baseRow } = (await store.getRow(tables.base, generated.event.helmChartName)) ?? {};
    const elsewhere = await store.putObject(`test/${uniqueSuffix()}/manifests.json`, Buffer.from('[]'), 'application/json');
    await store.putRow(tables.base, { ...baseRow, manifests: { location: elsewhere, sha256: 'f'.repeat(64) } });
    const copied: ImageCopied = { ...sampleEvents(event.imageUID, 'req-t')['orbit.image.copied'], target: { bucket: testConfig.ORBIT_BUCKET_TESTING, key: `${event.imageUID}-v1-0-00.tar`, versionId: 'v9' } };
    const outcome = await promoteChart(copied, promoteDeps);
    expect(outcome).toMatchObject({ kind: 'failed', event: { pid: 'c8bms18-c20bre24-911', stage: 'chart', reasonCode: 'CHART_ROW' } });
    expect(outcome.kind === 'failed' && outcome.event.message).toContain(`does not hash to the ${'f'.repeat(64)}`);
    expect(await store.getRow(tableOf('Testing'), generated.event.helmChartName)).toBeUndefined();
  });
});
