import type { ImageReferrer } from '@orbit/schemas';
import { canonicalDockerManifest, digestInEntryName, normalizeEntryPath, sha256Of } from '@orbit/lib';
import { parseJson, verifyDigest, type ArchiveBlobs } from './blob-store.js';
import type { FileFacts } from './entry-facts.js';
import { MANIFEST_INTEGER_PATHS } from './go-integers.js';
import { DOCKER_SAVE_FIELDS } from './json-keys.js';
import { dockerManifestShape, type DockerManifest } from './json-shapes.js';
import type { LayerRef } from './layers.js';
import { refuseForeignLayerSources } from './layer-sources.js';
import { resolveOciLayout, type ResolvedIndex } from './oci-layout.js';
import { reject } from './rejections.js';

export interface DockerImage {
  readonly manifestDigest: string;
  readonly config: FileFacts;
  readonly layers: readonly LayerRef[];
  readonly repoTags: readonly string[];
  readonly notes: readonly string[];
  /** docker save of a multi-platform image with every platform at hand (the containerd image store): the whole index, as docker load there takes it. */
  readonly index: ResolvedIndex | null;
  /** Referrers the OCI layout beside manifest.json lists (docker 25+), to push after the image. */
  readonly referrers: readonly ImageReferrer[];
  /** The annotations of the image's stored manifest (docker 25+); none when Orbit computed the manifest. */
  readonly manifestAnnotations: Readonly<Record<string, string>>;
}

function entryAt(blobs: ArchiveBlobs, rawPath: string, role: string): FileFacts {
  const path = normalizeEntryPath(rawPath);
  if (!path.ok) return reject('UNSAFE_PATH', `manifest.json names ${role} "${rawPath}", which ${path.why}`);
  const named = digestInEntryName(path.path);
  // Content-addressed paths (blobs/sha256/…, <hex>.json) must be regular files; legacy layer.tar paths may be docker's links.
  const file = named === null && role.startsWith('layer') ? blobs.fileFollowingOneLink(path.path, role) : blobs.file(path.path, role);
  if (named !== null) verifyDigest(file, named, role);
  return file;
}

function canonicalManifestDigest(config: FileFacts, layers: readonly LayerRef[]): string {
  return sha256Of(canonicalDockerManifest({ digest: `sha256:${config.sha256}`, size: config.size }, layers.map((layer) => ({ digest: layer.digest, size: layer.file.size }))));
}

/**
 * docker save since 25 also writes an OCI layout of the same image. When it is
 * there it must describe the same config and layers (else two loaders could
 * see two different images), and its stored manifest gives the real digest
 * and layer media types.
 */
function withStoredManifest(blobs: ArchiveBlobs, config: FileFacts, layers: LayerRef[]): Pick<DockerImage, 'manifestDigest' | 'layers' | 'notes' | 'index' | 'referrers' | 'manifestAnnotations'> | null {
  if (!blobs.has('index.json') || !blobs.has('oci-layout')) return null;
  const oci = resolveOciLayout(blobs, `sha256:${config.sha256}`);
  const sameConfig = oci.manifest.config.digest === `sha256:${config.sha256}`;
  const sameLayers = oci.manifest.layers.length === layers.length && oci.manifest.layers.every((layer, index) => layer.digest === layers[index]?.digest);
  if (!sameConfig || !sameLayers) reject('BAD_MANIFEST', 'manifest.json and index.json describe different images');
  return {
    manifestDigest: oci.manifestDigest,
    layers: layers.map((layer, index) => ({ ...layer, mediaType: oci.manifest.layers[index]?.mediaType ?? null })),
    notes: oci.notes,
    index: oci.index,
    referrers: oci.referrers,
    manifestAnnotations: oci.manifest.annotations ?? {},
  };
}

/**
 * A `docker save` archive: manifest.json names the config and the layers by
 * path. Several images in one manifest.json are refused rather than the first
 * picked: the archive is stored and loaded whole, so the others would ride
 * along unvalidated.
 */
/**
 * containers/image's `dir:` folder (skopeo copy … dir:, podman save --format
 * docker-dir) also has a manifest.json, but it holds the image's registry
 * manifest, not docker save's list of images. Packed with tar it reaches
 * Orbit as an archive neither docker load nor Orbit reads: say which it is
 * and how to turn it into one, instead of "wrong shape".
 */
