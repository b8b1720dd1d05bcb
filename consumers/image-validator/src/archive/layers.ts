import type { Layer } from '@orbit/schemas';
import type { FileFacts } from './entry-facts.js';
import { IMAGE_CONFIG_TYPES, MEDIA_TYPES } from './json-shapes.js';
import { reject } from './rejections.js';

/** A layer as a manifest names it, with the entry found for it. */
export interface LayerRef {
  readonly file: FileFacts;
  /** The blob digest (sha256 of the bytes as stored). */
  readonly digest: string;
  /** Declared by a manifest, or null when nothing declares one (legacy docker-archive). */
  readonly mediaType: string | null;
  /** The descriptor's `urls`: where a runtime would fetch the layer instead of from the registry. */
  readonly urls?: readonly string[] | undefined;
}

type Compression = FileFacts['compression'];
/** What the bytes of a layer of this media type may be. */
type Expected = readonly Compression[];

const DOCKER_LOADS: Expected = ['none', 'gzip', 'zstd'];
/** containerd's name for a zstd layer in a Docker manifest; no Docker spec names one. */
const DOCKER_LAYER_ZSTD = 'application/vnd.docker.image.rootfs.diff.tar.zstd';

const DECLARED: ReadonlyMap<string, Expected> = new Map([
  ['application/vnd.oci.image.layer.v1.tar', ['none']],
  ['application/vnd.oci.image.layer.v1.tar+gzip', ['gzip']],
  ['application/vnd.oci.image.layer.v1.tar+zstd', ['zstd']],
  // skopeo and docker label uncompressed docker-archive layers .tar.gzip; docker loads whatever the bytes are.
  [MEDIA_TYPES.dockerLayerGzip, DOCKER_LOADS],
  [MEDIA_TYPES.dockerLayer, DOCKER_LOADS],
  [DOCKER_LAYER_ZSTD, DOCKER_LOADS],
]);

const NAMES: Readonly<Record<Compression, string>> = { none: 'uncompressed', gzip: 'gzip', zstd: 'zstd' };

/** A media type a runtime unpacks as a filesystem layer (any compression, OCI or Docker). */
export const isFilesystemLayer = (mediaType: string): boolean =>
  DECLARED.has(mediaType) || mediaType.startsWith('application/vnd.oci.image.layer.') || mediaType.startsWith('application/vnd.docker.image.rootfs.');

/**
 * Whether a manifest with this config and these layers could run: an image
 * config (or none said) and a filesystem layer. A referrer (an SBOM, a
 * signature) never is one; one that is would ride along unvalidated.
 */
export function isRunnableImage(config: { readonly mediaType?: string | undefined } | undefined, layers: readonly { readonly mediaType?: string | undefined }[]): boolean {
  const imageConfig = config?.mediaType === undefined || IMAGE_CONFIG_TYPES.has(config.mediaType);
  return imageConfig && layers.some((layer) => isFilesystemLayer(layer.mediaType ?? MEDIA_TYPES.dockerLayer));
}

/** A layer the image's registry does not serve (Windows base layers): fetched from its `urls` at run time. */
export const isForeignLayer = (mediaType: string): boolean => mediaType.includes('foreign') || mediaType.includes('nondistributable');

function expectedCompression(mediaType: string, role: string): Expected {
  if (isForeignLayer(mediaType)) {
    reject('UNSUPPORTED_LAYER', `${role} is a foreign layer (${mediaType}), fetched from elsewhere at run time`);
  }
  const expected = DECLARED.get(mediaType);
  return expected ?? reject('UNSUPPORTED_LAYER', `${role} has the unknown media type ${mediaType}`);
}

function mediaTypeOf(ref: LayerRef): string {
  if (ref.mediaType !== null) return ref.mediaType;
  const byBytes: Record<Compression, string> = { none: MEDIA_TYPES.dockerLayer, gzip: MEDIA_TYPES.dockerLayerGzip, zstd: DOCKER_LAYER_ZSTD };
  return byBytes[ref.file.compression];
}

/** The layer's diff_id: the sha256 of its uncompressed tar. */
function diffIdOf(ref: LayerRef, role: string): string {
  const { file } = ref;
  // Registries refuse a manifest whose ordinary layers name urls (Docker Distribution answers its PUT with a 500), and a runtime may fetch from them.
  if (ref.urls !== undefined && ref.urls.length > 0) {
    reject('UNSUPPORTED_LAYER', `${role} "${file.path}" names urls to fetch it from (${ref.urls[0] ?? ''}); Orbit serves every layer from its own stores: push the image without them`);
  }
  // A valid layer is never empty (an empty tar is 1 024 bytes); containerd refuses to pull a blob of size zero.
  if (file.size === 0) reject('CORRUPT_LAYER', `${role} "${file.path}" is 0 bytes: no layer is empty (an empty tar is 1024 bytes), and containerd refuses to pull it`);
  if (ref.mediaType !== null) {
    const expected = expectedCompression(ref.mediaType, role);
    if (!expected.includes(file.compression)) {
      // Podman 4's `save --uncompressed --format oci-archive` (Debian 12's) writes plain layers under the gzip media type.
      const likelyFrom = file.compression === 'none' && expected.includes('gzip') ? '; podman save --uncompressed --format oci-archive writes layers like this: save without --uncompressed' : '';
      reject('CORRUPT_LAYER', `${role} "${file.path}" is declared ${expected.map((compression) => NAMES[compression]).join(' or ')} (${ref.mediaType}) but its bytes are ${NAMES[file.compression]}${likelyFrom}`);
    }
  }
  if (file.compression === 'none') return `sha256:${file.sha256}`;
  const decoded = file.decoded;
  if (decoded === null) return reject('CORRUPT_LAYER', `${role} "${file.path}" is ${NAMES[file.compression]} but gave no output`);
  if (!decoded.ok) {
    if (decoded.decoderMissing) return reject('UNSUPPORTED_LAYER', `${role} "${file.path}" is ${NAMES[file.compression]}-compressed and ${decoded.why}`);
    return reject('CORRUPT_LAYER', `${role} "${file.path}" is ${NAMES[file.compression]} but does not decompress (${decoded.why})`);
  }
  return `sha256:${decoded.sha256}`;
}

/** Summaries of the layers, after checking them in order against the config's rootfs.diff_ids. */
export function checkLayers(refs: readonly LayerRef[], diffIds: readonly string[]): Layer[] {
  const layers = refs.map((ref, index): Layer => ({
    digest: ref.digest,
    diffId: diffIdOf(ref, `layer ${index + 1}`),
    sizeBytes: ref.file.size,
    mediaType: mediaTypeOf(ref),
  }));
  if (layers.length !== diffIds.length) {
    reject('CONFIG_MISMATCH', `the manifest lists ${layers.length} layers but the config's rootfs.diff_ids has ${diffIds.length}`);
  }
  layers.forEach((layer, index) => {
    if (layer.diffId !== diffIds[index]) {
      reject('CONFIG_MISMATCH', `layer ${index + 1} (${layer.digest}) uncompresses to ${layer.diffId} but the config's diff_ids[${index}] is ${diffIds[index]}`);
    }
  });
  return layers;
}
