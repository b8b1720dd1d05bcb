import { envelopeFor, PushRefusedError, TOPICS } from '@orbit/lib';
import type { ChartPromoted, ImageCopied, PipelineFailed } from '@orbit/schemas';
import type { K8sObject } from './chart/manifests.js';
import type { ChartStore } from './chart-store.js';
import { parseEnvironment, type Environment } from './environment.js';
import { ChartRowError } from './errors.js';
import { overlaidManifests, repinnedImage } from './kustomize.js';
import { helmChartNameOf } from './naming.js';
import { packageFileNameOf } from './package-chart.js';
import { assertConfiguredRegistry, configuredRegistriesOf } from './pushed-registry.js';
import type { ChartPushOutcome, ChartToPush, PushedChart } from './push-chart.js';
import { chartPullingFrom } from './repackage-chart.js';
import { readStoredChart, storedChartOf, type StoredChart } from './stored-chart.js';
import { inlineOrObject, loadManifests } from './stored-json.js';

export interface PromoteDeps {
  readonly store: ChartStore;
  /** The kustomize table (k8or-kustomize-*) of an environment. */
  tableOf(environment: Environment): string;
  /** The base-kustomize table: the base manifests every environment's are built from. */
  readonly baseTable: string;
  /** ORBIT_IMAGE_REGISTRY: with environmentRegistries, the only registries an ImageCopied may name (pushed-registry.ts). */
  readonly registry: string;
  /** ORBIT_ENVIRONMENT_REGISTRIES: environments that pull from registries of their own. */
  readonly environmentRegistries?: ReadonlyMap<Environment, string>;
  /** ORBIT_CHART_PUSH: an environment's own chart is pushed into its own registry too (push-chart.ts). */
  pushChart?(chart: ChartToPush, registryPrefix: string): Promise<ChartPushOutcome>;
}

/** An environment's own chart, and where it was pushed. */
interface OwnChart extends StoredChart {
  readonly pushed?: PushedChart;
}

/**
 * The packaged chart an environment with a registry of its own serves: the
 * upload's chart with values.yaml's image.repository pointing there, stored
 * beside it under the environment's name. Deterministic, so a redelivery
 * keeps the object's version.
 */
async function chartForOwnRegistry(deps: PromoteDeps, upload: StoredChart, row: Readonly<Record<string, unknown>>, event: ImageCopied & { imageReference: string }, target: Environment): Promise<OwnChart> {
  const { imageReference, imageUID } = event;
  const { store } = deps;
  const { chartName, chartVersion, helmChartName } = row;
  if (typeof chartName !== 'string' || typeof chartVersion !== 'string' || typeof helmChartName !== 'string') throw new ChartRowError('the chart row names no chart and version');
  const packaged = await readStoredChart(store, upload);
  const repository = imageReference.slice(0, imageReference.lastIndexOf('@'));
  const repacked = await chartPullingFrom(packaged, chartName, chartVersion, repository);
  // Into the chart bucket, and into the registry the environment pulls its image from (`<its path>/charts/<chart name>`), side by side.
  const [stored, pushed] = await Promise.all([
    store.putObject(`${helmChartName}/${target.toLowerCase()}/${packageFileNameOf(chartName, chartVersion)}`, repacked, 'application/gzip'),
    deps.pushChart?.({ tgz: repacked, chartName, imageUID }, repository.slice(0, repository.lastIndexOf('/'))),
  ]);
  // The registry refused the environment's own chart: the transfer fails with REGISTRY_PUSH_REFUSED.
  if (pushed?.kind === 'refused') throw new PushRefusedError(pushed.message);
  return { ref: { bucket: stored.bucket, key: stored.key, versionId: stored.versionId }, sha256: stored.sha256, ...(pushed ? { pushed: pushed.chart } : {}) };
}

export type PromoteOutcome = { kind: 'promoted'; event: ChartPromoted } | { kind: 'failed'; event: PipelineFailed };

/**
 * Transfer step c8bms18-c20bre09-e60 / -c20bre30-e70: reads the chart row of
 * the source environment's kustomize table and writes it to the target's,
 * pointing at the image copy in the target bucket, with the manifests the
 * target's overlay builds from the base (its namespace, label, replica bounds
 * and resources). A target with a registry of its own gets a packaged chart
 * of its own too, pulling from there; any other target serves the upload's.
 * A redelivered ImageCopied writes the same row and objects again. One whose
 * image is in a registry this service is not configured for is thrown for the
 * consume loop to dead-letter, before anything is read, pushed or written: a
 * forged event, acted on, had the chart pushed to and pinning any host.
 */
