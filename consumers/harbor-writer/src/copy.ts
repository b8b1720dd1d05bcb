import {
  AbortMultipartUploadCommand, CompleteMultipartUploadCommand, CopyObjectCommand, CreateMultipartUploadCommand, HeadObjectCommand,
  UploadPartCopyCommand, type S3Client,
} from '@aws-sdk/client-s3';
import { refusedByStore, type StoreRefusalReason } from '@orbit/lib';

/** Where a copy switches from one CopyObject to parts, the size of those parts, and how many are copied at once. */
export interface CopyLimits {
  readonly singleCopyBytes: number;
  readonly partBytes: number;
  readonly partsInParallel: number;
}

/**
 * S3 refuses a single CopyObject above 5 GiB; 512 MiB parts keep a 50 GiB
 * image under 100 requests, and S3 copies parts side by side much faster
 * than one after another.
 */
export const S3_COPY_LIMITS: CopyLimits = { singleCopyBytes: 5 * 1024 ** 3, partBytes: 512 * 1024 ** 2, partsInParallel: 4 };

export interface ObjectLocation {
  readonly bucket: string;
  readonly key: string;
  readonly versionId?: string | null;
}

/** A location as the image metadata table records one: its S3 version, or null where none is known. */
export type RecordedLocation = ObjectLocation & { readonly versionId: string | null };

/**
 * A recorded location (`location<Environment>`, or a row's own bucket, key and versionId), or undefined when the
 * value names no object. An empty versionId (what a copy into an unversioned bucket may leave) is no version: null,
 * as every S3 call here reads it (`versionId ? … : latest`); kept as '' it was read as the latest by a push yet as
 * an exact version by anything that compares or deletes by it.
 */
export function recordedLocationOf(value: unknown): RecordedLocation | undefined {
  const location = value as Partial<Record<keyof ObjectLocation, unknown>> | null | undefined;
  if (typeof location?.bucket !== 'string' || typeof location.key !== 'string') return undefined;
  const versionId = location.versionId;
  return { bucket: location.bucket, key: location.key, versionId: typeof versionId === 'string' && versionId !== '' ? versionId : null };
}

export interface CopyResult {
  readonly versionId: string | null;
  /** Hex SHA-256 of the whole object as the server computed it; null for multipart copies (composite checksum). */
  readonly sha256: string | null;
  /** Bytes of the copy: as the server reports them after it completed, wherever it reported no checksum. */
  readonly sizeBytes: number;
}

function copySource(source: ObjectLocation): string {
  const path = `${source.bucket}/${source.key.split('/').map(encodeURIComponent).join('/')}`;
  return source.versionId ? `${path}?versionId=${encodeURIComponent(source.versionId)}` : path;
}

export interface StoredObject {
  /** Hex SHA-256 of the whole object, if the server stored a full-object checksum. */
  readonly sha256: string | null;
  readonly size: number;
  readonly versionId: string | null;
  /** The ETag the same HEAD saw: what pins a copy of an unversioned object to the bytes that HEAD checked. */
  readonly etag: string | null;
  readonly metadata: Record<string, string>;
}

/**
 * Where a copy reads from, as the HEAD that checked it found it. An object
 * without a version id can be overwritten between that HEAD and the copy;
 * its ETag makes S3 refuse the copy then instead of copying other bytes
 * under the checked SHA-256.
 */
export interface CopySource extends ObjectLocation {
  readonly etag: string | null;
}

/** The source of a copy no longer is the object its HEAD checked (S3 answered 412 to the ETag it was pinned to): nothing was copied. */
export class SourceChangedError extends Error {
  constructor(source: ObjectLocation, cause: unknown) {
    super(`s3://${source.bucket}/${source.key} changed after it was checked (its ETag no longer matches); nothing was copied`, { cause });
    this.name = 'SourceChangedError';
  }
}

