import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { chartArtifactOf, chartRepositoryOf, chartTagsOf, HELM_CHART_LAYER_TYPE, HELM_CONFIG_TYPE } from './push-chart.js';

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
