import type { ImageReferrer } from '@orbit/schemas';
import { blobPath, parseJson, type ArchiveBlobs } from './blob-store.js';
import { IMAGE_CONFIG_TYPES, INDEX_TYPES, artifactShape, MANIFEST_TYPES, MEDIA_TYPES, indexShape, manifestShape, ociLayoutShape, type Descriptor, type ImageIndex, type ImageManifest } from './json-shapes.js';
import { choosePlatform, isAttestation, isPlatform, platformName, platformsListedTwice } from '../platforms.js';
import { checkReferrers, isReferrersTagged, splitReferrers } from './referrers.js';
import { refuseOtherKind } from './declared-kind.js';
import { referrersListedBy, type ArchiveOrigin } from './pulled-from.js';
import { refuseSamePlatformImages, unplacedImagesProblem } from './same-platform-images.js';
import { reject } from './rejections.js';

/**
 * A multi-platform image index of the archive whose every entry is there,
 * manifest, config and blobs: the image is that whole index, not one of its
 * platforms.
 */
export interface ResolvedIndex {
  readonly digest: string;
  readonly mediaType: string;
  readonly entries: readonly Descriptor[];
  /** The index's own annotations (org.opencontainers.image.source, .revision, … as buildx writes them with --annotation index:). */
  readonly annotations: Readonly<Record<string, string>>;
}

/** The image manifest an OCI layout resolves to for this cluster's platform, and the index it belongs to when it is kept whole. */
export interface ResolvedManifest {
  readonly manifestDigest: string;
  readonly manifest: ImageManifest;
  readonly index: ResolvedIndex | null;
  /** org.opencontainers.image.ref.name annotations of the index entries naming it. */
  readonly repoTags: readonly string[];
  readonly notes: readonly string[];
  /** Referrers beside the image in index.json to push after it, each after its subject. */
  readonly referrers: readonly ImageReferrer[];
}

const REF_NAME = 'org.opencontainers.image.ref.name';
/**
 * The annotation on index.json's entry in which the registry pull says why
 * it took one platform of an index: the archive is validated after the pull,
 * by code that sees only the archive, and the uploader should learn why.
 * Passed on as a note.
 */
export const PULL_NOTE = 'dev.orbit.pull-note';
const MAX_INDEX_DEPTH = 4;

/** The image manifest an index entry names, when the archive holds it and it is one. */
function manifestIfHeld(entry: Descriptor, blobs: ArchiveBlobs): ImageManifest | undefined {
  const manifest = manifestShape.safeParse(blobs.jsonOf(entry.digest));
  return manifest.success ? manifest.data : undefined;
}

/**
 * Several index entries with one digest are one image under several tags.
 * Different digests are acceptable only as platforms of one image (a
 * multi-arch index): linux/amd64 is taken when present, else the first
 * platform; BuildKit's attestation manifests never are while an image is
 * there, unless `wantedConfig` names one (docker save's manifest.json).
 * Only platforms whose manifest is in the archive count: docker save
 * of a multi-arch image keeps the full index but only the local platform's
 * blobs. An index of unrelated images is refused, because the archive is
 * stored whole and loading it would bring in images nobody validated.
 * `whole`: every platform is kept, and the choice only says which one
 * describes the image.
 */
