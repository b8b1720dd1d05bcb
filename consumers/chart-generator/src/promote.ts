import { envelopeFor } from '@orbit/lib';
import type { ChartPromoted, ImageCopied, PipelineFailed } from '@orbit/schemas';
import type { K8sObject } from './chart/manifests.js';
import type { ChartStore } from './chart-store.js';
import { parseEnvironment, type Environment } from './environment.js';
import { ChartRowError } from './errors.js';
import { overlaidManifests, repinnedImage } from './kustomize.js';
import { helmChartNameOf } from './naming.js';
import { inlineOrObject, loadManifests } from './stored-json.js';

export interface PromoteDeps {
  readonly store: ChartStore;
  /** The kustomize table (k8or-kustomize-*) of an environment. */
  tableOf(environment: Environment): string;
  /** The base-kustomize table: the base manifests every environment's are built from. */
  readonly baseTable: string;
}

export type PromoteOutcome = { kind: 'promoted'; event: ChartPromoted } | { kind: 'failed'; event: PipelineFailed };

/**
 * Transfer step c8bms18-c20bre09-e60 / -c20bre30-e70: reads the chart row of
 * the source environment's kustomize table and writes it to the target's,
 * pointing at the image copy in the target bucket, with the manifests the
 * target's overlay builds from the base (its namespace, label, replica bounds
 * and resources). A redelivered ImageCopied writes the same row again.
 */
export async function promoteChart(event: ImageCopied, deps: PromoteDeps): Promise<PromoteOutcome> {
  const helmChartName = helmChartNameOf(event.imageUID, event.imageVersion);
  const failed = (reasonCode: string, message: string): PromoteOutcome => ({
    kind: 'failed',
    event: { ...envelopeFor('transferFailed', event), requestId: event.requestId, flow: 'transfer', stage: 'chart', reasonCode, message, failedEventId: event.eventId, imageVersion: event.imageVersion },
  });
  let source: Environment;
  let target: Environment;
  try {
    source = parseEnvironment(event.sourceEnvironment);
    target = parseEnvironment(event.targetEnvironment);
  } catch (error) {
    return failed('CHART_ENVIRONMENT', (error as Error).message);
  }
  const sourceTable = deps.tableOf(source);
  const targetTable = deps.tableOf(target);
  const [row, baseRow] = await Promise.all([deps.store.getRow(sourceTable, helmChartName), deps.store.getRow(deps.baseTable, helmChartName)]);
  if (!row) return failed('CHART_NOT_FOUND', `no chart ${helmChartName} in ${sourceTable}: the image has no generated chart in ${source}`);
  // Charts generated before base rows kept their manifests have the base rendering itself in their Development row.
  const baseManifests = baseRow?.['manifests'] ?? (source === 'Development' ? row : await deps.store.getRow(deps.tableOf('Development'), helmChartName))?.['manifests'];
  let base: K8sObject[];
  try {
    base = await loadManifests(deps.store, baseManifests);
  } catch (error) {
    if (error instanceof ChartRowError) return failed('CHART_ROW', `the chart ${helmChartName}'s base manifests cannot be read: ${error.message}`);
    throw error;
  }
  // A target with a registry of its own pulls the copy the harbor-writer pushed there (ImageCopied says where).
  const overlaid = overlaidManifests(base, target);
  const targetManifests = event.imageReference ? repinnedImage(overlaid, event.imageReference) : overlaid;
  const manifests = await inlineOrObject(deps.store, `${helmChartName}/manifests-${target.toLowerCase()}.json`, JSON.stringify(targetManifests));
  const { createdTimestampUTC: _utc, createdTimestampUnix: _unix, imageReference: _sourceReference, imageTag: _sourceTag, ...chart } = row;
  await deps.store.putRow(targetTable, {
    ...chart, environment: target, manifests, image: event.target, imageSha256: event.sha256, promotedFrom: source, transferRequestId: event.requestId,
    ...(event.imageReference ? { imageReference: event.imageReference, imageTag: event.imageTag ?? null } : {}),
  });
  return {
    kind: 'promoted',
    event: {
      ...envelopeFor('helmChartUploaded', event), requestId: event.requestId, imageVersion: event.imageVersion, helmChartName,
      sourceEnvironment: source, targetEnvironment: target, sourceTable, targetTable,
      image: event.target, sha256: event.sha256, notes: event.notes, imageReference: event.imageReference ?? null, imageTag: event.imageTag ?? null,
    },
  };
}
