import { gzip } from 'node:zlib';
import { promisify } from 'node:util';
import { pack } from 'tar-stream';
import { parse } from 'yaml';
import { ChartInputError } from './errors.js';

const gzipAsync = promisify(gzip);

/** Fixed so the same chart always packs to the same bytes (and sha256). helm's own archives carry the packing time. */
export const PACKAGE_MTIME = new Date('2000-01-01T00:00:00Z');

/** helm package's order: Chart.yaml, values.yaml, values.schema.json, then templates, then everything else; each group by path. */
function packageOrder(paths: Iterable<string>): string[] {
  const rank = (path: string): number => {
    const fixed = ['Chart.yaml', 'values.yaml', 'values.schema.json'].indexOf(path);
    if (fixed !== -1) return fixed;
    return path.startsWith('templates/') ? 3 : 4;
  };
  return [...paths].sort((a, b) => rank(a) - rank(b) || (a < b ? -1 : a > b ? 1 : 0));
}

/** helm refuses an archive whose directory differs from Chart.yaml's name; catch that here rather than at install time. */
function checkChartYaml(files: ReadonlyMap<string, string>, chartName: string, chartVersion: string): void {
  const text = files.get('Chart.yaml');
  if (text === undefined) throw new ChartInputError('Chart.yaml', 'the chart has no Chart.yaml');
  const chart: unknown = parse(text, { version: '1.1' });
  const field = (key: string): unknown => (chart !== null && typeof chart === 'object' ? (chart as Record<string, unknown>)[key] : undefined);
  if (field('name') !== chartName || field('version') !== chartVersion) {
    throw new ChartInputError('Chart.yaml', `says ${String(field('name'))} ${String(field('version'))}, packaging asked for ${chartName} ${chartVersion}`);
  }
}

/**
 * The chart as `helm package` lays it out: every file under "<chartName>/",
 * regular files only, mode 0644. Deterministic: fixed mtime, owner and order.
 */
export async function packageChart(files: ReadonlyMap<string, string>, chartName: string, chartVersion: string): Promise<Buffer> {
  checkChartYaml(files, chartName, chartVersion);
  const tar = pack();
  const chunks: Buffer[] = [];
  tar.on('data', (chunk: unknown) => {
    if (chunk instanceof Uint8Array) chunks.push(Buffer.from(chunk));
  });
  const ended = new Promise<void>((resolve, reject) => {
    tar.on('end', resolve);
    tar.on('error', reject);
  });
  for (const path of packageOrder(files.keys())) {
    const body = Buffer.from(files.get(path) ?? '', 'utf8');
    tar.entry({ name: `${chartName}/${path}`, size: body.length, mode: 0o644, mtime: PACKAGE_MTIME, uid: 0, gid: 0, uname: '', gname: '', type: 'file' }, body);
  }
  tar.finalize();
  await ended;
  // The gzip header's mtime is 0 and its OS byte fixed by zlib, so equal tar bytes give equal .tgz bytes.
  return gzipAsync(Buffer.concat(chunks), { level: 9 });
}

/** helm's archive file name for a chart. */
export const packageFileNameOf = (chartName: string, chartVersion: string): string => `${chartName}-${chartVersion}.tgz`;
