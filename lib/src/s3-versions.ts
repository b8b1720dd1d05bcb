import { DeleteObjectCommand, ListObjectVersionsCommand, type S3Client } from '@aws-sdk/client-s3';

interface KeyVersion { readonly Key: string; readonly VersionId?: string }

/** Every version and delete marker of exactly `key`: a listing by prefix also names longer keys that begin with it. */
async function versionsOf(s3: S3Client, bucket: string, key: string, options: { markers: boolean } = { markers: true }): Promise<KeyVersion[]> {
  const found: KeyVersion[] = [];
  let keyMarker: string | undefined;
  let versionIdMarker: string | undefined;
  do {
    const page = await s3.send(new ListObjectVersionsCommand({
      Bucket: bucket, Prefix: key, ...(keyMarker ? { KeyMarker: keyMarker } : {}), ...(versionIdMarker ? { VersionIdMarker: versionIdMarker } : {}),
    }));
    for (const entry of [...(page.Versions ?? []), ...(options.markers ? page.DeleteMarkers ?? [] : [])]) {
      if (entry.Key === key) found.push({ Key: key, ...(entry.VersionId ? { VersionId: entry.VersionId } : {}) });
    }
    keyMarker = page.IsTruncated ? page.NextKeyMarker : undefined;
    versionIdMarker = page.IsTruncated ? page.NextVersionIdMarker : undefined;
  } while (keyMarker);
  return found;
}

/**
 * A listing the role may not make (AccessDenied) or the store does not offer (Cloudflare R2 answers NotImplemented):
 * the version known is deleted alone, as before versions were listed.
 */
function refusedListing(error: unknown): boolean {
  const name = typeof error === 'object' && error !== null ? (error as { name?: unknown }).name : undefined;
  return name === 'AccessDenied' || name === 'NotImplemented' || name === 'MethodNotAllowed';
}

/**
 * Deletes every version of `key`. A presigned single PUT's URL writes as often as it is sent before it expires, and
 * each PUT is a version of its own in a versioned bucket: deleting the newest left the one before it current, bytes
 * and all (found by a review: three PUTs, a DELETE answered 204, two versions left). A role without
 * s3:ListBucketVersions (granted before 2026-12-06) still has `known` deleted, as before, rather than nothing.
 */
export async function deleteEveryVersion(s3: S3Client, bucket: string, key: string, known: string | null = null): Promise<void> {
  let versions: KeyVersion[];
  try {
    versions = await versionsOf(s3, bucket, key);
  } catch (error) {
    if (!refusedListing(error)) throw error;
    versions = [{ Key: key, ...(known ? { VersionId: known } : {}) }];
  }
  // One DeleteObject each, not DeleteObjects: that one must carry a checksum header, which stores run with
  // S3_CHECKSUMS=off (B2, OVH) refuse; a key has a handful of versions, one per PUT of its URL.
  for (const version of versions) {
    await s3.send(new DeleteObjectCommand({ Bucket: bucket, ...version }));
  }
}

/**
 * Deletes `known` and every older version of `key`, none newer: what the harbor-writer stored is gone with the PUTs
 * before it, while a later completion of the same upload (its URL sent again after this request failed and was
 * re-driven) keeps its own. S3 lists a key's versions newest first. Without `known` (an unversioned bucket), the key.
 */
export async function deleteVersionAndOlder(s3: S3Client, bucket: string, key: string, known: string | null): Promise<void> {
  if (known === null) {
    await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }));
    return;
  }
  let versions: KeyVersion[];
  try {
    versions = (await versionsOf(s3, bucket, key, { markers: false }));
  } catch (error) {
    if (!refusedListing(error)) throw error;
    versions = [{ Key: key, VersionId: known }];
  }
  const from = versions.findIndex((version) => version.VersionId === known);
  // Gone already (a redelivery after the delete): so are the ones before it.
  if (from === -1) return;
  for (const version of versions.slice(from)) await s3.send(new DeleteObjectCommand({ Bucket: bucket, ...version }));
}
