import {
  AbortMultipartUploadCommand, CompleteMultipartUploadCommand, CopyObjectCommand, CreateMultipartUploadCommand, HeadObjectCommand,
  UploadPartCopyCommand, type S3Client,
} from '@aws-sdk/client-s3';

/** S3 refuses a single CopyObject above 5 GiB. */
export const SINGLE_COPY_LIMIT = 5 * 1024 ** 3;
const PART_BYTES = 512 * 1024 ** 2;

export interface ObjectLocation {
  readonly bucket: string;
  readonly key: string;
  readonly versionId?: string | null;
}

export interface CopyResult {
  readonly versionId: string | null;
  /** Hex SHA-256 of the whole object as the server computed it; null for multipart copies (composite checksum). */
  readonly sha256: string | null;
}

function copySource(source: ObjectLocation): string {
  const path = `${source.bucket}/${source.key.split('/').map(encodeURIComponent).join('/')}`;
  return source.versionId ? `${path}?versionId=${encodeURIComponent(source.versionId)}` : path;
}

/** Hex SHA-256 of an object, if the server stored a full-object checksum. */
export async function storedSha256(s3: S3Client, location: ObjectLocation): Promise<{ sha256: string | null; size: number; versionId: string | null; metadata: Record<string, string> } | undefined> {
  try {
    const head = await s3.send(new HeadObjectCommand({ Bucket: location.bucket, Key: location.key, ChecksumMode: 'ENABLED', ...(location.versionId ? { VersionId: location.versionId } : {}) }));
    const sha256 = head.ChecksumSHA256 && head.ChecksumType !== 'COMPOSITE' ? Buffer.from(head.ChecksumSHA256, 'base64').toString('hex') : null;
    return { sha256, size: head.ContentLength ?? 0, versionId: head.VersionId ?? null, metadata: head.Metadata ?? {} };
  } catch (error) {
    if ((error as { name?: string }).name === 'NotFound') return undefined;
    throw error;
  }
}

/**
 * Copies an object server side: no image byte passes through Node. Up to
 * 5 GiB one CopyObject (the server computes a full-object SHA-256), above
 * that a multipart UploadPartCopy in 512 MiB ranges, aborted on any failure.
 */
export async function serverSideCopy(s3: S3Client, source: ObjectLocation, target: ObjectLocation, sizeBytes: number, metadata: Record<string, string>): Promise<CopyResult> {
  if (sizeBytes <= SINGLE_COPY_LIMIT) {
    const copied = await s3.send(new CopyObjectCommand({
      Bucket: target.bucket, Key: target.key, CopySource: copySource(source), ServerSideEncryption: 'AES256',
      ChecksumAlgorithm: 'SHA256', MetadataDirective: 'REPLACE', Metadata: metadata, ContentType: 'application/x-tar',
    }));
    const sha256 = copied.CopyObjectResult?.ChecksumSHA256 ? Buffer.from(copied.CopyObjectResult.ChecksumSHA256, 'base64').toString('hex') : null;
    return { versionId: copied.VersionId ?? null, sha256: sha256 ?? (await storedSha256(s3, { ...target, versionId: copied.VersionId ?? null }))?.sha256 ?? null };
  }
  const created = await s3.send(new CreateMultipartUploadCommand({ Bucket: target.bucket, Key: target.key, ServerSideEncryption: 'AES256', Metadata: metadata, ContentType: 'application/x-tar' }));
  const uploadId = created.UploadId;
  try {
    const parts: { ETag: string; PartNumber: number }[] = [];
    for (let start = 0, number = 1; start < sizeBytes; start += PART_BYTES, number++) {
      const end = Math.min(sizeBytes, start + PART_BYTES) - 1;
      const part = await s3.send(new UploadPartCopyCommand({ Bucket: target.bucket, Key: target.key, UploadId: uploadId, PartNumber: number, CopySource: copySource(source), CopySourceRange: `bytes=${start}-${end}` }));
      parts.push({ ETag: part.CopyPartResult?.ETag ?? '', PartNumber: number });
    }
    const done = await s3.send(new CompleteMultipartUploadCommand({ Bucket: target.bucket, Key: target.key, UploadId: uploadId, MultipartUpload: { Parts: parts } }));
    return { versionId: done.VersionId ?? null, sha256: null };
  } catch (error) {
    await s3.send(new AbortMultipartUploadCommand({ Bucket: target.bucket, Key: target.key, UploadId: uploadId })).catch(() => undefined);
    throw error;
  }
}

/**
 * An S3 answer that no retry will change by itself: the bucket refuses us or
 * does not exist. The request fails with a reason instead of waiting forever;
 * transient errors (5xx, throttling, timeouts) are not matched and stay retried.
 */
export function refusedByStore(error: unknown): { reasonCode: 'STORE_ACCESS_DENIED' | 'BUCKET_MISSING'; message: string } | undefined {
  const name = (error as { name?: string }).name;
  const message = error instanceof Error ? error.message : String(error);
  if (name === 'AccessDenied' || name === 'AllAccessDisabled') return { reasonCode: 'STORE_ACCESS_DENIED', message: `S3 refused the copy: ${message}` };
  if (name === 'NoSuchBucket') return { reasonCode: 'BUCKET_MISSING', message: `S3 has no such bucket: ${message}` };
  return undefined;
}

