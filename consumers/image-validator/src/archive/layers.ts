import type { Layer } from '@orbit/schemas';
import type { FileFacts } from './entry-facts.js';
import { MEDIA_TYPES } from './json-shapes.js';
import { reject } from './rejections.js';

/** A layer as a manifest names it, with the entry found for it. */
export interface LayerRef {
  readonly file: FileFacts;
  /** The blob digest (sha256 of the bytes as stored). */
  readonly digest: string;
  /** Declared by a manifest, or null when nothing declares one (legacy docker-archive). */
  readonly mediaType: string | null;
}

type Expected = 'none' | 'gzip' | 'either';

const DECLARED: ReadonlyMap<string, Expected> = new Map([
  ['application/vnd.oci.image.layer.v1.tar', 'none'],
  ['application/vnd.oci.image.layer.v1.tar+gzip', 'gzip'],
  // skopeo and docker label uncompressed docker-archive layers .tar.gzip; docker loads either.
  [MEDIA_TYPES.dockerLayerGzip, 'either'],
  [MEDIA_TYPES.dockerLayer, 'either'],
]);

function expectedCompression(mediaType: string, role: string): Expected {
  if (mediaType.endsWith('+zstd') || mediaType.includes('zstd')) {
    reject('UNSUPPORTED_LAYER', `${role} is zstd-compressed (${mediaType}); Node 20 has no zstd decoder we trust with hostile input, so push gzip or uncompressed layers`);
  }
  if (mediaType.includes('foreign') || mediaType.includes('nondistributable')) {
    reject('UNSUPPORTED_LAYER', `${role} is a foreign layer (${mediaType}), fetched from elsewhere at run time`);
  }
  const expected = DECLARED.get(mediaType);
  return expected ?? reject('UNSUPPORTED_LAYER', `${role} has the unknown media type ${mediaType}`);
}

function mediaTypeOf(ref: LayerRef): string {
  if (ref.mediaType !== null) return ref.mediaType;
  return ref.file.compression === 'gzip' ? MEDIA_TYPES.dockerLayerGzip : MEDIA_TYPES.dockerLayer;
}

/** The layer's diff_id: the sha256 of its uncompressed tar. */
function diffIdOf(ref: LayerRef, role: string): string {
  const { file } = ref;
  if (file.compression === 'zstd') return reject('UNSUPPORTED_LAYER', `${role} "${file.path}" is zstd-compressed, which this validator cannot read`);
  if (ref.mediaType !== null) {
    const expected = expectedCompression(ref.mediaType, role);
    if (expected !== 'either' && expected !== file.compression) {
      reject('CORRUPT_LAYER', `${role} "${file.path}" is declared ${expected === 'gzip' ? 'gzip' : 'uncompressed'} (${ref.mediaType}) but its bytes are ${file.compression === 'gzip' ? 'gzip' : 'not gzip'}`);
    }
  }
  if (file.compression === 'none') return `sha256:${file.sha256}`;
  if (file.decoded === null || !file.decoded.ok) {
    return reject('CORRUPT_LAYER', `${role} "${file.path}" is gzip but does not decompress (${file.decoded?.ok === false ? file.decoded.why : 'no output'})`);
  }
  return `sha256:${file.decoded.sha256}`;
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
