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
 * The SHA-256 the object claims to have: the server's full-object checksum,
 * else the one written into its `orbit-sha256` metadata. Metadata is a claim,
 * never a proof: anyone who may write the object may write it too (a
 * same-size overwrite labelled with the validated SHA-256 was adopted as the
 * copy, found by a review). What proves a copy: holdsValidated, provenCopyOf.
 */
export const knownSha256 = (object: StoredObject): string | null => object.sha256 ?? object.metadata['orbit-sha256'] ?? null;

/**
 * Metadata of a transfer's copy naming the S3 version of the source it was
 * copied from: with the request id and the ETag, how a redelivery that lost
 * the version id it wrote recognises its own copy (provenCopyOf).
 */
export const COPIED_FROM_VERSION = 'orbit-copied-from-version';

/** What an object must be shown to hold: the bytes whose SHA-256 was validated. */
export interface ValidatedBytes {
  readonly sha256: string;
  /** The S3 version Orbit wrote (and checked) of this object, as the image metadata table records it; null when none is. */
  readonly recordedVersionId: string | null;
}

/**
 * Whether S3 itself shows that `object` holds the validated bytes: its own
 * full-object SHA-256 says so, or, where it keeps none (a multipart copy,
 * S3_CHECKSUMS=off), it is the very version Orbit recorded (Orbit never
 * replaces a version, so that version still holds what was checked when it
 * was written). An object without a version in a store that computes no
 * checksum proves nothing either way: there only its `orbit-sha256` claim is
 * left (and the ETag pin of the copy, serverSideCopy).
 */
export function holdsValidated(object: StoredObject, expected: ValidatedBytes): boolean {
  if (object.sha256 !== null) return object.sha256 === expected.sha256;
  // S3 names an object written before the bucket's versioning was turned on version "null"; Orbit, writing it then,
  // was told no version and recorded none: it is the unversioned case (a reread: such an object never matched).
  const unversioned = object.versionId === null || (object.versionId === 'null' && expected.recordedVersionId === null);
  if (unversioned) return object.metadata['orbit-sha256'] === expected.sha256;
  return object.versionId === expected.recordedVersionId;
}

/** Why holdsValidated said no, for a message: what S3 shows of the object. */
export function unprovenBecause(object: StoredObject, expected: ValidatedBytes): string {
  if (object.sha256 !== null || object.versionId === null) return `SHA-256 ${knownSha256(object) ?? 'unknown'}`;
  return `version ${object.versionId} (${expected.recordedVersionId ? `not ${expected.recordedVersionId}, the one Orbit recorded` : 'Orbit recorded none'}) with no SHA-256 of S3's own, only the claim ${object.metadata['orbit-sha256'] ?? 'of none'} in its metadata`;
}

/** The copy a transfer makes: from which source version (with the ETag its HEAD saw), for which request. */
export interface CopyMadeBy {
  readonly requestId: string;
  readonly source: { readonly versionId: string | null; readonly etag: string | null };
}

/**
 * An object already in place that a redelivered request can keep instead of
 * copying again: the size of the validated bytes, and holdsValidated, or it
 * is this request's own copy whose version id was never recorded (the
 * consumer died between the copy and recordTransferLocation) and for which S3
 * keeps no SHA-256 (a multipart copy). HEAD does not say what an object was
 * copied from (`x-amz-copy-source-version-id` comes only with the CopyObject
 * answer, lost with the process), so the copy names its request and source
 * version in metadata; metadata can be forged, so S3's ETag must equal the
 * source version's too: an MD5 (of the whole, or of each part in the same
 * 512 MiB layout every Orbit copy uses, which the store's copy into
 * Development follows as well) that other bytes do not reach. Where it
 * differs anyway (another layout, SSE-KMS) the request only copies again.
 */
export function provenCopyOf(object: StoredObject | undefined, expected: ValidatedBytes & { readonly sizeBytes: number; readonly madeBy?: CopyMadeBy }): boolean {
  return provenBy(object, expected, 'orbit-transfer-request-id');
}

/**
 * provenCopyOf for the store step's copy from staging into Development,
 * which names its request in `orbit-request-id` (the transfer's own key is
 * `orbit-transfer-request-id`): the object is kept by S3's own SHA-256, by
 * being the version the metadata row records, or as this request's own copy
 * of the staged version (request id, COPIED_FROM_VERSION and the staged
 * version's ETag); the `orbit-sha256` claim alone never keeps it.
 */
export function provenStoreCopyOf(object: StoredObject | undefined, expected: ValidatedBytes & { readonly sizeBytes: number; readonly madeBy?: CopyMadeBy }): boolean {
  return provenBy(object, expected, 'orbit-request-id');
}

function provenBy(object: StoredObject | undefined, expected: ValidatedBytes & { readonly sizeBytes: number; readonly madeBy?: CopyMadeBy }, requestIdKey: string): boolean {
  if (object === undefined || object.size !== expected.sizeBytes) return false;
  if (holdsValidated(object, expected)) return true;
  const madeBy = expected.madeBy;
  return object.sha256 === null && object.versionId !== null && madeBy !== undefined && madeBy.source.versionId !== null && madeBy.source.etag !== null
    && object.etag === madeBy.source.etag && object.metadata[requestIdKey] === madeBy.requestId && object.metadata[COPIED_FROM_VERSION] === madeBy.source.versionId;
}

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

