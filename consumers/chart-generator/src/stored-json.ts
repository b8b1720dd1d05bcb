import { readStoredJson, StoredJsonError, type StoredJson } from '@orbit/lib';
import type { K8sObject } from './chart/manifests.js';
import type { ChartStore } from './chart-store.js';
import { ChartRowError } from './errors.js';

/**
 * DynamoDB refuses items over 400 KB. Rendered files of a normal image are a
 * few KB; ones that grow past this (thousands of env vars) go to the chart
 * bucket and the row points at them, so a put never fails for good.
 */
export const MAX_INLINE_BYTES = 300 * 1024;

/**
 * Inline JSON text, or a pointer to the same text in the chart bucket when it
 * would take more than `budget` bytes of a row (a row holding two such fields
 * splits the limit between them).
 */
export async function inlineOrObject(store: ChartStore, key: string, text: string, budget = MAX_INLINE_BYTES): Promise<StoredJson> {
  if (Buffer.byteLength(text) <= budget) return { inline: text };
  const stored = await store.putObject(key, Buffer.from(text), 'application/json');
  return { location: { bucket: stored.bucket, key: stored.key, versionId: stored.versionId }, sha256: stored.sha256 };
}

/** Bytes of a stored field as a row holds them inline, for the budget of the fields beside it. */
export const inlineBytesOf = (field: StoredJson): number => ('inline' in field ? Buffer.byteLength(field.inline) : 0);

/** A row's manifests read back, from the row or the chart bucket (ChartRowError when they cannot be). */
export async function loadManifests(store: ChartStore, field: unknown): Promise<K8sObject[]> {
  let parsed: unknown;
  try {
    parsed = await readStoredJson(field, (location) => store.getObject(location));
  } catch (error) {
    if (error instanceof StoredJsonError) throw new ChartRowError(`manifests: ${error.message}`);
    throw error;
  }
  if (!Array.isArray(parsed)) throw new ChartRowError('manifests: not a JSON array');
  return parsed as K8sObject[];
}
