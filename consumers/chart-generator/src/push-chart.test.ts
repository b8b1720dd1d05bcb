import { createHash } from 'node:crypto';
import { createServer, type AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { quietLogger } from '../../../test/helpers/index.js';
import { renderChart } from './chart/render.js';
import { sha256Hex, type ChartStore } from './chart-store.js';
import { packageChart } from './package-chart.js';
import { chartArtifactOf, chartHeld, chartRepositoryOf, chartTagsOf, HELM_CHART_LAYER_TYPE, HELM_CONFIG_TYPE } from './push-chart.js';
import { checkChart, repushChart, type ChartPlacement } from './repush-charts.js';
import { SCENARIOS } from './testing/inputs.js';

const sha = (bytes: Buffer): string => `sha256:${createHash('sha256').update(bytes).digest('hex')}`;

describe('chartArtifactOf', () => {
  const tgz = Buffer.from('a chart archive');
  const chartYaml = { apiVersion: 'v2', name: 'billing-api', version: '1.0.0+build.7', description: 'Billing API', appVersion: 'v1-0-00' };

  it('lays the chart out as helm push does: Chart.yaml as the config, the archive as the one layer, both by digest', () => {
    const artifact = chartArtifactOf(tgz, chartYaml);
    const manifest = JSON.parse(artifact.manifest.toString('utf8')) as Record<string, unknown>;
    expect(JSON.parse(artifact.config.toString('utf8'))).toEqual(chartYaml);
    expect(manifest).toEqual({
      schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: HELM_CONFIG_TYPE, digest: sha(artifact.config), size: artifact.config.length },
      layers: [{ mediaType: HELM_CHART_LAYER_TYPE, digest: sha(tgz), size: tgz.length }],
      annotations: { 'org.opencontainers.image.title': 'billing-api', 'org.opencontainers.image.version': '1.0.0+build.7', 'org.opencontainers.image.description': 'Billing API' },
    });
    expect(artifact.digest).toBe(sha(artifact.manifest));
    // Tags cannot hold SemVer's +: helm writes it _ and reads it back.
    expect(artifact.tag).toBe('1.0.0_build.7');
  });

  it('is the same manifest for the same chart, so a redelivery finds it in place', () => {
    expect(chartArtifactOf(tgz, chartYaml).digest).toBe(chartArtifactOf(Buffer.from(tgz), { ...chartYaml }).digest);
    expect(chartArtifactOf(Buffer.from('another archive'), chartYaml).digest).not.toBe(chartArtifactOf(tgz, chartYaml).digest);
  });
});

describe('where a chart goes', () => {
  it('goes to <registry path>/charts/<chart name>, tagged with its version or, that taken, its version and image UID', () => {
    expect(chartRepositoryOf('harbor.example/orbit/', 'billing-api')).toBe('harbor.example/orbit/charts/billing-api');
    expect(chartTagsOf('1.0.0', 'AbCdEf123456xyz')).toEqual(['1.0.0', '1.0.0-AbCdEf123456']);
    expect(chartTagsOf('1'.repeat(120), 'AbCdEf123456xyz')).toEqual(['1'.repeat(120)]);
  });
});

/** A registry address where nothing listens: a port taken, then let go. */
async function closedRegistry(): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return `127.0.0.1:${port}`;
}

describe('a chart looked for in a registry that does not answer', () => {
  const access = { insecure: new Set<string>(), credentials: new Map() };

  it('is reported as one that cannot be checked, so charts:push goes on with the others (found by a review: the whole run aborted with no report)', async () => {
    const registry = await closedRegistry();
    const tgz = await packageChart(renderChart(SCENARIOS.realistic!), 'billing-api', '1.0.0');
    const held = await chartHeld({ tgz, chartName: 'billing-api', imageUID: 'U'.repeat(60) }, `${registry}/orbit`, { access });
    expect(held).toEqual(expect.stringMatching(new RegExp(`^looking for ${registry}/orbit/charts/billing-api@sha256:[0-9a-f]{64}: registry ${registry} is unavailable$`)));

    const chart = { bucket: 'charts', key: 'billing-api-1.0.0.tgz', versionId: null };
    const store: ChartStore = {
      getObject: async () => tgz,
      putObject: () => Promise.reject(new Error('a check writes nothing')), putRow: () => Promise.reject(new Error('a check writes nothing')), getRow: async () => undefined,
    };
    const placement: ChartPlacement = {
      environment: 'Development', imageUID: 'U'.repeat(60), imageVersion: 'v1', chartName: 'billing-api', chart, chartSha256: sha256Hex(tgz), registryPrefix: `${registry}/orbit`,
    };
    expect(await checkChart(placement, { store, pushing: { access }, log: quietLogger })).toEqual({ kind: 'unpushable', placement, why: held });
    // Gone away between the check and the push: refused for this chart, not the end of the run (found by a review).
    expect(await repushChart(placement, { store, pushing: { access }, log: quietLogger })).toMatch(new RegExp(`^pushing to ${registry}/orbit: registry ${registry} is unavailable`));
  }, 30_000);
});
