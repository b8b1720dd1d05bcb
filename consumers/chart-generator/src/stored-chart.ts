import type { ObjectRef } from '@orbit/schemas';
import { sha256Hex, type ChartStore } from './chart-store.js';
import { ChartRowError } from './errors.js';

/** A chart row's packaged chart: where it lies, and the SHA-256 its row recorded. */
export interface StoredChart {
  readonly ref: ObjectRef;
  readonly sha256: string;
}

/** The packaged chart a kustomize table row names; undefined for a row that names none (or too old to). */
export function storedChartOf(row: Readonly<Record<string, unknown>>): StoredChart | undefined {
  const ref = row['chart'] as Partial<ObjectRef> | undefined | null;
  const sha256 = row['chartSha256'];
  if (typeof ref?.bucket !== 'string' || typeof ref.key !== 'string' || typeof sha256 !== 'string' || sha256 === '') return undefined;
  return { ref: { bucket: ref.bucket, key: ref.key, versionId: typeof ref.versionId === 'string' ? ref.versionId : null }, sha256 };
}

/** The chart's bytes, when they are what its row recorded (ChartRowError when not). */
export async function readStoredChart(store: ChartStore, chart: StoredChart): Promise<Buffer> {
  const bytes = await store.getObject(chart.ref);
  if (sha256Hex(bytes) !== chart.sha256) throw new ChartRowError(`${chart.ref.bucket}/${chart.ref.key} does not hash to the ${chart.sha256} its row recorded`);
  return bytes;
}
