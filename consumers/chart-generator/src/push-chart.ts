import {
  isPushRefusal, OCI_MANIFEST_TYPE, pushClientOf, pushRepositoryOf, RegistryPush, RegistryUnavailableError, sha256Of, tagManifest,
  type Logger, type PushRepository, type RegistryAccess, type RegistryClient,
} from '@orbit/lib';
import { parse } from 'yaml';
import { ChartRowError } from './errors.js';
import { unpackChart } from './repackage-chart.js';

/** Helm's media types for a chart stored as an OCI artifact (`helm push`, Harbor, ECR, Artifactory). */
export const HELM_CONFIG_TYPE = 'application/vnd.cncf.helm.config.v1+json';
export const HELM_CHART_LAYER_TYPE = 'application/vnd.cncf.helm.chart.content.v1.tar+gzip';

/** A packaged chart as the blobs and manifest of an OCI artifact. */
export interface ChartArtifact {
  readonly config: Buffer;
  readonly manifest: Buffer;
  readonly digest: string;
  /** The tag Helm looks the version up by: the chart version, `+` written `_` (tags cannot hold `+`). */
  readonly tag: string;
}

/** A packaged chart and the image it was made for. */
export interface ChartToPush {
  readonly tgz: Buffer;
  readonly chartName: string;
  readonly imageUID: string;
}

const UID_IN_TAG = 12;

/**
 * The chart version's tag, then `<version>-<the image UID's first 12>` for
 * when another owner's chart of the same name and version holds it: helm
 * pulls either with `--version`, and a tagged artifact is safe from a
 * registry's clean-up of untagged manifests.
 */
export function chartTagsOf(tag: string, imageUID: string): string[] {
  const owned = `${tag}-${imageUID.slice(0, UID_IN_TAG)}`;
  return owned.length <= 128 ? [tag, owned] : [tag];
}

/**
 * The chart as `helm push` stores it: a config blob holding Chart.yaml's
 * fields as JSON, one layer holding the .tgz, the OCI annotations Helm
 * writes. No creation time, so the same chart is always the same manifest
 * and a redelivery finds it in place.
 */
export function chartArtifactOf(tgz: Buffer, chartYaml: Readonly<Record<string, unknown>>): ChartArtifact {
  const config = Buffer.from(JSON.stringify(chartYaml));
  const name = String(chartYaml['name']);
  const version = String(chartYaml['version']);
  const annotations: Record<string, string> = { 'org.opencontainers.image.title': name, 'org.opencontainers.image.version': version };
  if (typeof chartYaml['description'] === 'string') annotations['org.opencontainers.image.description'] = chartYaml['description'];
  const manifest = Buffer.from(JSON.stringify({
    schemaVersion: 2,
    mediaType: OCI_MANIFEST_TYPE,
    config: { mediaType: HELM_CONFIG_TYPE, digest: sha256Of(config), size: config.length },
    layers: [{ mediaType: HELM_CHART_LAYER_TYPE, digest: sha256Of(tgz), size: tgz.length }],
    annotations,
  }));
  return { config, manifest, digest: sha256Of(manifest), tag: version.replaceAll('+', '_') };
}

/** Where charts are pushed: `<registry/path>/charts/<chart name>`, beside the images the charts pull. */
export interface ChartPushing {
  readonly access: RegistryAccess;
  /** Aborted on shutdown (ConsumedMessage.signal): ends the push's requests in flight instead of waiting out a stalled registry. */
  readonly signal?: AbortSignal | undefined;
}

/** The chart in a registry: by digest, and by its version's tag unless that already named another chart. */
export interface PushedChart {
  /** `registry/path/charts/name@sha256:…`: `helm pull oci://<this>`. */
  readonly reference: string;
  /** `registry/path/charts/name:1.0.0` (`:1.0.0-<image UID's first 12>` when another owner's chart holds that tag), or null when both are taken (tags are never moved). */
  readonly tagReference: string | null;
}

export type ChartPushOutcome = { readonly kind: 'pushed'; readonly chart: PushedChart } | { readonly kind: 'refused'; readonly message: string };

/** `<registry/path>/charts/<chart name>`, the repository a chart is pushed into. */
export const chartRepositoryOf = (registryPrefix: string, chartName: string): string => `${registryPrefix.replace(/\/+$/, '')}/charts/${chartName}`;

