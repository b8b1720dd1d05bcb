import { ScanCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { ownerPathIn, pushedOwnerPathOf, RegistryUnavailableError, repositoryPathUnder, type Logger } from '@orbit/lib';
import type { ObjectRef } from '@orbit/schemas';
import type { ChartStore } from './chart-store.js';
import type { Environment } from './environment.js';
import { ChartRowError } from './errors.js';
import { chartHeld, pushChart, type ChartPushing } from './push-chart.js';
import { readStoredChart, storedChartOf } from './stored-chart.js';

/** A chart a registry should hold: every version's, beside its image; and each environment's own, in that environment's registry. */
export interface ChartPlacement {
  readonly environment: Environment;
  readonly imageUID: string;
  readonly imageVersion: string;
  readonly chartName: string;
  readonly chart: ObjectRef;
  readonly chartSha256: string;
  /** The registry path it goes under (`<this>/charts/<chart name>`). */
  readonly registryPrefix: string;
}

const text = (value: unknown): string | undefined => (typeof value === 'string' && value !== '' ? value : undefined);

/** Every `image` in a parsed manifest list, however deep (containers, init containers). */
function imagesIn(value: unknown): string[] {
  if (Array.isArray(value)) return value.flatMap(imagesIn);
  if (typeof value !== 'object' || value === null) return [];
  return Object.entries(value).flatMap(([key, inner]) => (key === 'image' && typeof inner === 'string' ? [inner] : imagesIn(inner)));
}

/**
 * The repository a chart row's own manifests pin its image in (`<repository>@<imageDigest>`): where the image was
 * pushed, and the chart beside it. Undefined when the row keeps its manifests in the chart bucket, or names no digest.
 */
function pinnedRepositoryOf(row: Readonly<Record<string, unknown>>): string | undefined {
  const digest = text(row['imageDigest']);
  const inline = (row['manifests'] as { inline?: unknown } | undefined)?.inline;
  if (!digest || typeof inline !== 'string') return undefined;
  let manifests: unknown;
  try {
    manifests = JSON.parse(inline);
  } catch {
    return undefined;
  }
  const pinned = imagesIn(manifests).find((image) => image.endsWith(`@${digest}`));
  return pinned?.slice(0, -digest.length - 1);
}

/**
 * The owner path a Development row's chart was pushed under, null: at the registry's top. What its manifests pin says
 * it best (the chart goes beside the image); else what the row records or implies (pushedOwnerPathOf).
 */
function chartOwnerPathOf(row: Readonly<Record<string, unknown>>, uploadRegistry: string, chartName: string): string | null {
  const pinned = pinnedRepositoryOf(row);
  const pinnedOwnerPath = pinned === undefined ? undefined : ownerPathIn(pinned, uploadRegistry, chartName);
  if (pinnedOwnerPath !== undefined) return pinnedOwnerPath;
  return pushedOwnerPathOf({ ownerPath: row['ownerPath'], owner: text(row['owner']), createdTimestampUTC: row['createdTimestampUTC'] });
}

/**
 * Where a kustomize table row's chart belongs: a Development row's beside the
 * upload (`uploadRegistry/<owner>`); another environment's only when it pulls from a
 * registry of its own (its row pins a reference there and holds a chart
 * packaged for it), in that registry. Undefined for rows serving the upload's
 * chart, and for rows too old to say.
 */
export function chartPlacementOf(row: Readonly<Record<string, unknown>>, environment: Environment, uploadRegistry: string): ChartPlacement | undefined {
  const imageUID = text(row['imageUID']);
  const imageVersion = text(row['imageVersion']);
  const chartName = text(row['chartName']);
  const stored = storedChartOf(row);
  if (!imageUID || !imageVersion || !chartName || !stored) return undefined;
  const { ref: chart, sha256: chartSha256 } = stored;
  if (environment === 'Development') {
    // Beside the upload, under the owner path its image was pushed under; images pushed before owners had paths, at the registry's top.
    const repository = `${uploadRegistry.replace(/\/+$/, '')}/${repositoryPathUnder(chartOwnerPathOf(row, uploadRegistry, chartName), chartName)}`;
    return { environment, imageUID, imageVersion, chartName, chart, chartSha256, registryPrefix: prefixOf(repository, chartName) };
  }
  const pinned = text(row['imageReference']);
  const repository = pinned?.slice(0, pinned.lastIndexOf('@'));
  if (!repository?.endsWith(`/${chartName}`)) return undefined;
  return { environment, imageUID, imageVersion, chartName, chart, chartSha256, registryPrefix: prefixOf(repository, chartName) };
}

/** What a chart is pushed under (helm push adds its name): its repository without `/<chart name>`. */
function prefixOf(repository: string, chartName: string): string {
  return repository.slice(0, -chartName.length - 1);
}

/** Every row of a kustomize table, or one image's. */
export async function chartRows(dynamo: DynamoDBDocumentClient, table: string, imageUID?: string): Promise<Record<string, unknown>[]> {
  const rows: Record<string, unknown>[] = [];
  let start: Record<string, unknown> | undefined;
  do {
    const page = await dynamo.send(new ScanCommand({
      TableName: table, ExclusiveStartKey: start, ConsistentRead: true,
      ...(imageUID === undefined ? {} : { FilterExpression: 'imageUID = :uid', ExpressionAttributeValues: { ':uid': imageUID } }),
    }));
    rows.push(...(page.Items ?? []));
    start = page.LastEvaluatedKey;
  } while (start !== undefined);
  return rows;
}

export type ChartCheck =
  | { readonly kind: 'held' | 'missing'; readonly placement: ChartPlacement; readonly reference: string }
  | { readonly kind: 'unpushable'; readonly placement: ChartPlacement; readonly why: string };

export interface ChartRepushDeps {
  readonly store: ChartStore;
  readonly pushing: ChartPushing;
  readonly log: Logger;
}

/** The stored chart's bytes, or why they cannot be pushed: not what its row recorded. */
async function storedChart(placement: ChartPlacement, store: ChartStore): Promise<Buffer | string> {
  try {
    return await readStoredChart(store, { ref: placement.chart, sha256: placement.chartSha256 });
  } catch (error) {
    if (error instanceof ChartRowError) return error.message;
    throw error;
  }
}

/** Whether the chart's registry holds it (one HEAD after reading the small stored chart). */
export async function checkChart(placement: ChartPlacement, deps: ChartRepushDeps): Promise<ChartCheck> {
  const tgz = await storedChart(placement, deps.store);
  if (typeof tgz === 'string') return { kind: 'unpushable', placement, why: tgz };
  const held = await chartHeld({ tgz, chartName: placement.chartName, imageUID: placement.imageUID }, placement.registryPrefix, deps.pushing);
  if (typeof held === 'string') return { kind: 'unpushable', placement, why: held };
  return { kind: held.held ? 'held' : 'missing', placement, reference: held.reference };
}

/** Pushes a missing chart; the registry's refusal when it will not take it. */
export async function repushChart(placement: ChartPlacement, deps: ChartRepushDeps): Promise<string | undefined> {
  const tgz = await storedChart(placement, deps.store);
  if (typeof tgz === 'string') return tgz;
  try {
    const outcome = await pushChart({ tgz, chartName: placement.chartName, imageUID: placement.imageUID }, placement.registryPrefix, deps.pushing, deps.log);
    return outcome.kind === 'refused' ? outcome.message : undefined;
  } catch (error) {
    // A registry gone away mid-run is this chart's to report: the others (other registries too) are still pushed.
    if (error instanceof RegistryUnavailableError) return `pushing to ${placement.registryPrefix}: ${error.message}`;
    throw error;
  }
}
