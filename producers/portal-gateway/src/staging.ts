import { createHash } from 'node:crypto';
import { Transform, type Readable, pipeline } from 'node:stream';
import type { S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { OrbitError } from '@orbit/lib';

/** The upload is larger than the configured limit (413). */
export class UploadTooLargeError extends OrbitError {
  constructor(readonly limitBytes: number) {
    super('ORBIT_ERR_UPLOAD_TOO_LARGE', `the image exceeds the upload limit of ${limitBytes} bytes`);
  }
}

/**
 * Another presign of the same upload id (one Idempotency-Key sent twice at the same instant) opened it first; this
 * one's own multipart upload was aborted. The caller answers as a presign sent again.
 */
export class UploadPresignedMeanwhile extends Error {
  constructor(readonly uploadId: string) {
    super(`upload ${uploadId} was presigned by another call meanwhile`);
  }
}

/** A presigned upload given up (DELETE) and then completed: its URL may have taken a body since, which is deleted (409). */
export class UploadGivenUpError extends OrbitError {
  constructor(readonly uploadId: string) {
    super('ORBIT_ERR_UPLOAD_GIVEN_UP', `upload ${uploadId} was given up (DELETE /v1/uploads/${uploadId}); nothing of it is kept: presign a new upload`);
  }
}

/** A presigned multipart upload whose parts have not all arrived at their planned sizes (409): the client PUTs them and completes again. */
export class UploadIncompleteError extends OrbitError {
  constructor(readonly uploadId: string, readonly problems: readonly string[]) {
    super('ORBIT_ERR_UPLOAD_INCOMPLETE', `upload ${uploadId} is not complete: ${problems.join('; ')}; PUT those parts, then complete it again`);
  }
}

export interface StagedObject {
  readonly bucket: string;
  readonly key: string;
  readonly versionId: string | null;
  readonly sizeBytes: number;
  /** Hex SHA-256 of the bytes; null when a client uploaded directly and sent no checksum. */
  readonly sha256: string | null;
}

/** Counts and hashes bytes as they pass; fails the stream once past the limit. */
class HashingCounter extends Transform {
  readonly hash = createHash('sha256');
  bytes = 0;
  constructor(private readonly limitBytes: number) {
    super();
  }
  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: (error?: Error | null, data?: Buffer) => void): void {
    this.bytes += chunk.length;
    if (this.bytes > this.limitBytes) return done(new UploadTooLargeError(this.limitBytes));
    this.hash.update(chunk);
    done(null, chunk);
  }
}

/** S3 takes at most 10 000 parts to an upload. */
const MAX_PARTS = 10_000;

/**
 * Parts of a streamed upload: 5 MiB, S3's least (memory holds a few of them and
 * their copies: a 512 MiB upload peaked at 176-200 MiB of RSS with 8 MiB parts,
 * 167-178 MiB with 5 MiB), larger where the upload limit needs it. At 5 MiB
 * S3's 10 000 parts end at 48 GiB; a limit above that raises the part size
 * rather than failing once 48 GiB had been sent.
 */
export function streamedPartBytes(limitBytes: number, preferredBytes = 5 * 1024 * 1024): number {
  return Math.max(preferredBytes, Math.ceil(limitBytes / MAX_PARTS));
}

/**
 * Streams `body` into the staging bucket as a multipart upload while computing
 * its SHA-256: memory stays at a few parts whatever the image size. On any
 * failure the multipart upload is aborted, so nothing half-written remains.
 */
export async function streamToStaging(s3: S3Client, target: { bucket: string; key: string; limitBytes: number; partSizeBytes?: number; metadata?: Record<string, string> }, body: Readable): Promise<StagedObject> {
  const counter = new HashingCounter(target.limitBytes);
  const source = pipeline(body, counter, () => {});
  const upload = new Upload({
    client: s3,
    queueSize: 2,
    partSize: streamedPartBytes(target.limitBytes, target.partSizeBytes),
    leavePartsOnError: false,
    params: { Bucket: target.bucket, Key: target.key, Body: source, ServerSideEncryption: 'AES256', ContentType: 'application/x-tar', ...(target.metadata ? { Metadata: target.metadata } : {}) },
  });
  let result: Awaited<ReturnType<typeof upload.done>>;
  try {
    result = await upload.done();
  } catch (error) {
    if (counter.bytes > target.limitBytes) throw new UploadTooLargeError(target.limitBytes);
    throw error;
  }
  return { bucket: target.bucket, key: target.key, versionId: result.VersionId ?? null, sizeBytes: counter.bytes, sha256: counter.hash.digest('hex') };
}
