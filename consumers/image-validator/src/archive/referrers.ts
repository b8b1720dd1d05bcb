import type { ArchiveBlobs } from './blob-store.js';
import { IMAGE_CONFIG_TYPES, MEDIA_TYPES, artifactShape, indexShape, referrerShape, type Descriptor, type ImageIndex, type Referrer } from './json-shapes.js';
import { isFilesystemLayer } from './layers.js';
import { reject } from './rejections.js';

/** A referrer index.json lists beside the image, with its own manifest read. */
export interface ListedReferrer {
  readonly entry: Descriptor;
  readonly document: Pick<Referrer, 'artifactType' | 'mediaType' | 'config' | 'layers'>;
  /** The digest it is about: its document's subject, or what its cosign tag names. */
  readonly subject: string;
  /** What it is, for notes: its artifact type, or the kind its cosign tag says. */
  readonly kind: string;
}

/** What index.json lists besides image candidates. */
export interface ListedReferrers {
  readonly referrers: readonly ListedReferrer[];
  /** Referrers' tag-scheme indexes (`sha256-<image hex>`): checked by digest, they only list referrers. */
  readonly tagIndexes: readonly Descriptor[];
}

/** The tag the OCI distribution spec's referrers tag scheme gives the index of an image's referrers. */
const REFERRERS_TAG = /^sha256-[0-9a-f]{64}$/;
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
    const listed = REFERRERS_TAG.test(entry.annotations?.[REF_NAME] ?? '') ? referrersTagIndex(entry, blobs) : undefined;
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
  return { entry, document: parsed.data, subject: `sha256:${tag[1] ?? ''}`, kind: COSIGN_KINDS[tag[2] ?? ''] ?? 'cosign artifact' };
}

/**
 * Checks the referrers against what the archive's image is: each must be
 * about the image (any manifest or index on its way, `imageDigests`) or about
 * another of these referrers (a signature of the SBOM), and its blobs must
 * match their digests. A referrer of something else means the archive holds
 * more than the image. Returns the note that says what was found.
 */
export function checkReferrers({ referrers, tagIndexes }: ListedReferrers, imageDigests: ReadonlySet<string>, blobs: ArchiveBlobs): string[] {
  if (referrers.length === 0) return [];
  for (const tagIndex of tagIndexes) blobs.blob(tagIndex, `referrers index ${tagIndex.annotations?.[REF_NAME] ?? ''}`);
  const about = new Set(imageDigests);
  let pending = [...referrers];
  for (let grew = true; grew;) {
    const before = pending.length;
    pending = pending.filter((referrer) => {
      if (!about.has(referrer.subject)) return true;
      about.add(referrer.entry.digest);
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
    blobs.blob(referrer.entry, role);
    const { config, layers = [] } = referrer.document;
    // Referrers are never validated as images; one that could run (an image config and filesystem layers) would ride along in the archive unchecked.
    const runnable = (config?.mediaType === undefined || IMAGE_CONFIG_TYPES.has(config.mediaType)) && layers.some((layer) => isFilesystemLayer(layer.mediaType ?? MEDIA_TYPES.dockerLayer));
    if (runnable) return reject('BAD_MANIFEST', `${role} is a runnable image (an image config and filesystem layers), not a signature or a document about one; upload one image per archive`);
    for (const blob of config === undefined ? layers : [config, ...layers]) blobs.blob(blob, `${role}'s blob`);
  }
  const types = [...new Set(referrers.map((referrer) => referrer.kind))].sort();
  const count = referrers.length === 1 ? 'a referrer' : `${referrers.length} referrers`;
  return [`index.json also lists ${count} of the image (${types.join(', ')}), checked by digest and kept in the stored archive; only the image is pushed to the registry`];
}
