import { createHash } from 'node:crypto';

export const DOCKER_MANIFEST_TYPE = 'application/vnd.docker.distribution.manifest.v2+json';
export const OCI_MANIFEST_TYPE = 'application/vnd.oci.image.manifest.v1+json';
const DOCKER_CONFIG_TYPE = 'application/vnd.docker.container.image.v1+json';
const DOCKER_LAYER_GZIP_TYPE = 'application/vnd.docker.image.rootfs.diff.tar.gzip';

export interface BlobDescriptor {
  readonly digest: string;
  readonly size: number;
}

export const sha256Of = (bytes: Buffer | string): string => `sha256:${createHash('sha256').update(bytes).digest('hex')}`;

/**
 * The manifest older docker-archives never stored, as Orbit pushes it (so the
 * digest the charts pin is the one pushed): Go's compact JSON, field order as
 * below, layers as stored, each labelled .tar.gzip whatever its compression.
 * For an archive whose layers are all uncompressed (docker save) these are
 * the bytes `skopeo inspect --raw docker-archive:…` prints and `skopeo copy
 * --preserve-digests` pushes; when all are gzip'd, what `crane push` sends.
 * containers/image lists a compressed layer by its uncompressed digest and
 * size, so skopeo's digest differs for those.
 */
export function canonicalDockerManifest(config: BlobDescriptor, layers: readonly BlobDescriptor[]): Buffer {
  return Buffer.from(JSON.stringify({
    schemaVersion: 2,
    mediaType: DOCKER_MANIFEST_TYPE,
    config: { mediaType: DOCKER_CONFIG_TYPE, size: config.size, digest: config.digest },
    layers: layers.map((layer) => ({ mediaType: DOCKER_LAYER_GZIP_TYPE, size: layer.size, digest: layer.digest })),
  }));
}

/** `blobs/sha256/<hex>` (OCI layouts, docker 25+) and `<hex>.json` (older docker configs) name their own digest. */
export function digestInEntryName(path: string): string | null {
  const match = /^blobs\/sha256\/([a-f0-9]{64})$/.exec(path) ?? /^([a-f0-9]{64})\.json$/.exec(path);
  return match?.[1] === undefined ? null : `sha256:${match[1]}`;
}

export const OCI_INDEX_TYPE = 'application/vnd.oci.image.index.v1+json';

/**
 * The media type a manifest PUT declares: the document's own, else OCI's
 * (the field is optional there): an index by its `manifests`, an image
 * manifest otherwise.
 */
export function manifestMediaType(manifest: Buffer): string {
  try {
    const { mediaType, manifests, layers } = JSON.parse(manifest.toString('utf8')) as { mediaType?: unknown; manifests?: unknown; layers?: unknown };
    if (typeof mediaType === 'string' && mediaType !== '') return mediaType;
    return Array.isArray(manifests) && layers === undefined ? OCI_INDEX_TYPE : OCI_MANIFEST_TYPE;
  } catch {
    return OCI_MANIFEST_TYPE;
  }
}
