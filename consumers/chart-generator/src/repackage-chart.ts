import { promisify } from 'node:util';
import { gunzip } from 'node:zlib';
import { extract } from 'tar-stream';
import { isMap, isScalar, parseDocument } from 'yaml';
import { yamlTextOf } from '@orbit/lib';
import { ChartRowError } from './errors.js';
import { imageRepositoryOf } from './image-facts.js';
import { packageChart } from './package-chart.js';

const gunzipAsync = promisify(gunzip);

/** A stored chart archive read back: path under the chart directory -> text. Anything but packageChart's layout is refused. */
export async function unpackChart(tgz: Buffer, chartName: string): Promise<Map<string, string>> {
  let tar: Buffer;
  try {
    tar = await gunzipAsync(tgz);
  } catch (error) {
    throw new ChartRowError(`the stored chart ${chartName} is not a gzip archive: ${(error as Error).message}`);
  }
  const files = new Map<string, string>();
  const reader = extract();
  const prefix = `${chartName}/`;
  reader.on('entry', (header, stream, next) => {
    const chunks: Buffer[] = [];
    stream.on('data', (chunk: unknown) => {
      if (chunk instanceof Uint8Array) chunks.push(Buffer.from(chunk));
    });
    stream.on('end', () => {
      if (header.type !== 'file' || !header.name.startsWith(prefix) || header.name.length === prefix.length) {
        next(new ChartRowError(`the stored chart ${chartName} holds ${JSON.stringify(header.name)} (${header.type ?? 'unknown'}), not a file of the chart`));
        return;
      }
      files.set(header.name.slice(prefix.length), Buffer.concat(chunks).toString('utf8'));
      next();
    });
    stream.on('error', next);
  });
  await new Promise<void>((resolve, reject) => {
    reader.on('finish', resolve);
    reader.on('error', (error: Error) => reject(error instanceof ChartRowError ? error : new ChartRowError(`the stored chart ${chartName} is not a tar archive: ${error.message}`)));
    reader.end(tar);
  });
  return files;
}

/**
 * The same chart files with values.yaml's image.repository replaced: the
 * digest, the tag, the comments and the order of everything else stay, so an
 * environment's chart differs from the upload's in that one value.
 */
export function withImageRepository(files: ReadonlyMap<string, string>, repository: string): Map<string, string> {
  const text = files.get('values.yaml');
  if (text === undefined) throw new ChartRowError('the stored chart has no values.yaml');
  const values = parseDocument(text, { version: '1.1' });
  const image = values.get('image', true);
  const current = isMap(image) ? image.get('repository', true) : undefined;
  if (values.errors.length > 0 || !isScalar(current)) throw new ChartRowError('the stored chart\'s values.yaml has no image.repository');
  // The node keeps its quoting; only its value changes.
  current.value = imageRepositoryOf(repository);
  return new Map([...files, ['values.yaml', yamlTextOf(values)]]);
}

/** A packaged chart again, pulling its image from `repository` (an environment's own registry). Deterministic, as packageChart is. */
export async function chartPullingFrom(tgz: Buffer, chartName: string, chartVersion: string, repository: string): Promise<Buffer> {
  return packageChart(withImageRepository(await unpackChart(tgz, chartName), repository), chartName, chartVersion);
}
