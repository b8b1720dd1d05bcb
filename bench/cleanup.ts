/** Removing what a bench made, whether it finished or threw. */
import { DeleteObjectCommand, ListObjectVersionsCommand, type S3Client } from '@aws-sdk/client-s3';
import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A temporary file of this run: the pid keeps two benches running at once off each other's files. */
export const tempFile = (name: string): string => join(tmpdir(), `orbit-bench-${process.pid}-${name}`);

export const removeFile = (file: string): void => rmSync(file, { recursive: true, force: true });

/**
 * Deletes every version of `key`: the buckets are versioned, so a plain
 * DeleteObject would only add a delete marker and keep the bytes.
 */
export async function removeObject(s3: S3Client, bucket: string, key: string): Promise<void> {
  let keyMarker: string | undefined;
  let versionIdMarker: string | undefined;
  do {
    const page = await s3.send(new ListObjectVersionsCommand({ Bucket: bucket, Prefix: key, KeyMarker: keyMarker, VersionIdMarker: versionIdMarker }));
    for (const version of [...(page.Versions ?? []), ...(page.DeleteMarkers ?? [])]) {
      // Prefix also matches longer keys; only this one is ours.
      if (version.Key === key) await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: key, VersionId: version.VersionId }));
    }
    keyMarker = page.IsTruncated ? page.NextKeyMarker : undefined;
    versionIdMarker = page.IsTruncated ? page.NextVersionIdMarker : undefined;
  } while (keyMarker !== undefined);
}

/** Runs every cleanup even when one throws, and reports failures without hiding the bench's own error. */
export async function cleanUp(steps: readonly (() => unknown)[]): Promise<void> {
  for (const step of steps) {
    try {
      await step();
    } catch (error) {
      console.error(`cleanup: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
}