function choose(index: ImageIndex, where: string, notes: string[], blobs: ArchiveBlobs, whole: boolean, wantedConfig?: string): Descriptor {
  if (index.manifests.length === 0) return reject('BAD_MANIFEST', `${where} lists no manifests`);
  // An artifact beside the images (`regctl index create --ref` of one) is no platform to choose; the registry pull passes over it too.
  const artifacts = index.manifests.flatMap((entry) => {
    const configType = artifactConfigType(entry, blobs);
    return configType === undefined ? [] : [{ entry, configType }];
  });
  const images = index.manifests.filter((entry) => !artifacts.some((artifact) => artifact.entry === entry));
  const [first] = images;
  if (first === undefined) return reject('BAD_MANIFEST', `${where} lists only artifacts, not a container image (config media type ${[...new Set(artifacts.map((artifact) => artifact.configType))].join(', ')})`);
  if (artifacts.length > 0) {
    for (const { entry } of artifacts) blobs.blob(entry, `${where}'s artifact`);
    notes.push(`${where} also lists ${artifacts.map((artifact) => `${artifact.entry.digest}, an artifact (config media type ${artifact.configType})`).join('; ')}: not a platform, kept in the stored archive but not validated or pushed`);
  }
  const digests = new Set(images.map((entry) => entry.digest));
  if (digests.size === 1) return first;
  if (images.some((entry) => entry.platform === undefined)) return reject('BAD_MANIFEST', unplacedImagesProblem(images, where));
  const present = images.filter((entry) => blobs.has(blobPath(entry.digest)));
  if (!whole) refuseSamePlatformImages(present, where);
  const candidates = present.length > 0 ? present : images;
  // docker save's manifest.json names the platform docker load takes (the machine's: arm64 on a Mac), not necessarily linux/amd64.
  const wanted = wantedConfig === undefined ? undefined : candidates.find((entry) => manifestIfHeld(entry, blobs)?.config.digest === wantedConfig);
  const chosen = wanted ?? choosePlatform(candidates) ?? first;
  const preferred = isPlatform(chosen);
  const why = wanted !== undefined ? ' (the platform manifest.json names)' : preferred ? '' : ' (no linux/amd64 in the archive)';
  const absent = images.length - present.length;
  const listed = images.map(platformName);
  if (whole) {
    notes.push(`${where} lists ${listed.join(', ')}; every one was validated and the image is the whole index (${platformName(chosen)} describes it here)`);
    // Found by a probe: two linux/amd64 images passed without a word.
    const twice = platformsListedTwice(images, where);
    if (twice !== undefined) notes.push(twice);
    return chosen;
  }
  notes.push(`${where} lists ${listed.join(', ')}${absent > 0 && present.length > 0 ? ` (${absent} not in the archive)` : ''}; validated ${platformName(chosen)}${why}, the only platform kept`);
  return chosen;
}

/**
 * The config media type of an entry that is an artifact rather than an
 * image: a manifest the archive holds whose config is no image config, and
 * no BuildKit attestation (those belong to their index). Undefined for
 * anything else, which stays a candidate and meets the usual checks.
 */
function artifactConfigType(entry: Descriptor, blobs: ArchiveBlobs): string | undefined {
  if (isAttestation(entry) || (entry.mediaType !== undefined && !MANIFEST_TYPES.has(entry.mediaType))) return undefined;
  const document = artifactShape.safeParse(blobs.jsonOf(entry.digest));
  const configType = document.success ? document.data.config?.mediaType : undefined;
  return configType !== undefined && !IMAGE_CONFIG_TYPES.has(configType) ? configType : undefined;
}

/** Media type of a blob from its descriptor, else from the document itself (both optional in older writers). */
function kindOf(descriptor: Descriptor, blobs: ArchiveBlobs): 'index' | 'manifest' {
  const declared = descriptor.mediaType;
  if (declared !== undefined) {
    if (INDEX_TYPES.has(declared)) return 'index';
    if (MANIFEST_TYPES.has(declared)) return 'manifest';
    return reject('BAD_MANIFEST', `${descriptor.digest} has the unsupported media type ${declared}`);
  }
  const file = blobs.blob(descriptor, 'manifest');
  return file.json !== null && file.json.includes('"manifests"') && !file.json.includes('"layers"') ? 'index' : 'manifest';
}

function checkDocumentType(mediaType: string | undefined, allowed: ReadonlySet<string>, what: string): void {
  if (mediaType !== undefined && !allowed.has(mediaType)) reject('BAD_MANIFEST', `${what} has the unsupported media type ${mediaType}`);
}

/**
 * Whether every entry of `index` is an image (or an attestation) whose
 * manifest, config and blobs are all in the archive. docker save of a
 * multi-arch image keeps the whole index but one platform's blobs: that
 * archive is one platform, not the index. So is one whose index also lists
 * an artifact, which is no platform to validate.
 */
