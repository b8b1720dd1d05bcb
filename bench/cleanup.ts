/** Removing what a bench made, whether it finished or threw. */
import type { S3Client } from '@aws-sdk/client-s3';
import { deleteEveryVersion } from '@orbit/lib';
import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A temporary file of this run: the pid keeps two benches running at once off each other's files. */
export const tempFile = (name: string): string => join(tmpdir(), `orbit-bench-${process.pid}-${name}`);

export const removeFile = (file: string): void => rmSync(file, { recursive: true, force: true });

/** Every version of `key` (the buckets are versioned: a plain DeleteObject would keep the bytes behind a marker). */
export const removeObject = (s3: S3Client, bucket: string, key: string): Promise<void> => deleteEveryVersion(s3, bucket, key);

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
