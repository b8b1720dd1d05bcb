import type { Readable } from 'node:stream';
import type { ImageIndexFacts, ImageReferrer, ImageSummary } from '@orbit/schemas';
import { readArchive } from './archive-reader.js';
import { ArchiveBlobs } from './blob-store.js';
import { resolveDockerArchive } from './docker-archive.js';
import type { ArchiveOrigin } from './pulled-from.js';
import type { FileFacts } from './entry-facts.js';
import { parseConfig } from './image-config.js';
import { withAnnotations } from './image-annotations.js';
import { indexFacts } from './index-platforms.js';
import { IMAGE_CONFIG_TYPES } from './json-shapes.js';
import { checkLayers, type LayerRef } from './layers.js';
import type { ValidationLimits } from './limits.js';
import { resolveOciLayout, type ResolvedIndex } from './oci-layout.js';
import { platformConfigsNote, type PlatformConfig } from './platform-configs.js';
import { ImageRejection, reject, type RejectionCode } from './rejections.js';

export type ValidationOutcome =
  | {
    readonly ok: true;
    readonly summary: ImageSummary;
    /** Bytes of the upload as received. */
    readonly sizeBytes: number;
    /** Hex sha256 of the upload as received. */
    readonly sha256: string;
    /** Choices the validator made that a person may want to know (platform picked, computed manifest). */
    readonly notes: readonly string[];
  }
  | { readonly ok: false; readonly reasonCode: RejectionCode; readonly message: string };

interface Resolved {
  readonly format: ImageSummary['format'];
  readonly manifestDigest: string;
  readonly configDigest: string;
  readonly configFile: FileFacts;
  readonly layers: readonly LayerRef[];
  readonly repoTags: readonly string[];
  readonly notes: readonly string[];
  /** The multi-platform index the image is, every entry checked. */
  readonly index: ImageIndexFacts | null;
  /** The kept index's own annotations; null with no kept index. */
  readonly indexAnnotations: Readonly<Record<string, string>> | null;
  /** The kept index's runnable platforms, with their labels and annotations. */
  readonly platforms: readonly PlatformConfig[];
  /** The described manifest's annotations (none for a manifest Orbit computed). */
  readonly manifestAnnotations: Readonly<Record<string, string>>;
  readonly referrers: readonly ImageReferrer[];
}

/**
 * The kept index as the events carry it, every entry checked, and the notes with one more when its platforms' configs
 * differ in what the chart is made from: the image described is `described` (the summary's platform) alone.
 */
function keptIndex(blobs: ArchiveBlobs, index: ResolvedIndex | null, described: string, notes: readonly string[]): Pick<Resolved, 'index' | 'notes' | 'indexAnnotations' | 'platforms'> {
  if (index === null) return { index: null, notes, indexAnnotations: null, platforms: [] };
  const { facts, configs } = indexFacts(blobs, index);
  const differ = platformConfigsNote(configs, described, `image index ${index.digest}`);
  return { index: facts, notes: differ === undefined ? notes : [...notes, differ], indexAnnotations: index.annotations, platforms: configs };
}

function resolveOci(blobs: ArchiveBlobs, origin: ArchiveOrigin): Resolved {
  const oci = resolveOciLayout(blobs, undefined, origin);
  const { config, layers } = oci.manifest;
  if (config.mediaType !== undefined && !IMAGE_CONFIG_TYPES.has(config.mediaType)) {
    reject('BAD_MANIFEST', `manifest ${oci.manifestDigest} is not a container image (config media type ${config.mediaType})`);
  }
  return {
    format: 'OCI_ARCHIVE',
    manifestDigest: oci.manifestDigest,
    configDigest: config.digest,
    configFile: blobs.blob(config, 'config'),
    layers: layers.map((layer, index) => ({ file: blobs.blob(layer, `layer ${index + 1}`), digest: layer.digest, mediaType: layer.mediaType ?? null, urls: layer.urls })),
    repoTags: oci.repoTags,
    ...keptIndex(blobs, oci.index, oci.manifestDigest, oci.notes),
    manifestAnnotations: oci.manifest.annotations ?? {},
    referrers: oci.referrers,
  };
}

function resolveDocker(blobs: ArchiveBlobs): Resolved {
  const docker = resolveDockerArchive(blobs);
  return { format: 'DOCKER_ARCHIVE', ...docker, configDigest: `sha256:${docker.config.sha256}`, configFile: docker.config, ...keptIndex(blobs, docker.index, docker.manifestDigest, docker.notes) };
}