function holdsEveryEntry(index: ImageIndex, blobs: ArchiveBlobs): boolean {
  return index.manifests.every((entry) => {
    const manifest = entry.mediaType === undefined || MANIFEST_TYPES.has(entry.mediaType) ? manifestIfHeld(entry, blobs) : undefined;
    if (manifest === undefined) return false;
    const { config, layers } = manifest;
    const runnable = isAttestation(entry) || config.mediaType === undefined || IMAGE_CONFIG_TYPES.has(config.mediaType);
    return runnable && [config, ...layers].every((blob) => blobs.has(blobPath(blob.digest)));
  });
}

interface Resolution {
  /** The manifests and indexes on the way down, and every entry of those indexes: what a referrer may be about (an SBOM of a platform not kept is still about this image). */
  readonly passed: readonly string[];
  readonly digest: string;
  readonly manifest: ImageManifest;
  readonly index: ResolvedIndex | null;
}

/**
 * The digests that an image index listed in index.json lists itself, at any
 * depth: oras copy --to-oci-layout writes a multi-platform image's index and
 * each of its platform manifests as entries of their own, and an image
 * tagged twice (the index, and one platform) is one image too.
 */
function listedWithinIndexes(entries: readonly Descriptor[], blobs: ArchiveBlobs): ReadonlySet<string> {
  const within = new Set<string>();
  const visit = (digest: string, depth: number): void => {
    if (depth > MAX_INDEX_DEPTH) return;
    const index = indexShape.safeParse(blobs.jsonOf(digest));
    if (!index.success) return;
    for (const child of index.data.manifests) {
      if (within.has(child.digest)) continue;
      within.add(child.digest);
      visit(child.digest, depth + 1);
    }
  };
  // No index lists itself, directly or not: its digest would have to be within its own bytes (jsonOf refuses a blob
  // whose bytes do not hash to its name, so one that claims to is DIGEST_MISMATCH before it is read). An index tagged
  // as the referrers of an image (sha256-<hex>) is about that image, not the image: what it lists stays an entry.
  for (const entry of entries) if ((entry.mediaType === undefined || INDEX_TYPES.has(entry.mediaType)) && !isReferrersTagged(entry)) visit(entry.digest, 1);
  return within;
}

/**
 * Down the indexes to an image manifest. The index right above it is kept
 * whole when the archive holds all it lists, unless an index above it
 * already had to choose between several (then the image is ambiguous as a
 * whole, and only the chosen platform is). An index of one platform is kept
 * too: it is what `buildx --platform linux/amd64 --push` and ko push, its
 * digest is what the tag names and what signatures are about.
 */
function resolveFrom(blobs: ArchiveBlobs, descriptor: Descriptor, depth: number, notes: string[], chosenAbove: boolean, wantedConfig: string | undefined): Resolution {
  const kind = kindOf(descriptor, blobs);
  const file = blobs.blob(descriptor, kind === 'index' ? 'image index' : 'manifest');
  refuseOtherKind(blobs, descriptor, kind);
  if (kind === 'manifest') {
    const manifest = parseJson(file, manifestShape, 'manifest', 'BAD_MANIFEST');
    checkDocumentType(manifest.mediaType, MANIFEST_TYPES, `manifest ${descriptor.digest}`);
    return { passed: [descriptor.digest], digest: descriptor.digest, manifest, index: null };
  }
  if (depth >= MAX_INDEX_DEPTH) return reject('BAD_MANIFEST', `image indexes nest more than ${MAX_INDEX_DEPTH} deep`);
  const index = parseJson(file, indexShape, 'image index', 'BAD_MANIFEST');
  checkDocumentType(index.mediaType, INDEX_TYPES, `image index ${descriptor.digest}`);
  const several = new Set(index.manifests.map((entry) => entry.digest)).size > 1;
  const whole = !chosenAbove && holdsEveryEntry(index, blobs);
  const found = resolveFrom(blobs, choose(index, `image index ${descriptor.digest}`, notes, blobs, whole, wantedConfig), depth + 1, notes, chosenAbove || several, wantedConfig);
  const below = { ...found, passed: [descriptor.digest, ...index.manifests.map((entry) => entry.digest), ...found.passed] };
  if (below.index !== null) {
    notes.push(`image index ${descriptor.digest} lists another image index, ${below.index.digest}; that inner one is the image kept and pushed (a registry pull of the outer one is refused, as runtimes read one level of index)`);
  }
  if (!whole || below.index !== null) return below;
  const mediaType = index.mediaType ?? descriptor.mediaType ?? MEDIA_TYPES.ociIndex;
  return { ...below, index: { digest: descriptor.digest, mediaType, entries: index.manifests, annotations: index.annotations ?? {} } };
}

