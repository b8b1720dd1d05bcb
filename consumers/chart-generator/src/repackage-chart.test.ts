import { gzipSync } from 'node:zlib';
import { pack } from 'tar-stream';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { renderChart } from './chart/render.js';
import { ChartInputError, ChartRowError } from './errors.js';
import { packageChart } from './package-chart.js';
import { chartPullingFrom, unpackChart, withImageRepository } from './repackage-chart.js';
import { SCENARIOS } from './testing/inputs.js';

const TESTING_REPOSITORY = 'harbor-testing.example:8443/orbit-testing/billing-api';

async function tarOf(entries: { name: string; body?: string; type?: 'file' | 'directory' | 'symlink'; linkname?: string }[]): Promise<Buffer> {
  const tar = pack();
  const chunks: Buffer[] = [];
  tar.on('data', (chunk: unknown) => chunks.push(Buffer.from(chunk as Uint8Array)));
  const ended = new Promise<void>((resolve) => tar.on('end', resolve));
  for (const entry of entries) tar.entry({ name: entry.name, type: entry.type ?? 'file', ...(entry.linkname ? { linkname: entry.linkname } : {}) }, entry.body ?? '');
  tar.finalize();
  await ended;
  return gzipSync(Buffer.concat(chunks));
}

describe('a chart packaged again for an environment\'s own registry', () => {
  for (const [scenario, input] of Object.entries(SCENARIOS)) {
    const files = renderChart(input);
    const chartName = String((parse(files.get('Chart.yaml')!) as { name: string }).name);
    const chartVersion = String((parse(files.get('Chart.yaml')!) as { version: string }).version);

    it(`reads back every file packageChart wrote (${scenario})`, async () => {
      expect(await unpackChart(await packageChart(files, chartName, chartVersion), chartName)).toEqual(files);
    });

    it(`changes values.yaml's image.repository and nothing else (${scenario})`, async () => {
      const changed = withImageRepository(files, TESTING_REPOSITORY);
      const values = parse(files.get('values.yaml')!, { version: '1.1' }) as { image: Record<string, unknown> };
      expect(parse(changed.get('values.yaml')!, { version: '1.1' })).toEqual({ ...values, image: { ...values.image, repository: TESTING_REPOSITORY } });
      // The header comments stay, and every other file is byte for byte the upload's.
      expect(changed.get('values.yaml')!.split('\n').slice(0, 2)).toEqual(files.get('values.yaml')!.split('\n').slice(0, 2));
      for (const [path, text] of files) if (path !== 'values.yaml') expect(changed.get(path), path).toBe(text);
    });

    it(`gives the upload's bytes back for the upload's own repository, so nothing drifts by being read and written (${scenario})`, async () => {
      const packaged = await packageChart(files, chartName, chartVersion);
      const values = parse(files.get('values.yaml')!, { version: '1.1' }) as { image: { repository: string } };
      expect((await chartPullingFrom(packaged, chartName, chartVersion, values.image.repository)).equals(packaged)).toBe(true);
      const [a, b] = await Promise.all([1, 2].map(() => chartPullingFrom(packaged, chartName, chartVersion, TESTING_REPOSITORY)));
      expect(a!.equals(b!)).toBe(true);
      expect(a!.equals(packaged)).toBe(false);
    });
  }

  it('refuses a stored chart that is not what packageChart writes', async () => {
    await expect(unpackChart(Buffer.from('not gzip'), 'billing-api')).rejects.toThrow(ChartRowError);
    await expect(unpackChart(gzipSync(Buffer.from('x'.repeat(1024))), 'billing-api')).rejects.toThrow(ChartRowError);
    await expect(unpackChart(await tarOf([{ name: 'other/Chart.yaml', body: 'name: other' }]), 'billing-api')).rejects.toThrow(/"other\/Chart.yaml"/);
    await expect(unpackChart(await tarOf([{ name: 'billing-api/templates/x.yaml', type: 'symlink', linkname: '/etc/passwd' }]), 'billing-api')).rejects.toThrow(/symlink/);
    expect(() => withImageRepository(new Map([['Chart.yaml', 'name: x']]), TESTING_REPOSITORY)).toThrow(/no values.yaml/);
    expect(() => withImageRepository(new Map([['values.yaml', 'image: registry/x\n']]), TESTING_REPOSITORY)).toThrow(/no image.repository/);
    expect(() => withImageRepository(new Map([['values.yaml', 'image: {repository: [a]}\n']]), TESTING_REPOSITORY)).toThrow(ChartRowError);
  });

  it('refuses a repository no image reference can name', () => {
    const files = renderChart(SCENARIOS.realistic!);
    expect(() => withImageRepository(files, 'Harbor.example/Orbit:latest')).toThrow(ChartInputError);
  });
});