function resolve(blobs: ArchiveBlobs, origin: ArchiveOrigin): Resolved {
  // docker save 25+ writes both layouts; manifest.json is what docker load reads, so it decides the format.
  if (blobs.has('manifest.json')) return resolveDocker(blobs);
  if (blobs.has('oci-layout') && blobs.has('index.json')) return resolveOci(blobs, origin);
  if (blobs.has('oci-layout')) return reject('NO_MANIFEST', 'the archive has oci-layout but no index.json');
  if (blobs.has('index.json')) return reject('NO_MANIFEST', 'the archive has index.json but no oci-layout file');
  return reject('NO_MANIFEST', `the archive has neither manifest.json (docker-archive) nor oci-layout and index.json (OCI layout)${whatItHolds(blobs)}`);
}

/**
 * Why an archive holding neither layout may have been sent, from what it
 * does hold: the commonest mistakes are packing the image's folder with it
 * (`tar -cf image.tar my-layout/` instead of `tar -C my-layout -cf image.tar .`),
 * exporting a container's filesystem instead of saving the image, and
 * sending a Helm chart or a build context.
 */
function whatItHolds(blobs: ArchiveBlobs): string {
  const paths = [...blobs.paths()];
  for (const path of paths) {
    const name = path.slice(path.lastIndexOf('/') + 1);
    if (path.includes('/') && (name === 'manifest.json' || name === 'oci-layout')) {
      const folder = path.slice(0, path.lastIndexOf('/'));
      return `; it holds "${path}": the image was packed with its folder, pack what is inside "${folder}" instead (tar -C ${folder} -cf image.tar .)`;
    }
  }
  const marker = paths.find((path) => ROOT_FILESYSTEM_MARKERS.has(path));
  if (marker !== undefined) {
    return `; it holds "${marker}": this is a container's filesystem (what docker export, podman export or crane export write), not an image; save the image instead (docker save IMAGE -o image.tar, crane pull REF image.tar, skopeo copy docker://REF docker-archive:image.tar)`;
  }
  const chart = paths.find((path) => /(^|\/)Chart\.yaml$/.test(path));
  if (chart !== undefined) return `; it holds "${chart}": this is a Helm chart, not an image (Orbit generates the chart from the image)`;
  const dockerfile = paths.find((path) => /(^|\/)(Dockerfile|Containerfile)$/.test(path));
  if (dockerfile !== undefined) return `; it holds "${dockerfile}": this is a build context, not an image; build it, then save the image (docker save IMAGE -o image.tar)`;
  return '';
}

/** Files every Linux root filesystem has and no image archive does at its top. */
const ROOT_FILESYSTEM_MARKERS: ReadonlySet<string> = new Set(['etc/passwd', 'etc/os-release', 'usr/lib/os-release', 'bin/sh']);

/**
 * Checks an uploaded image archive in one pass over `source`, with memory
 * flat whatever its size. Bad input never throws: it ends in a rejected
 * outcome with a reason code. A failing `source` throws a retriable
 * StoreUnavailableError; `source` is read to the end or destroyed.
 */
export async function validateArchive(source: Readable, limits: ValidationLimits, origin: ArchiveOrigin = 'upload'): Promise<ValidationOutcome> {
  try {
    const contents = await readArchive(source, limits);
    const blobs = new ArchiveBlobs(contents);
    const image = resolve(blobs, origin);
    blobs.checkEveryBlobName();
    const config = parseConfig(image.configFile, 'config');
    const layers = checkLayers(image.layers, config.diffIds);
    const summary: ImageSummary = withAnnotations({
      format: image.format,
      compression: contents.upload.compression,
      manifestDigest: image.manifestDigest,
      configDigest: image.configDigest,
      repoTags: image.repoTags,
      architecture: config.architecture,
      os: config.os,
      layers,
      config: config.facts,
      index: image.index,
      validationNotes: image.notes,
      referrers: image.referrers.length > 0 ? image.referrers : null,
    }, { manifest: image.manifestAnnotations, index: image.indexAnnotations, platforms: image.platforms });
    return { ok: true, summary, sizeBytes: contents.upload.sizeBytes, sha256: contents.upload.sha256, notes: image.notes };
  } catch (error) {
    if (error instanceof ImageRejection) return { ok: false, reasonCode: error.reasonCode, message: error.message };
    throw error;
  }
}
