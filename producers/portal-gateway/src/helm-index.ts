import { CHART_KUBE_VERSION, CHART_TYPE, chartAnnotationsOf, userKeyedRecord, type EnvironmentName } from '@orbit/lib';
import { environmentsOfVersion, type ImageView } from './ports.js';
import { descriptionOf } from './read-access.js';
import { chartIn } from './version-objects.js';

/** One chart version as a Helm repository's index.yaml lists it. */
export interface IndexedChart {
  readonly apiVersion: 'v2';
  readonly name: string;
  readonly version: string;
  readonly appVersion: string;
  readonly description: string;
  readonly created: string;
  /** SHA-256 of the .tgz, which strict clients (Flux on a fresh pull, flux-local) check the download against. */
  readonly digest?: string;
  readonly type: typeof CHART_TYPE;
  readonly kubeVersion: typeof CHART_KUBE_VERSION;
  /** The chart's own annotations (orbit/image-uid, orbit/image-digest, orbit/image-category), as its Chart.yaml has them. */
  readonly annotations: Readonly<Record<string, string>>;
  /** Relative to the repository URL, as Helm resolves them: the gateway answers it with a link to the stored chart. */
  readonly urls: readonly string[];
}

export interface HelmIndex {
  readonly apiVersion: 'v1';
  readonly entries: Readonly<Record<string, readonly IndexedChart[]>>;
  readonly generated: string;
}

/**
 * The meta of a version an index entry is made of (helmIndex, chartFileName, chartIn, descriptionOf), besides its name
 * and upload time: a store reads these alone for an index (ImageReader.charted), not every version whole.
 */
export const INDEXED_META = ['chartName', 'chartVersion', 'chartLocation', 'chartSha256', 'environments', 'promotions', 'metadata', 'digest'] as const;

/**
 * A version's Chart.yaml annotations, from what its meta keeps: the image UID, the digest pods pull the image by
 * (the `digest` meta, pinnedDigestOf the image, as the chart has it) and the category it was uploaded with.
 */
function versionAnnotationsOf(imageUID: string, version: Readonly<Record<string, unknown>>): Record<string, string> {
  const { digest, metadata } = version;
  const category = typeof metadata === 'object' && metadata !== null ? (metadata as { imageCategory?: unknown }).imageCategory : undefined;
  return chartAnnotationsOf({ imageUID, digest: typeof digest === 'string' ? digest : null, category: typeof category === 'string' ? category : null });
}

/** `<chartName>-<chartVersion>.tgz`, what `helm package` names it; undefined until the version's chart is stored. */
export function chartFileName(version: Readonly<Record<string, unknown>>): string | undefined {
  const { chartName, chartVersion, chartLocation } = version;
  if (typeof chartName !== 'string' || typeof chartVersion !== 'string' || chartLocation === undefined || chartLocation === null) return undefined;
  return `${chartName}-${chartVersion}.tgz`;
}

/** Where the index points Helm for a chart: under the repository, by image UID, so two images never share a path. */
export function chartPath(imageUID: string, fileName: string): string {
  return `charts/${imageUID}/${encodeURIComponent(fileName)}`;
}

/** When a version arrived in an environment: its promotion there, else (Development) its upload. */
function arrivedAt(version: Readonly<Record<string, unknown>>, environment: EnvironmentName): string | undefined {
  const promotions = version['promotions'];
  const promoted = typeof promotions === 'object' && promotions !== null ? (promotions as Record<string, { promotedAt?: unknown } | undefined>)[environment]?.promotedAt : undefined;
  if (typeof promoted === 'string') return promoted;
  return typeof version['createdAt'] === 'string' ? version['createdAt'] : undefined;
}

/**
 * A Helm repository index of one owner's images in one environment: each
 * version present there whose chart is stored. An owner's image names are
 * unique, and so are chart names, which are made from them. The same
 * repository gives the same bytes: `generated` is when its newest version
 * arrived, not the time of the request, so a poller (Flux hashes the index,
 * the gateway's ETag too) sees no change where there is none. An index that
 * lists nothing says `emptyGenerated` (helm-index-cache.ts: the start of the
 * day), never 1970, which read as a repository that is broken.
 */
export function helmIndex(images: readonly ImageView[], environment: EnvironmentName, emptyGenerated: string): HelmIndex {
  // No prototype: a chart named `constructor` (an image named so) found Object's own there, and the whole index failed.
  const entries = userKeyedRecord<IndexedChart[]>();
  let generated: string | undefined;
  for (const image of images) {
    // Two versions spelt alike (v1-2-3 and 1.2.3, uploaded at one instant) share a chart file: the one the download
    // route serves (the first) is listed, so the digest listed is that of the file served.
    const listed = new Set<string>();
    for (const version of image.versions) {
      const fileName = chartFileName(version);
      if (fileName === undefined || !environmentsOfVersion(version).includes(environment) || listed.has(fileName)) continue;
      listed.add(fileName);
      const arrived = arrivedAt(version, environment);
      if (arrived !== undefined && (generated === undefined || arrived > generated)) generated = arrived;
      const name = String(version['chartName']);
      const digest = chartIn(version, environment)?.sha256;
      (entries[name] ??= []).push({
        apiVersion: 'v2', name, version: String(version['chartVersion']), appVersion: String(version['imageVersion']),
        // The version's own, as its Chart.yaml has it (helm search would show the newest upload's on every version).
        description: descriptionOf(version).trim() || `${image.imageName} ${String(version['imageVersion'])}, generated by Orbit`,
        created: typeof version['createdAt'] === 'string' ? version['createdAt'] : new Date(0).toISOString(),
        // The chart this environment serves; versions charted before ViewPort kept the chart's SHA-256 have none until a rebuild.
        ...(digest ? { digest } : {}),
        type: CHART_TYPE, kubeVersion: CHART_KUBE_VERSION, annotations: versionAnnotationsOf(image.imageUID, version),
        urls: [chartPath(image.imageUID, fileName)],
      });
    }
  }
  // Newest version first, as `helm repo index` writes it: clients that read the first entry as the latest (Flux, Argo CD's
  // UI, a script with yq) then get the highest version, not the one charted last (a 1.0.1 hotfix after 2.0.0).
  for (const charts of Object.values(entries)) charts.sort((a, b) => compareVersions(b.version, a.version) || b.created.localeCompare(a.created));
  return { apiVersion: 'v1', entries, generated: generated ?? emptyGenerated };
}

/** Orders two Orbit chart versions (always major.minor.patch, plain numbers) as SemVer does. */
function compareVersions(a: string, b: string): number {
  const left = a.split('.').map(Number);
  const right = b.split('.').map(Number);
  for (let index = 0; index < 3; index++) {
    const difference = (left[index] ?? 0) - (right[index] ?? 0);
    if (difference !== 0) return difference;
  }
  return 0;
}