function rejectDirectoryLayout(file: FileFacts): void {
  let value: unknown;
  try {
    value = file.json === null ? null : JSON.parse(file.json.toString('utf8'));
  } catch {
    return;
  }
  if (typeof value === 'object' && value !== null && !Array.isArray(value) && 'schemaVersion' in value) {
    reject('BAD_MANIFEST', 'manifest.json is one image manifest, not docker save\'s list of images: the archive is a containers/image "dir:" folder '
      + '(skopeo copy … dir:, podman save --format docker-dir) packed with tar, which neither docker load nor Orbit reads; '
      + 'turn it into an archive with skopeo copy dir:<folder> oci-archive:image.tar (or docker-archive:image.tar) and upload that');
  }
}

/** docker save's list of images; a manifest.json that is not one is looked at again only to say what it is. */
function parseJsonOrName(file: FileFacts): ReturnType<typeof dockerManifestShape.parse> {
  try {
    return parseJson(file, dockerManifestShape, 'docker manifest', 'BAD_MANIFEST', MANIFEST_INTEGER_PATHS, DOCKER_SAVE_FIELDS);
  } catch (error) {
    rejectDirectoryLayout(file);
    throw error;
  }
}

/**
 * Entries naming the same config and layers are one image under several
 * tags: crane (pull --format=tarball or legacy of two tags of one image)
 * writes an entry per tag, docker save one entry with every tag.
 */
function oneImageOf(images: DockerManifest): { image: DockerManifest[number]; note?: string } | undefined {
  const [first] = images;
  if (first === undefined || images.length === 1) return first && { image: first };
  const same = images.every((entry) => entry.Config === first.Config && entry.Layers.length === first.Layers.length && entry.Layers.every((layer, at) => layer === first.Layers[at]));
  if (!same) return undefined;
  const repoTags = [...new Set(images.flatMap((entry) => entry.RepoTags ?? []))];
  return { image: { ...first, RepoTags: repoTags }, note: `manifest.json lists one image ${images.length} times, an entry per tag (as crane writes it): taken as one image with the tags ${repoTags.join(', ') || '(none)'}` };
}

/**
 * What the digest of an archive without a stored manifest agrees with. It is
 * of the manifest Orbit pushes, layers as stored. crane push sends gzip'd
 * layers as they are but compresses plain ones; containers/image (skopeo
 * inspect --raw, skopeo copy --preserve-digests, podman) lists every layer
 * of a docker-archive by its uncompressed digest and size. So crane agrees
 * only when every layer is stored compressed, skopeo only when none is (what
 * docker save writes), neither for a mix (found by a review: the note said
 * skopeo always agreed).
 */
function computedDigestNote(layers: readonly LayerRef[]): string {
  const plain = layers.filter((layer) => layer.file.compression === 'none').length;
  const compressed = layers.length - plain;
  const others = compressed === 0
    ? 'skopeo inspect --raw docker-archive: and skopeo copy --preserve-digests give the same; crane push compresses its layers and gives another digest'
    : plain === 0
      ? 'crane push of this archive gives the same; skopeo and podman give another, listing its compressed layers by their uncompressed digests'
      : `neither crane push (it compresses the ${plain} uncompressed layer(s)) nor skopeo (it lists the ${compressed} compressed one(s) by their uncompressed digests) gives the same`;
  return `manifest.json stores no image manifest; manifestDigest is of the Docker schema 2 manifest of its blobs as stored, the one Orbit pushes (${others})`;
}

export function resolveDockerArchive(blobs: ArchiveBlobs): DockerImage {
  const manifestFile = blobs.file('manifest.json', 'docker manifest');
  const images = parseJsonOrName(manifestFile);
  const one = oneImageOf(images);
  if (one === undefined) return reject('BAD_MANIFEST', `manifest.json lists ${images.length} different images; upload one image per archive`);
  const { image } = one;
  refuseForeignLayerSources(image);
  const config = entryAt(blobs, image.Config, 'config');
  const layers: LayerRef[] = image.Layers.map((path, index) => {
    const file = entryAt(blobs, path, `layer ${index + 1}`);
    return { file, digest: `sha256:${file.sha256}`, mediaType: null };
  });
  const stored = withStoredManifest(blobs, config, layers);
  return {
    manifestDigest: stored?.manifestDigest ?? canonicalManifestDigest(config, layers),
    config,
    layers: stored?.layers ?? layers,
    repoTags: image.RepoTags ?? [],
    notes: [...(one.note === undefined ? [] : [one.note]), ...(stored?.notes ?? [computedDigestNote(layers)])],
    index: stored?.index ?? null,
    referrers: stored?.referrers ?? [],
    manifestAnnotations: stored?.manifestAnnotations ?? {},
  };
}
