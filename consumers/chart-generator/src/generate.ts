import { envelopeFor, OrbitError, ownerPathIn, ownerPathOf, PushRefusedError, repositoryPathUnder, TOPICS } from '@orbit/lib';
import type { ChartGenerated, ImageStored, PipelineFailed } from '@orbit/schemas';
import { renderManifests } from './chart/manifests.js';
import { renderChart } from './chart/render.js';
import type { ChartStore } from './chart-store.js';
import { ENVIRONMENTS, type Environment } from './environment.js';
import { CHART_ERROR_CODES } from './errors.js';
import { imageRepositoryOf, manifestDigestOf } from './image-facts.js';
import { kustomizeBase, kustomizeOverlay, overlaidManifests, type ImageRename } from './kustomize.js';
import { chartNameOf, chartVersionOf, helmChartNameOf } from './naming.js';
import { packageChart, packageFileNameOf } from './package-chart.js';
import { assertConfiguredRegistry, configuredRegistriesOf } from './pushed-registry.js';
import type { ChartPushOutcome, ChartToPush } from './push-chart.js';
import { inlineBytesOf, inlineOrObject, MAX_INLINE_BYTES } from './stored-json.js';

export interface GenerateDeps {
  readonly store: ChartStore;
  /** Registry path images are pulled from, without the chart name (e.g. registry.example/orbit). */
  readonly registry: string;
  readonly tables: { readonly manifests: string; readonly base: string };
  /** ORBIT_ENVIRONMENT_REGISTRIES: environments that pull from registries of their own (their overlays say so). */
  readonly environmentRegistries?: ReadonlyMap<Environment, string>;
  /** ORBIT_CHART_PUSH: pushes the packaged chart as an OCI artifact to `<registry path>/charts/<chart name>` (push-chart.ts). */
  pushChart?(chart: ChartToPush, registryPrefix: string): Promise<ChartPushOutcome>;
}

export type GenerateOutcome = { kind: 'generated'; event: ChartGenerated } | { kind: 'failed'; event: PipelineFailed };

/** ORBIT_ERR_CHART_INPUT -> CHART_INPUT: the reason code a request fails with. */
export function reasonCodeOf(error: OrbitError): string {
  return error.code.replace(/^ORBIT_ERR_/, '');
}

const isChartError = (error: unknown): error is OrbitError =>
  error instanceof OrbitError && (CHART_ERROR_CODES as readonly string[]).includes(error.code);

export function environmentFiles(environment: Environment, base: ReadonlyMap<string, string>, rename?: ImageRename): Record<string, string> {
  return Object.fromEntries([...base, ...kustomizeOverlay(environment, rename)]);
}

/**
 * c12bms06: the chart, the rendered manifests (the JSON array of the transfer
 * document) and the Kustomize base with one overlay per environment, for an
 * image just stored in Development. Deterministic, so a redelivery writes the
 * same bytes and rows again. Input no chart can carry ends the request with a
 * reason code; store failures are thrown for the consume loop to retry, and a
 * registry refusing the chart (PushRefusedError) for it to dead-letter, as is
 * an image in a registry this service is not configured for (a forged event:
 * pushed to, or pinned, it would have this service contact any host).
 */
