import { blobPath, type ArchiveBlobs } from './blob-store.js';
import { referrerShape, type Descriptor, type ImageIndex, type Referrer } from './json-shapes.js';
import { reject } from './rejections.js';

/** A referrer index.json lists beside the image, with its own manifest read. */
export interface ListedReferrer {
  readonly entry: Descriptor;
  readonly document: Referrer;
}

/**
 * index.json's entries split into images and OCI 1.1 referrers. `oras cp -r`,
 * `regctl image copy --referrers` and notation write an image's SBOMs and
 * signatures into the layout's index.json beside it, untagged; each names the
 * image as its `subject`. They describe the image rather than being another
 * one, so they do not make the archive "several images". An entry counts as a
 * referrer by its own document's subject, which the descriptor cannot fake:
 * an entry whose blob is absent or not such a document stays an image
 * candidate and meets the usual checks.
 */
export function splitReferrers(index: ImageIndex, blobs: ArchiveBlobs): { images: Descriptor[]; referrers: ListedReferrer[] } {
  const images: Descriptor[] = [];
  const referrers: ListedReferrer[] = [];
  for (const entry of index.manifests) {
    const document = referrerDocument(entry, blobs);
    if (document === undefined) images.push(entry);
    else referrers.push({ entry, document });
  }
  return { images, referrers };
}

function referrerDocument(entry: Descriptor, blobs: ArchiveBlobs): Referrer | undefined {
  const path = blobPath(entry.digest);
  if (!blobs.has(path)) return undefined;
  const file = blobs.file(path, 'index.json entry');
  if (file.json === null) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(file.json.toString('utf8'));
  } catch {
    return undefined;
  }
  const parsed = referrerShape.safeParse(value);
  return parsed.success ? parsed.data : undefined;
}

function artifactTypeOf({ entry, document }: ListedReferrer): string {
  return entry.artifactType ?? document.artifactType ?? document.config?.mediaType ?? document.mediaType ?? 'an artifact';
}

/**
 * Checks the referrers against what the archive's image is: each must be
 * about the image (any manifest or index on its way, `imageDigests`) or about
 * another of these referrers (a signature of the SBOM), and its blobs must
 * match their digests. A referrer of something else means the archive holds
 * more than the image. Returns the note that says what was found.
 */
export function checkReferrers(referrers: readonly ListedReferrer[], imageDigests: ReadonlySet<string>, blobs: ArchiveBlobs): string[] {
  if (referrers.length === 0) return [];
  const about = new Set(imageDigests);
  let pending = [...referrers];
  for (let grew = true; grew;) {
    const before = pending.length;
    pending = pending.filter((referrer) => {
      if (!about.has(referrer.document.subject.digest)) return true;
      about.add(referrer.entry.digest);
      return false;
    });
    grew = pending.length < before;
  }
  const [stray] = pending;
  if (stray !== undefined) {
    return reject('BAD_MANIFEST', `index.json lists ${stray.entry.digest} (${artifactTypeOf(stray)}), a referrer of ${stray.document.subject.digest}, which is not the image in this archive; upload one image with its own referrers`);
  }
  for (const referrer of referrers) {
    const role = `referrer ${referrer.entry.digest} (${artifactTypeOf(referrer)})`;
    blobs.blob(referrer.entry, role);
    const { config, layers = [] } = referrer.document;
    for (const blob of config === undefined ? layers : [config, ...layers]) blobs.blob(blob, `${role}'s blob`);
  }
  const types = [...new Set(referrers.map(artifactTypeOf))].sort();
  const count = referrers.length === 1 ? 'a referrer' : `${referrers.length} referrers`;
  return [`index.json also lists ${count} of the image (${types.join(', ')}), checked by digest and kept in the stored archive; only the image is pushed to the registry`];
}