/** The repository, a client for it, and the artifact: what a push or a look needs; a message when the chart or the prefix cannot be pushed. */
async function prepared({ tgz, chartName }: ChartToPush, registryPrefix: string, pushing: ChartPushing): Promise<{ target: PushRepository; client: RegistryClient; artifact: ChartArtifact } | string> {
  const target = pushRepositoryOf(chartRepositoryOf(registryPrefix, chartName));
  if (!target) return `"${registryPrefix}" names no registry repository to push chart ${chartName} to`;
  let chartYaml: unknown;
  try {
    chartYaml = parse((await unpackChart(tgz, chartName)).get('Chart.yaml') ?? '', { version: '1.1' });
  } catch (error) {
    if (error instanceof ChartRowError) return error.message;
    throw error;
  }
  if (chartYaml === null || typeof chartYaml !== 'object') return `chart ${chartName} has no Chart.yaml`;
  return { target, client: pushClientOf(target, pushing.access, pushing.signal), artifact: chartArtifactOf(tgz, chartYaml as Record<string, unknown>) };
}

/**
 * Pushes a packaged chart as an OCI artifact, so `helm pull oci://…`,
 * Argo CD and Flux (OCI Helm repositories) and a registry's UI see it. Blobs
 * already there are not sent again; the manifest is tagged with the chart
 * version. A refusal is answered; a registry that does not answer throws
 * RegistryUnavailableError, and the message is tried again.
 */
export async function pushChart(chart: ChartToPush, registryPrefix: string, pushing: ChartPushing, log: Logger): Promise<ChartPushOutcome> {
  const ready = await prepared(chart, registryPrefix, pushing);
  if (typeof ready === 'string') return { kind: 'refused', message: ready };
  const { target, client, artifact } = ready;
  try {
    return { kind: 'pushed', chart: await pushArtifact(client, { ...target, tags: chartTagsOf(artifact.tag, chart.imageUID) }, artifact, chart.tgz, log) };
  } catch (error) {
    if (isPushRefusal(error)) return { kind: 'refused', message: `pushing chart ${chart.chartName} to ${target.name}: ${error.message}` };
    throw error;
  }
}

/** Whether the registry holds the chart's artifact (its manifest, by digest): `reference` names it either way; a message when it refuses to say or does not answer. */
export async function chartHeld(chart: ChartToPush, registryPrefix: string, pushing: ChartPushing): Promise<{ readonly reference: string; readonly held: boolean } | string> {
  const ready = await prepared(chart, registryPrefix, pushing);
  if (typeof ready === 'string') return ready;
  const { target, client, artifact } = ready;
  const reference = `${target.name}@${artifact.digest}`;
  try {
    return { reference, held: await new RegistryPush(client, target.registry).manifestAt(artifact.digest) !== undefined };
  } catch (error) {
    // A registry that does not answer is this chart's alone to report: charts:push goes on with the others, as images:push does.
    if (isPushRefusal(error) || error instanceof RegistryUnavailableError) return `looking for ${reference}: ${error.message}`;
    throw error;
  }
}

async function pushArtifact(
  client: RegistryClient, target: { readonly registry: string; readonly name: string; readonly tags: readonly string[] }, artifact: ChartArtifact, tgz: Buffer, log: Logger,
): Promise<PushedChart> {
  const push = new RegistryPush(client, target.registry);
  if (await push.manifestAt(artifact.digest) === undefined) {
    // Two small blobs: looked for and sent side by side, each round trip counts on a transfer's path.
    await Promise.all(([[sha256Of(artifact.config), artifact.config], [sha256Of(tgz), tgz]] as const).map(async ([digest, bytes]) => {
      if (await push.blobSize(digest) === undefined) await push.sendBlob([bytes], bytes.length, { digest });
    }));
  }
  const tag = await tagManifest(push, target, artifact.digest, async () => artifact.manifest, log);
  // Untagged, the manifest is still put by digest: the chart stays pullable as what ViewPort records.
  if (tag === null && await push.manifestAt(artifact.digest) === undefined) await push.putManifest(artifact.digest, artifact.manifest, artifact.digest);
  return { reference: `${target.name}@${artifact.digest}`, tagReference: tag === null ? null : `${target.name}:${tag}` };
}
