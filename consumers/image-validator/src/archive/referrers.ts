import type { ImageReferrer } from '@orbit/schemas';
import type { ArchiveBlobs } from './blob-store.js';
import { MEDIA_TYPES, artifactShape, indexShape, referrerShape, type Descriptor, type ImageIndex, type Referrer } from './json-shapes.js';
import { isRunnableImage } from './layers.js';
import { reject } from './rejections.js';
import { goIntegerProblem } from './go-integers.js';
import { caseFoldedKeyProblem } from './json-keys.js';

/** A referrer index.json lists beside the image, with its own manifest read. */
export interface ListedReferrer {
  readonly entry: Descriptor;
  readonly document: Pick<Referrer, 'artifactType' | 'mediaType' | 'config' | 'layers'>;
  /** The digest it is about: its document's subject, or what its cosign tag names. */
  readonly subject: string;
  /** What it is, for notes: its artifact type, or the kind its cosign tag says. */
  readonly kind: string;
  /** cosign's tag for it, when that is what made it a referrer. */
  readonly tag?: string;
}

/** What index.json lists besides image candidates. */
export interface ListedReferrers {
  readonly referrers: readonly ListedReferrer[];
  /** Referrers' tag-scheme indexes (`sha256-<image hex>`): checked by digest, they only list referrers. */
  readonly tagIndexes: readonly Descriptor[];
}

/** The tag the OCI distribution spec's referrers tag scheme gives the index of an image's referrers. */
const REFERRERS_TAG = /^sha256-[0-9a-f]{64}$/;

/** Whether an index.json entry is tagged by the referrers tag scheme (`sha256-<hex>`): an index of what is about an image, never the image's own. */
export const isReferrersTagged = (entry: Descriptor): boolean => REFERRERS_TAG.test(entry.annotations?.[REF_NAME] ?? '');
const REF_NAME = 'org.opencontainers.image.ref.name';
/** cosign's own tag scheme (before OCI 1.1 referrers): `sha256-<image hex>.sig`, `.att`, `.sbom`. */
const COSIGN_TAG = /^sha256-([0-9a-f]{64})\.(sig|att|sbom)$/;
const COSIGN_KINDS: Readonly<Record<string, string>> = { sig: 'cosign signature', att: 'cosign attestation', sbom: 'cosign SBOM' };

/**
 * index.json's entries split into images and OCI 1.1 referrers. `oras cp -r`
 * and notation write an image's SBOMs and signatures into the layout's
 * index.json beside it, untagged, each naming the image as its `subject`;
 * `regctl image copy --referrers` writes them as the referrers tag scheme
 * does on a registry without the referrers API, one index tagged
 * `sha256-<the image's hex>` listing them. They describe the image rather
 * than being another one, so they do not make the archive "several images".
 * An entry counts as a referrer by its own document's subject, which the
 * descriptor cannot fake (and a tag-scheme index only when everything it
 * lists is one): anything else stays an image candidate and meets the usual
 * checks. cosign's older scheme names its signature, attestation and SBOM
 * manifests by tag alone (`sha256-<image hex>.sig`, copied along by `regctl
 * image copy --digest-tags`); those documents name no subject, so the tag
 * says what they are about.
 */
export function splitReferrers(index: ImageIndex, blobs: ArchiveBlobs): { images: Descriptor[] } & ListedReferrers {
  const images: Descriptor[] = [];
  const referrers = new Map<string, ListedReferrer>();
  const tagIndexes: Descriptor[] = [];
  for (const entry of index.manifests) {
    const referrer = referrerOf(entry, blobs) ?? cosignTagged(entry, blobs);
    if (referrer !== undefined) {
      referrers.set(entry.digest, referrer);
      continue;
    }
    const listed = isReferrersTagged(entry) ? referrersTagIndex(entry, blobs) : undefined;
    if (listed === undefined) {
      images.push(entry);
      continue;
    }
    tagIndexes.push(entry);
    for (const referrer of listed) referrers.set(referrer.entry.digest, referrer);
  }
  return { images, referrers: [...referrers.values()], tagIndexes };
}

/** The referrers a tag-scheme index lists, when it is one whose every entry is a referrer the archive holds. */
function referrersTagIndex(entry: Descriptor, blobs: ArchiveBlobs): ListedReferrer[] | undefined {
  const parsed = indexShape.safeParse(blobs.jsonOf(entry.digest));
  if (!parsed.success || parsed.data.manifests.length === 0) return undefined;
  const listed: ListedReferrer[] = [];
  for (const listedEntry of parsed.data.manifests) {
    const referrer = referrerOf(listedEntry, blobs);
    if (referrer === undefined) return undefined;
    listed.push(referrer);
  }
  return listed;
}

function referrerOf(entry: Descriptor, blobs: ArchiveBlobs): ListedReferrer | undefined {
  const parsed = referrerShape.safeParse(blobs.jsonOf(entry.digest));
  if (!parsed.success) return undefined;
  const document = parsed.data;
  const kind = entry.artifactType ?? document.artifactType ?? document.config?.mediaType ?? document.mediaType ?? 'an artifact';
  return { entry, document, subject: document.subject.digest, kind };
}

/** A manifest index.json tags in cosign's scheme, when the archive holds it. */
function cosignTagged(entry: Descriptor, blobs: ArchiveBlobs): ListedReferrer | undefined {
  const tag = COSIGN_TAG.exec(entry.annotations?.[REF_NAME] ?? '');
  if (tag === null) return undefined;
  const parsed = artifactShape.safeParse(blobs.jsonOf(entry.digest));
  if (!parsed.success) return undefined;
  return { entry, document: parsed.data, subject: `sha256:${tag[1] ?? ''}`, kind: COSIGN_KINDS[tag[2] ?? ''] ?? 'cosign artifact', tag: tag[0] };
}

