import type { ArchiveBlobs } from './blob-store.js';
import { indexShape, manifestShape, MEDIA_TYPES, type Descriptor } from './json-shapes.js';
import { reject } from './rejections.js';

/**
 * Refuses a descriptor whose media type says one kind of document when its blob is the other, saying so: read by
 * the declared kind, an image manifest under an index media type was refused with "manifests: Invalid input:
 * expected array, received undefined" (found by a review), which names no mistake a person made. A registry refuses
 * such a listing too. A blob that is neither is left to the strict reading, which says what is wrong with it.
 */
export function refuseOtherKind(blobs: ArchiveBlobs, descriptor: Descriptor, declared: 'index' | 'manifest'): void {
  const document = blobs.jsonOf(descriptor.digest);
  const manifest = manifestShape.safeParse(document);
  const index = indexShape.safeParse(document);
  const listedAs = descriptor.mediaType === undefined ? '' : ` (${descriptor.mediaType})`;
  if (declared === 'index' && manifest.success) {
    reject('BAD_MANIFEST', `${descriptor.digest} is listed as an image index${listedAs} but is an image manifest: list it as ${manifest.data.mediaType ?? MEDIA_TYPES.ociManifest}`);
  }
  if (declared === 'manifest' && index.success && !manifest.success) {
    reject('BAD_MANIFEST', `${descriptor.digest} is listed as an image manifest${listedAs} but is an image index: list it as ${index.data.mediaType ?? MEDIA_TYPES.ociIndex}`);
  }
}
