import { describe, expect, it } from 'vitest';
import { chartPlacementOf } from './repush-charts.js';

const row = {
  helmChartName: 'U-v1-0-00', imageUID: 'U', imageVersion: 'v1-0-00', chartName: 'billing-api', chartSha256: 'c'.repeat(64),
  chart: { bucket: 'helm-chart-1224-bkt-k8d-aws', key: 'U-v1-0-00/billing-api-1.0.0.tgz', versionId: 'c1' },
};

describe('chartPlacementOf', () => {
  it('puts every version\'s chart beside the upload, and an environment\'s own chart in the registry its row pins', () => {
    expect(chartPlacementOf({ ...row, owner: 'ada' }, 'Development', 'registry.example/orbit')).toMatchObject({ environment: 'Development', registryPrefix: 'registry.example/orbit/ada', chart: row.chart, chartSha256: row.chartSha256 });
    // Under the owner path the row records; a row from before those were recorded was pushed under the first spelling (8 hex).
    expect(chartPlacementOf({ ...row, owner: 'Ada', ownerPath: 'ada-0123456789abcdef' }, 'Development', 'registry.example/orbit')).toMatchObject({ registryPrefix: 'registry.example/orbit/ada-0123456789abcdef' });
    expect(chartPlacementOf({ ...row, owner: 'Ada', createdTimestampUTC: '2026-12-05T10:00:00.000Z' }, 'Development', 'registry.example/orbit')?.registryPrefix).toMatch(/^registry\.example\/orbit\/ada-[0-9a-f]{8}$/);
    // Recorded as pushed before owners had paths (null): at the registry's top.
    expect(chartPlacementOf({ ...row, owner: 'Ada', ownerPath: null }, 'Development', 'registry.example/orbit')).toMatchObject({ registryPrefix: 'registry.example/orbit' });
    // A row from before owners were recorded: its chart was pushed at the registry's top.
    expect(chartPlacementOf(row, 'Development', 'registry.example/orbit')).toMatchObject({ registryPrefix: 'registry.example/orbit' });
    const own = { ...row, imageReference: `harbor-testing.example:8443/orbit-testing/billing-api@sha256:${'1'.repeat(64)}`, chart: { ...row.chart, key: 'U-v1-0-00/testing/billing-api-1.0.0.tgz' } };
    expect(chartPlacementOf(own, 'Testing', 'registry.example/orbit')).toMatchObject({ environment: 'Testing', registryPrefix: 'harbor-testing.example:8443/orbit-testing', chart: own.chart });
  });

  it('puts a chart beside the image its own manifests pin, whatever the row\'s owner and time imply (a review: a version pushed at the top was taken for 8 hex)', () => {
    const digest = `sha256:${'d'.repeat(64)}`;
    const pinning = (repository: string) => ({
      ...row, owner: 'Ada', createdTimestampUTC: '2026-12-05T10:00:00.000Z', imageDigest: digest,
      manifests: { inline: JSON.stringify([{ kind: 'Deployment', spec: { template: { spec: { containers: [{ name: 'app', image: `${repository}@${digest}` }] } } } }]) },
    });
    expect(chartPlacementOf(pinning('registry.example/orbit/billing-api'), 'Development', 'registry.example/orbit')).toMatchObject({ registryPrefix: 'registry.example/orbit' });
    expect(chartPlacementOf(pinning('registry.example/orbit/ada-0123abcd/billing-api'), 'Development', 'registry.example/orbit')).toMatchObject({ registryPrefix: 'registry.example/orbit/ada-0123abcd' });
    // Pinned under another prefix (the registry moved since): the row says, as before.
    expect(chartPlacementOf(pinning('old.example/orbit/billing-api'), 'Development', 'registry.example/orbit')?.registryPrefix).toMatch(/^registry\.example\/orbit\/ada-[0-9a-f]{8}$/);
  });

  it('leaves out rows serving the upload\'s chart, and rows too old or broken to say', () => {
    expect(chartPlacementOf(row, 'Staging', 'registry.example/orbit')).toBeUndefined();
    expect(chartPlacementOf({ ...row, chartSha256: undefined }, 'Development', 'registry.example/orbit')).toBeUndefined();
    expect(chartPlacementOf({ ...row, chart: null }, 'Development', 'registry.example/orbit')).toBeUndefined();
    expect(chartPlacementOf({ ...row, imageReference: 'elsewhere.example/other-name@sha256:1' }, 'Testing', 'registry.example/orbit')).toBeUndefined();
  });
});