/**
 * oci-layout and index.json down to one image manifest, every blob on the
 * way verified: linux/amd64 of a multi-platform index, or the platform whose
 * config is `wantedConfig` (the one docker save's manifest.json names).
 */
export function resolveOciLayout(blobs: ArchiveBlobs, wantedConfig?: string, origin: ArchiveOrigin = 'upload'): ResolvedManifest {
  parseJson(blobs.file('oci-layout', 'OCI layout file'), ociLayoutShape, 'OCI layout file', 'BAD_MANIFEST');
  const listed = parseJson(blobs.file('index.json', 'OCI index'), indexShape, 'OCI index', 'BAD_MANIFEST');
  checkDocumentType(listed.mediaType, INDEX_TYPES, 'index.json');
  const { images: entries, ...referrers } = splitReferrers(listed, blobs);
  if (entries.length === 0 && referrers.referrers.length > 0) {
    // A runnable image whose manifest names a subject (ggcr's mutate.Subject, oras push --subject of an image) reads as a referrer: say that, not what index.json (of a pull, Orbit's own) lists.
    const runnable = referrers.referrers.find((referrer) => referrer.tag === undefined && IMAGE_CONFIG_TYPES.has(referrer.document.config?.mediaType ?? ''));
    if (runnable !== undefined) {
      return reject('BAD_MANIFEST', `the image ${runnable.entry.digest} names a subject (${runnable.subject}): a manifest with a subject is a referrer of that image (what signatures and SBOMs are), which Orbit keeps beside the image it is about, not an image to deploy; push the image without a subject`);
    }
    return reject('BAD_MANIFEST', 'index.json lists only referrers (an SBOM, a signature: manifests about another image), not the image they are about');
  }
  const notes: string[] = [];
  const inIndexes = listedWithinIndexes(entries, blobs);
  const images = entries.filter((entry) => !inIndexes.has(entry.digest));
  if (images.length < entries.length) {
    notes.push(`index.json also lists ${entries.length - images.length} manifest(s) that an image index it lists holds (as oras copy --to-oci-layout writes a multi-platform image): taken as part of that index`);
  }
  const index = { ...listed, manifests: images };
  const top = choose(index, 'index.json', notes, blobs, false, wantedConfig);
  const pulled = top.annotations?.[PULL_NOTE];
  if (pulled !== undefined) notes.push(pulled);
  const several = new Set(index.manifests.map((entry) => entry.digest)).size > 1;
  const { passed, digest, manifest, index: whole } = resolveFrom(blobs, top, 0, notes, several, wantedConfig);
  // What the registry gets: the whole index and what it lists, else the one manifest.
  const pushedDigests = new Set(whole === null ? [digest] : [whole.digest, ...whole.entries.map((entry) => entry.digest)]);
  const checked = checkReferrers(referrers, new Set(passed), pushedDigests, blobs, referrersListedBy(origin));
  notes.push(...checked.notes);
  const repoTags = [...new Set(index.manifests
    .filter((entry) => entry.digest === top.digest)
    .map((entry) => entry.annotations?.[REF_NAME])
    .filter((name): name is string => name !== undefined && name !== ''))];
  return { manifestDigest: digest, manifest, index: whole, repoTags, notes, referrers: checked.pushed };
}