/** What the checks found: the note for the uploader, and the referrers to push with the image. */
export interface CheckedReferrers {
  readonly notes: string[];
  /** Each after the one it is about, when that is a referrer too. */
  readonly pushed: ImageReferrer[];
}

/**
 * Checks the referrers against what the archive's image is: each must be
 * about the image (any manifest or index on its way, `imageDigests`) or about
 * another of these referrers (a signature of the SBOM), and its blobs must
 * match their digests. A referrer of something else means the archive holds
 * more than the image. Those about what the registry gets (`pushedDigests`:
 * the image's manifest, or its index and every manifest it lists), directly
 * or through another such referrer, are pushed after the image; one about a
 * platform the archive does not keep would name a subject the registry never
 * sees, so it stays in the stored archive only, and so does a referrer that
 * is an index (what it lists was never checked as blobs).
 */
export function checkReferrers({ referrers, tagIndexes }: ListedReferrers, imageDigests: ReadonlySet<string>, pushedDigests: ReadonlySet<string>, blobs: ArchiveBlobs, listedBy = 'index.json also lists'): CheckedReferrers {
  if (referrers.length === 0) return { notes: [], pushed: [] };
  for (const tagIndex of tagIndexes) blobs.blob(tagIndex, `referrers index ${tagIndex.annotations?.[REF_NAME] ?? ''}`);
  const about = new Set(imageDigests);
  // Subjects before what refers to them: the order they are pushed in.
  const ordered: ListedReferrer[] = [];
  let pending = [...referrers];
  for (let grew = true; grew;) {
    const before = pending.length;
    pending = pending.filter((referrer) => {
      if (!about.has(referrer.subject)) return true;
      about.add(referrer.entry.digest);
      ordered.push(referrer);
      return false;
    });
    grew = pending.length < before;
  }
  const [stray] = pending;
  if (stray !== undefined) {
    return reject('BAD_MANIFEST', `index.json lists ${stray.entry.digest} (${stray.kind}), a referrer of ${stray.subject}, which is not the image in this archive; upload one image with its own referrers`);
  }
  for (const referrer of referrers) {
    const role = `referrer ${referrer.entry.digest} (${referrer.kind})`;
    const document = blobs.blob(referrer.entry, role);
    // Pushed as it is: a registry would refuse it after the image, and the upload would fail late.
    const written = document.json === null ? undefined : goIntegerProblem(document.json.toString('utf8'));
    if (written !== undefined) return reject('BAD_MANIFEST', `${role}: ${written}`);
    // The registry indexes it by the subject Go reads; a second, case-different `Subject` would file it under another image.
    const clash = document.json === null ? undefined : caseFoldedKeyProblem(JSON.parse(document.json.toString('utf8')));
    if (clash !== undefined) return reject('BAD_MANIFEST', `${role} ${clash}`);
    const { config, layers = [] } = referrer.document;
    // Referrers are never validated as images; one that could run (an image config and filesystem layers) would ride along in the archive unchecked.
    if (isRunnableImage(config, layers)) return reject('BAD_MANIFEST', `${role} is a runnable image (an image config and filesystem layers), not a signature or a document about one; upload one image per archive`);
    for (const blob of config === undefined ? layers : [config, ...layers]) blobs.blob(blob, `${role}'s blob`);
  }
  const reachable = pushable(ordered, pushedDigests);
  const pushed = reachable.slice(0, MAX_PUSHED_REFERRERS);
  const types = [...new Set(referrers.map((referrer) => referrer.kind))].sort();
  const count = referrers.length === 1 ? 'a referrer' : `${referrers.length} referrers`;
  const unreached = referrers.filter((referrer) => !reachable.some((one) => one.digest === referrer.entry.digest)).map((referrer) => referrer.entry.digest);
  const where = unreached.length === 0 ? 'pushed to the registry after the image'
    : unreached.length === referrers.length ? 'not pushed to the registry: they are about manifests it does not get'
      : `pushed to the registry after the image except ${unreached.join(', ')}, about manifests it does not get`;
  const past = reachable.length > pushed.length ? `; only the first ${MAX_PUSHED_REFERRERS} are pushed, ${reachable.length - pushed.length} more stay in the archive only` : '';
  return { notes: [`${listedBy} ${count} of the image (${types.join(', ')}), checked by digest, kept in the stored archive and ${where}${past}`], pushed };
}

/**
 * Referrers pushed with one image at most. Each travels in the image's events
 * and ViewPort entry, which must stay far below Kafka's message size; an
 * image has a handful (an SBOM, a provenance, their signatures), and a
 * layout listing thousands is kept whole in the archive, not pushed whole.
 */
export const MAX_PUSHED_REFERRERS = 64;

/** The referrers, in order, whose subject the registry gets: the image, or a referrer pushed before them. */
function pushable(ordered: readonly ListedReferrer[], pushedDigests: ReadonlySet<string>): ImageReferrer[] {
  const reached = new Set(pushedDigests);
  const pushed: ImageReferrer[] = [];
  for (const { entry, document, subject, tag } of ordered) {
    const { config, layers = [] } = document;
    if (!reached.has(subject) || config === undefined) continue;
    reached.add(entry.digest);
    const blobs = new Map([config, ...layers].map((blob) => [blob.digest, blob.size]));
    pushed.push({
      digest: entry.digest,
      mediaType: document.mediaType ?? entry.mediaType ?? MEDIA_TYPES.ociManifest,
      sizeBytes: entry.size,
      artifactType: document.artifactType ?? config.mediaType ?? null,
      subject,
      tag: tag ?? null,
      blobs: [...blobs].map(([digest, sizeBytes]) => ({ digest, sizeBytes })),
    });
  }
  return pushed;
}
