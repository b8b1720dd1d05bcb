import { envelopeFor } from '@orbit/lib';
import type { ChartPromoted, ImageCopied, PipelineFailed } from '@orbit/schemas';
import type { ChartStore } from './chart-store.js';
import { parseEnvironment, type Environment } from './environment.js';
import { helmChartNameOf } from './naming.js';

export interface PromoteDeps {
  readonly store: ChartStore;
  /** The kustomize table (k8or-kustomize-*) of an environment. */
  tableOf(environment: Environment): string;
}

export type PromoteOutcome = { kind: 'promoted'; event: ChartPromoted } | { kind: 'failed'; event: PipelineFailed };

/**
 * Transfer step c8bms18-c20bre09-e60 / -c20bre30-e70: reads the chart row of
 * the source environment's kustomize table and writes it to the target's,
 * pointing at the image copy in the target bucket and carrying the target
 * overlay (the base row holds the overlay files of every environment). A
 * redelivered ImageCopied writes the same row again.
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
  const row = await deps.store.getRow(sourceTable, helmChartName);
  if (!row) return failed('CHART_NOT_FOUND', `no chart ${helmChartName} in ${sourceTable}: the image has no generated chart in ${source}`);
  const { createdTimestampUTC: _utc, createdTimestampUnix: _unix, ...chart } = row;
  await deps.store.putRow(targetTable, {
    ...chart, environment: target, image: event.target, imageSha256: event.sha256, promotedFrom: source, transferRequestId: event.requestId,
  });
  return {
    kind: 'promoted',
    event: {
      ...envelopeFor('helmChartUploaded', event), requestId: event.requestId, imageVersion: event.imageVersion, helmChartName,
      sourceEnvironment: source, targetEnvironment: target, sourceTable, targetTable,
      image: event.target, sha256: event.sha256, notes: event.notes,
    },
  };
}