const preconditionFailed = (error: unknown): boolean =>
  (error as { name?: string }).name === 'PreconditionFailed' || (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 412;

/**
 * The SHA-256 the object is known to have: the server's full-object checksum,
 * else the one recorded in `orbit-sha256` when the object was written. An
 * object carries that metadata only once its copy was complete and checked
 * (a multipart copy appears whole or not at all), so it is as good an answer
 * for "is this copy already done?" as the server's own checksum.
 */
export const knownSha256 = (object: StoredObject): string | null => object.sha256 ?? object.metadata['orbit-sha256'] ?? null;

/** An object already in place that a redelivered request can keep instead of copying again. */
export const holdsCopyOf = (object: StoredObject | undefined, expected: { sha256: string; sizeBytes: number }): boolean =>
  object !== undefined && knownSha256(object) === expected.sha256 && object.size === expected.sizeBytes;

/** HEAD of an object with its checksum, or undefined when it is not there. */
export async function storedSha256(s3: S3Client, location: ObjectLocation): Promise<StoredObject | undefined> {
  try {
    const head = await s3.send(new HeadObjectCommand({ Bucket: location.bucket, Key: location.key, ChecksumMode: 'ENABLED', ...(location.versionId ? { VersionId: location.versionId } : {}) }));
    const sha256 = head.ChecksumSHA256 && head.ChecksumType !== 'COMPOSITE' ? Buffer.from(head.ChecksumSHA256, 'base64').toString('hex') : null;
    return { sha256, size: head.ContentLength ?? 0, versionId: head.VersionId ?? null, etag: head.ETag ?? null, metadata: head.Metadata ?? {} };
  } catch (error) {
    if ((error as { name?: string }).name === 'NotFound') return undefined;
    throw error;
  }
}

/**
 * Copies an object server side: no image byte passes through Node. Up to the
 * single-copy limit one CopyObject (the server computes a full-object
 * SHA-256), above it a multipart UploadPartCopy, aborted on any failure.
 * S3 gives no full-object SHA-256 for a multipart copy (MinIO none at all for
 * copied parts), so the caller can only compare the size the server reports.
 * A source without a version id is copied only while it still carries the
 * ETag its checking HEAD saw (SourceChangedError otherwise): the size check,
 * all there is above 5 GiB or with S3_CHECKSUMS=off, cannot tell an
 * overwrite of the same length.
 *
 * `signal` (the consume loop's, aborted on shutdown) ends the copy requests in flight and starts no further part: a
 * copy of gigabytes takes minutes, which a stopping consumer would otherwise wait out. The multipart upload is
 * still aborted (that request without the signal), and the handler's error leaves the message uncommitted for the
 * next owner, who finds a finished single copy in place (it carries the request id) or copies again.
 */
export async function serverSideCopy(
  s3: S3Client, source: CopySource, target: ObjectLocation, sizeBytes: number, metadata: Record<string, string>, limits: CopyLimits = S3_COPY_LIMITS,
  signal?: AbortSignal,
): Promise<CopyResult> {
  const abortable = signal ? { abortSignal: signal } : {};
  const pin = source.versionId ? null : source.etag;
  const pinned = pin ? { CopySourceIfMatch: pin } : {};
  const pinnedCopy = async <T>(copy: Promise<T>): Promise<T> => {
    try {
      return await copy;
    } catch (error) {
      if (pin && preconditionFailed(error)) throw new SourceChangedError(source, error);
      throw error;
    }
  };
  if (sizeBytes <= limits.singleCopyBytes) {
    const copied = await pinnedCopy(s3.send(new CopyObjectCommand({
      Bucket: target.bucket, Key: target.key, CopySource: copySource(source), ServerSideEncryption: 'AES256',
      ChecksumAlgorithm: 'SHA256', MetadataDirective: 'REPLACE', Metadata: metadata, ContentType: 'application/x-tar', ...pinned,
    }), abortable));
    const versionId = copied.VersionId ?? null;
    const reported = copied.CopyObjectResult?.ChecksumSHA256;
    if (reported) return { versionId, sha256: Buffer.from(reported, 'base64').toString('hex'), sizeBytes };
    // MinIO answers a CopyObject without the checksum it computed: ask for it.
    const head = await storedSha256(s3, { ...target, versionId });
    return { versionId, sha256: head?.sha256 ?? null, sizeBytes: head?.size ?? 0 };
  }
  const created = await s3.send(new CreateMultipartUploadCommand({ Bucket: target.bucket, Key: target.key, ServerSideEncryption: 'AES256', Metadata: metadata, ContentType: 'application/x-tar' }));
  const uploadId = created.UploadId;
  try {
    const ranges = Array.from({ length: Math.ceil(sizeBytes / limits.partBytes) }, (_, index) => ({
      PartNumber: index + 1, first: index * limits.partBytes, last: Math.min(sizeBytes, (index + 1) * limits.partBytes) - 1,
    }));
    const parts: { ETag: string; PartNumber: number }[] = [];
    let next = 0;
    const copyParts = async (): Promise<void> => {
      for (let range = ranges[next++]; range; range = ranges[next++]) {
        signal?.throwIfAborted();
        // Without a version id each part is read from whatever the key holds then: the pin ties every part to the checked object.
        const part = await pinnedCopy(s3.send(new UploadPartCopyCommand({
          Bucket: target.bucket, Key: target.key, UploadId: uploadId, PartNumber: range.PartNumber, CopySource: copySource(source), CopySourceRange: `bytes=${range.first}-${range.last}`,
          ...pinned,
        }), abortable));
        parts.push({ ETag: part.CopyPartResult?.ETag ?? '', PartNumber: range.PartNumber });
      }
    };
    // Every worker settles before a failure is raised, so the abort below finds no part still being written.
    const workers = await Promise.allSettled(Array.from({ length: Math.max(1, Math.min(limits.partsInParallel, ranges.length)) }, copyParts));
    const failure = workers.find((worker): worker is PromiseRejectedResult => worker.status === 'rejected');
    if (failure) throw failure.reason;
    parts.sort((a, b) => a.PartNumber - b.PartNumber);
    const done = await s3.send(new CompleteMultipartUploadCommand({ Bucket: target.bucket, Key: target.key, UploadId: uploadId, MultipartUpload: { Parts: parts } }));
    const versionId = done.VersionId ?? null;
    const head = await storedSha256(s3, { ...target, versionId });
    return { versionId, sha256: null, sizeBytes: head?.size ?? 0 };
  } catch (error) {
    await s3.send(new AbortMultipartUploadCommand({ Bucket: target.bucket, Key: target.key, UploadId: uploadId })).catch(() => undefined);
    throw error;
  }
}

/**
 * Why a finished copy cannot be kept, or undefined when it matches: a
 * different SHA-256 where the server computed one, else a different size.
 */
export function copyMismatch(copy: CopyResult, expected: { sha256: string; sizeBytes: number }): string | undefined {
  if (copy.sha256 !== null) return copy.sha256 === expected.sha256 ? undefined : `SHA-256 ${copy.sha256}, expected ${expected.sha256}`;
  return copy.sizeBytes === expected.sizeBytes ? undefined : `${copy.sizeBytes} bytes, expected ${expected.sizeBytes}`;
}

/** A refusal of the store, from refusedByStore, where a value was looked for. */
export interface StoreRefusal {
  readonly refused: StoreRefusalReason;
}

/**
 * What `work` finds, or the store's refusal of it (a missing permission, a
 * missing bucket) to fail the request with: a look at an object is refused
 * like a copy is, instead of dead-lettering the request.
 */
export async function orRefusal<T>(work: Promise<T>): Promise<T | StoreRefusal> {
  try {
    return await work;
  } catch (error) {
    const refused = refusedByStore(error);
    if (refused) return { refused };
    throw error;
  }
}

export const isRefusal = (value: unknown): value is StoreRefusal => typeof value === 'object' && value !== null && 'refused' in value;

