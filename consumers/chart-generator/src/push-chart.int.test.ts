import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDynamo, createS3, RegistryClient, RegistryPush } from '@orbit/lib';
import { withHelm } from '../../../test/helpers/helm.js';
import { quietLogger, testConfig, uniqueSuffix } from '../../../test/helpers/index.js';
import { startRegistry, type TestRegistry } from '../../../test/helpers/registry.js';
import { renderChart } from './chart/render.js';
import { packageChart } from './package-chart.js';
import { pushChart } from './push-chart.js';
import { chartPullingFrom } from './repackage-chart.js';
import { checkChart, repushChart, type ChartPlacement } from './repush-charts.js';
import { awsChartStore } from './chart-store.js';
import { SCENARIOS } from './testing/inputs.js';

/** Charts pushed as OCI artifacts into a real registry, pulled back by helm itself. */

const access = { insecure: new Set<string>(), credentials: new Map() };
let registry: TestRegistry;
let guarded: TestRegistry;

beforeAll(async () => {
  [registry, guarded] = await Promise.all([startRegistry(), startRegistry({ users: { robot: 'secret' } })]);
}, 180_000);

afterAll(async () => {
  await Promise.all([registry?.stop(), guarded?.stop()]);
});

const UID = 'AbCdEf123456'.padEnd(60, 'x');

/** `helm pull oci://… --version`: the archive's bytes. */
const helmPull = (repository: string, version: string): Promise<Buffer> => withHelm(async (helm, home) => {
  helm('pull', `oci://${repository}`, '--version', version, '--plain-http', '--destination', home);
  const [file] = (await readdir(home)).filter((name) => name.endsWith('.tgz'));
  return readFile(join(home, file ?? ''));
});

/** The manifest digest a tag names in a repository of the registry. */
const taggedDigest = (repository: string, tag: string): Promise<string | undefined> =>
  new RegistryPush(new RegistryClient({ registry: registry.address, repository, insecure: true }), registry.address).manifestAt(tag);

describe('a chart pushed as an OCI artifact', () => {
  const files = renderChart(SCENARIOS.realistic!);

  it('is what helm pulls by its version, under the digest ViewPort records; pushing it again changes nothing', async () => {
    const tgz = await packageChart(files, 'billing-api', '1.0.0');
    const outcome = await pushChart({ tgz, chartName: 'billing-api', imageUID: UID }, `${registry.address}/orbit`, { access }, quietLogger);
    if (outcome.kind !== 'pushed') throw new Error(outcome.message);
    expect(outcome.chart.reference).toMatch(new RegExp(`^${registry.address}/orbit/charts/billing-api@sha256:[0-9a-f]{64}$`));
    expect(outcome.chart.tagReference).toBe(`${registry.address}/orbit/charts/billing-api:1.0.0`);
    expect((await helmPull(`${registry.address}/orbit/charts/billing-api`, '1.0.0')).equals(tgz)).toBe(true);
    expect(await taggedDigest('orbit/charts/billing-api', '1.0.0')).toBe(outcome.chart.reference.slice(outcome.chart.reference.indexOf('@') + 1));
    expect(await pushChart({ tgz, chartName: 'billing-api', imageUID: UID }, `${registry.address}/orbit`, { access }, quietLogger)).toEqual(outcome);
  });

  it('leaves the version tag to the chart it names: another owner\'s chart of that name and version gets the tag with its image UID', async () => {
    const first = await packageChart(files, 'billing-api', '1.0.0');
    const other = await chartPullingFrom(first, 'billing-api', '1.0.0', 'elsewhere.example/team/billing-api');
    await pushChart({ tgz: first, chartName: 'billing-api', imageUID: 'Z'.repeat(60) }, `${registry.address}/shared`, { access }, quietLogger);
    const second = await pushChart({ tgz: other, chartName: 'billing-api', imageUID: UID }, `${registry.address}/shared`, { access }, quietLogger);
    if (second.kind !== 'pushed') throw new Error(second.message);
    expect(second.chart.tagReference).toBe(`${registry.address}/shared/charts/billing-api:1.0.0-AbCdEf123456`);
    expect((await helmPull(`${registry.address}/shared/charts/billing-api`, '1.0.0-AbCdEf123456')).equals(other)).toBe(true);
    expect((await helmPull(`${registry.address}/shared/charts/billing-api`, '1.0.0')).equals(first)).toBe(true);
  });

  it('answers a refusal, with the registry and the reason, when the registry takes no anonymous push', async () => {
    const tgz = await packageChart(files, 'billing-api', '1.0.0');
    const refused = await pushChart({ tgz, chartName: 'billing-api', imageUID: UID }, `${guarded.address}/orbit`, { access }, quietLogger);
    expect(refused).toMatchObject({ kind: 'refused', message: expect.stringContaining(`${guarded.address}/orbit/charts/billing-api`) });
    const allowed = await pushChart({ tgz, chartName: 'billing-api', imageUID: UID }, `${guarded.address}/orbit`, { access: { ...access, credentials: new Map([[guarded.address, { username: 'robot', password: 'secret' }]]) } }, quietLogger);
    expect(allowed.kind).toBe('pushed');
    expect(await pushChart({ tgz, chartName: 'billing-api', imageUID: UID }, 'orbit', { access }, quietLogger)).toMatchObject({ kind: 'refused', message: expect.stringContaining('names no registry repository') });
  });
});

describe('charts:push', () => {
  const store = awsChartStore(createS3(testConfig), createDynamo(testConfig), testConfig.ORBIT_BUCKET_CHARTS);

  it('finds a stored chart the registry lacks, pushes it from the chart bucket, and then finds it held', async () => {
    const tgz = await packageChart(renderChart(SCENARIOS.realistic!), 'billing-api', '1.0.0');
    const stored = await store.putObject(`test/${uniqueSuffix()}/billing-api-1.0.0.tgz`, tgz, 'application/gzip');
    const placement: ChartPlacement = {
      environment: 'Development', imageUID: UID, imageVersion: 'v1-0-00', chartName: 'billing-api',
      chart: { bucket: stored.bucket, key: stored.key, versionId: stored.versionId }, chartSha256: stored.sha256, registryPrefix: `${registry.address}/backfill-${uniqueSuffix()}`,
    };
    const deps = { store, pushing: { access }, log: quietLogger };
    const before = await checkChart(placement, deps);
    expect(before).toMatchObject({ kind: 'missing', reference: expect.stringMatching(new RegExp(`^${placement.registryPrefix}/charts/billing-api@sha256:`)) });
    expect(await repushChart(placement, deps)).toBeUndefined();
    expect(await checkChart(placement, deps)).toEqual({ ...before, kind: 'held' });
    expect((await helmPull(`${placement.registryPrefix}/charts/billing-api`, '1.0.0')).equals(tgz)).toBe(true);
    // A chart whose bytes are not what its row recorded is reported, not pushed.
    expect(await checkChart({ ...placement, chartSha256: 'f'.repeat(64) }, deps)).toMatchObject({ kind: 'unpushable', why: expect.stringContaining('does not hash to') });
    expect(await repushChart({ ...placement, registryPrefix: `${guarded.address}/orbit` }, deps)).toContain(`${guarded.address}/orbit/charts/billing-api`);
  });
});
