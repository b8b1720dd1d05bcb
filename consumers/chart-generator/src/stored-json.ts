import type { K8sObject } from './chart/manifests.js';
import { sha256Hex, type ChartStore } from './chart-store.js';
import { ChartRowError } from './errors.js';

/**
 * DynamoDB refuses items over 400 KB. Rendered files of a normal image are a
 * few KB; ones that grow past this (thousands of env vars) go to the chart
 * bucket and the row points at them, so a put never fails for good.
 */
export const MAX_INLINE_BYTES = 300 * 1024;

/** A row's JSON text: inline, or the chart-bucket object that holds it with its SHA-256. */
export type StoredJson =
  | { readonly inline: string }
  | { readonly location: { readonly bucket: string; readonly key: string; readonly versionId: string | null }; readonly sha256: string };

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

/** A row's manifests field read back, from the row or the chart bucket; the object's bytes must have the SHA-256 the row recorded (ChartRowError otherwise). */
export async function loadManifests(store: ChartStore, field: unknown): Promise<K8sObject[]> {
  const stored = field as Partial<{ inline: unknown; location: { bucket: string; key: string; versionId: string | null }; sha256: unknown }> | undefined;
  let text: string;
  if (typeof stored?.inline === 'string') {
    text = stored.inline;
  } else if (stored?.location && typeof stored.sha256 === 'string') {
    const bytes = await store.getObject(stored.location);
    if (sha256Hex(bytes) !== stored.sha256) throw new ChartRowError(`${stored.location.bucket}/${stored.location.key} does not hash to the ${stored.sha256} its row recorded`);
    text = bytes.toString('utf8');
  } else {
    throw new ChartRowError('the row holds no manifests, inline or in the chart bucket');
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new ChartRowError(`the row's manifests are not JSON: ${(error as Error).message}`);
  }
  if (!Array.isArray(parsed)) throw new ChartRowError('the row\'s manifests are not a JSON array');
  return parsed as K8sObject[];
}