export async function promoteChart(event: ImageCopied, deps: PromoteDeps): Promise<PromoteOutcome> {
  assertConfiguredRegistry(event.imageReference, configuredRegistriesOf(deps), TOPICS.imageCopied);
  const helmChartName = helmChartNameOf(event.imageUID, event.imageVersion);
  const failed = (reasonCode: string, message: string): PromoteOutcome => ({
    kind: 'failed',
    event: { ...envelopeFor('transferFailed', event), requestId: event.requestId, flow: 'transfer', stage: 'chart', reasonCode, message, failedEventId: event.eventId, imageVersion: event.imageVersion, targetEnvironment: event.targetEnvironment },
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
  const [row, baseRow, developmentRow] = await Promise.all([
    deps.store.getRow(sourceTable, helmChartName), deps.store.getRow(deps.baseTable, helmChartName),
    // The upload's row: a source with a registry of its own holds a chart packaged for that registry, not the one to start from.
    source === 'Development' ? undefined : deps.store.getRow(deps.tableOf('Development'), helmChartName),
  ]);
  if (!row) return failed('CHART_NOT_FOUND', `no chart ${helmChartName} in ${sourceTable}: the image has no generated chart in ${source}`);
  const uploadRow = source === 'Development' ? row : developmentRow;
  // Charts generated before base rows kept their manifests have the base rendering itself in their Development row.
  const baseManifests = baseRow?.['manifests'] ?? uploadRow?.['manifests'];
  let base: K8sObject[];
  let ownChart: OwnChart | undefined;
  // Rows written before source rows could hold another registry's chart: the source's is the upload's then.
  const uploadChart = storedChartOf(uploadRow ?? row);
  try {
    base = await loadManifests(deps.store, baseManifests);
    if (event.imageReference) {
      if (!uploadChart) throw new ChartRowError('the chart row records no packaged chart and SHA-256');
      ownChart = await chartForOwnRegistry(deps, uploadChart, row, { ...event, imageReference: event.imageReference }, target);
    }
  } catch (error) {
    if (error instanceof ChartRowError) return failed('CHART_ROW', `the chart ${helmChartName} cannot be read: ${error.message}`);
    if (error instanceof PushRefusedError) return failed('REGISTRY_PUSH_REFUSED', error.message);
    throw error;
  }
  // The target serves its own chart, or the upload's: never the source's, which may pull from the source's registry.
  const targetChart = ownChart ?? uploadChart;
  // A target with a registry of its own pulls the copy the harbor-writer pushed there (ImageCopied says where).
  const overlaid = overlaidManifests(base, target);
  const targetManifests = event.imageReference ? repinnedImage(overlaid, event.imageReference) : overlaid;
  const manifests = await inlineOrObject(deps.store, `${helmChartName}/manifests-${target.toLowerCase()}.json`, JSON.stringify(targetManifests));
  const { createdTimestampUTC: _utc, createdTimestampUnix: _unix, imageReference: _sourceReference, imageTag: _sourceTag, ...chart } = row;
  await deps.store.putRow(targetTable, {
    ...chart, ...(targetChart ? { chart: targetChart.ref, chartSha256: targetChart.sha256 } : {}), environment: target, manifests, image: event.target, imageSha256: event.sha256, promotedFrom: source, transferRequestId: event.requestId,
    ...(event.imageReference ? { imageReference: event.imageReference, imageTag: event.imageTag ?? null } : {}),
  });
  return {
    kind: 'promoted',
    event: {
      ...envelopeFor('helmChartUploaded', event), requestId: event.requestId, imageVersion: event.imageVersion, helmChartName,
      sourceEnvironment: source, targetEnvironment: target, sourceTable, targetTable,
      image: event.target, sha256: event.sha256, notes: event.notes, imageReference: event.imageReference ?? null, imageTag: event.imageTag ?? null,
      chart: ownChart?.ref ?? null, chartSha256: ownChart?.sha256 ?? null,
      chartReference: ownChart?.pushed?.reference ?? null, chartTag: ownChart?.pushed?.tagReference ?? null,
    },
  };
}