export async function generateChart(event: ImageStored, deps: GenerateDeps): Promise<GenerateOutcome> {
  const { metadata } = event;
  assertConfiguredRegistry(event.imageReference, configuredRegistriesOf(deps), TOPICS.imageStored);
  const failed = (reasonCode: string, message: string): GenerateOutcome => ({
    kind: 'failed',
    event: { ...envelopeFor('uploadFailed', event), requestId: event.requestId, flow: 'upload', stage: 'chart', reasonCode, message, failedEventId: event.eventId, imageVersion: metadata.imageVersion, targetEnvironment: null },
  });
  try {
    const chartName = chartNameOf(metadata.imageName, event.imageUID);
    const chartVersion = chartVersionOf(metadata.imageVersion);
    const helmChartName = helmChartNameOf(event.imageUID, metadata.imageVersion);
    // Where the harbor-writer pushed it, when it did: the chart then pins exactly that, whatever this service's ORBIT_IMAGE_REGISTRY says.
    const pushedTo = event.imageReference?.slice(0, event.imageReference.lastIndexOf('@'));
    // `<owner path>/<chart name>`, as the harbor-writer pushed it (the upload's actor is its owner): an environment's
    // registry holds it there too. Its owner path, when it pushed: a version pushed under an earlier spelling keeps it,
    // and one pushed before owners had paths (null) keeps `<chart name>` alone. Not pushed: the owner's path of today.
    const pushedUnder = pushedTo ? ownerPathIn(pushedTo, deps.registry, chartName) : undefined;
    const ownerPath = pushedUnder === undefined ? ownerPathOf(event.actor.username) : pushedUnder;
    const repositoryPath = repositoryPathUnder(ownerPath, chartName);
    const input = {
      imageUID: event.imageUID, metadata, image: event.image, imageRepository: imageRepositoryOf(pushedTo || `${deps.registry}/${repositoryPath}`), environment: 'Development' as const,
      registryTag: event.imageTag ?? null,
    };
    const packaged = await packageChart(renderChart(input), chartName, chartVersion);
    const manifests = renderManifests(input);
    const base = kustomizeBase(manifests);

    // Into the chart bucket, and beside the image in the registry it was pushed to (which is waited for when it does not answer), side by side.
    const [chart, pushed] = await Promise.all([
      deps.store.putObject(`${helmChartName}/${packageFileNameOf(chartName, chartVersion)}`, packaged, 'application/gzip'),
      deps.pushChart?.({ tgz: packaged, chartName, imageUID: event.imageUID }, pushedTo ? pushedTo.slice(0, pushedTo.lastIndexOf('/')) : `${deps.registry}/${ownerPathOf(event.actor.username)}`),
    ]);
    const chartRef = { bucket: chart.bucket, key: chart.key, versionId: chart.versionId };
    // Nothing is wrong with the upload: the message goes to the DLQ (the request fails DEAD_LETTERED, naming this), and is re-driven once the registry takes it.
    if (pushed?.kind === 'refused') throw new PushRefusedError(pushed.message);
    // The owner path says where in the upload registry the chart is (`<registry>/<owner path>/charts/<chart name>`; null:
    // `<registry>/charts/<chart name>`), for charts:push and transfers.
    const common = { helmChartName, imageUID: event.imageUID, imageVersion: metadata.imageVersion, chartName, chartVersion, appVersion: metadata.imageVersion, requestId: event.requestId, owner: event.actor.username, ownerPath };
    // Each environment's table holds that environment's manifests (what its overlay builds); the base row keeps the base they come from.
    await deps.store.putRow(deps.tables.manifests, {
      ...common, environment: 'Development', chart: chartRef, chartSha256: chart.sha256, image: event.stored, imageDigest: manifestDigestOf(event.image),
      manifests: await inlineOrObject(deps.store, `${helmChartName}/manifests.json`, JSON.stringify(overlaidManifests(manifests, 'Development'))),
    });
    // An environment with a registry of its own pulls the copy a transfer pushes there: same digest, its repository.
    const renameFor = (environment: Environment): ImageRename | undefined => {
      const own = deps.environmentRegistries?.get(environment);
      return own && `${own}/${repositoryPath}` !== input.imageRepository ? { name: input.imageRepository, newName: `${own}/${repositoryPath}` } : undefined;
    };
    const overlays = Object.fromEntries(ENVIRONMENTS.map((environment) => [environment, environmentFiles(environment, base, renameFor(environment))]));
    const files = await inlineOrObject(deps.store, `${helmChartName}/kustomize.json`, JSON.stringify(overlays));
    await deps.store.putRow(deps.tables.base, {
      ...common, files,
      manifests: await inlineOrObject(deps.store, `${helmChartName}/base-manifests.json`, JSON.stringify(manifests), MAX_INLINE_BYTES - inlineBytesOf(files)),
    });
    return {
      kind: 'generated',
      event: {
        ...envelopeFor('helmChartGenerated', event), requestId: event.requestId, imageVersion: metadata.imageVersion, chartName, chartVersion,
        appVersion: metadata.imageVersion, helmChartName, chart: chartRef, chartSha256: chart.sha256, environment: 'Development', kustomizeTable: deps.tables.manifests,
        chartReference: pushed?.kind === 'pushed' ? pushed.chart.reference : null, chartTag: pushed?.kind === 'pushed' ? pushed.chart.tagReference : null,
      },
    };
  } catch (error) {
    if (!isChartError(error)) throw error;
    return failed(reasonCodeOf(error), error.message);
  }
}
