import { createHash } from 'node:crypto';
import { gunzipSync } from 'node:zlib';
import { extract } from 'tar-stream';
import { describe, expect, it } from 'vitest';
import { renderChart } from './chart/render.js';
import { ChartInputError } from './errors.js';
import { packageChart, packageFileNameOf, PACKAGE_MTIME } from './package-chart.js';
import { SCENARIOS } from './testing/inputs.js';

interface Entry { name: string; mode: number; mtime: number; type: string; body: string }

async function entriesOf(tgz: Buffer): Promise<Entry[]> {
  const entries: Entry[] = [];
  const reader = extract();
  reader.on('entry', (header, stream, next) => {
    const chunks: Buffer[] = [];
    stream.on('data', (chunk: unknown) => chunks.push(Buffer.from(chunk as Uint8Array)));
    stream.on('end', () => {
      entries.push({ name: header.name, mode: header.mode ?? 0, mtime: header.mtime?.getTime() ?? 0, type: header.type ?? '', body: Buffer.concat(chunks).toString('utf8') });
      next();
    });
  });
  const done = new Promise<void>((resolve, reject) => {
    reader.on('finish', resolve);
    reader.on('error', reject);
  });
  reader.end(gunzipSync(tgz));
  await done;
  return entries;
}

const sha256 = (buffer: Buffer) => createHash('sha256').update(buffer).digest('hex');

describe('packageChart', () => {
  const files = renderChart(SCENARIOS.realistic!);

  it('puts every file under <chartName>/ in helm order, as regular 0644 files with a fixed mtime', async () => {
    const entries = await entriesOf(await packageChart(files, 'billing-api', '1.0.0'));
    expect(entries.map((entry) => entry.name)).toEqual([
      'billing-api/Chart.yaml', 'billing-api/values.yaml', 'billing-api/values.schema.json',
      'billing-api/templates/NOTES.txt', 'billing-api/templates/_helpers.tpl', 'billing-api/templates/configmap.yaml',
      'billing-api/templates/deployment.yaml', 'billing-api/templates/hpa.yaml', 'billing-api/templates/networkpolicy.yaml',
      'billing-api/templates/pdb.yaml', 'billing-api/templates/service.yaml', 'billing-api/templates/serviceaccount.yaml',
      'billing-api/templates/tests/test-connection.yaml',
    ]);
    for (const entry of entries) {
      expect(entry).toMatchObject({ mode: 0o644, mtime: PACKAGE_MTIME.getTime(), type: 'file' });
      expect(entry.body).toBe(files.get(entry.name.slice('billing-api/'.length)));
    }
  });

  it('is deterministic: the same chart gives the same sha256, whatever the map order', async () => {
    const reversed = new Map([...files].reverse());
    const [a, b] = await Promise.all([packageChart(files, 'billing-api', '1.0.0'), packageChart(reversed, 'billing-api', '1.0.0')]);
    expect(sha256(a)).toBe(sha256(b));
    const other = await packageChart(renderChart(SCENARIOS.hostile!), 'etrange-service-name', '0.0.1');
    expect(sha256(other)).not.toBe(sha256(a));
  });

  it("refuses a name or version that is not Chart.yaml's", async () => {
    await expect(packageChart(files, 'other', '1.0.0')).rejects.toThrow(ChartInputError);
    await expect(packageChart(files, 'billing-api', '9.9.9')).rejects.toThrow(/Chart.yaml/);
    await expect(packageChart(new Map(), 'billing-api', '1.0.0')).rejects.toThrow(ChartInputError);
  });

  it("names the archive as helm does", () => {
    expect(packageFileNameOf('billing-api', '1.0.0')).toBe('billing-api-1.0.0.tgz');
  });
});
