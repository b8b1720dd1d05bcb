import { DeleteObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { envelopeFor, type EnvironmentName, type Logger, parseEnvironmentName, refusedByStore } from '@orbit/lib';
import type { ImageCopied, PipelineFailed, TransferRequested } from '@orbit/schemas';
import { COPIED_FROM_VERSION, copyMismatch, isRefusal, orRefusal, provenCopyOf, serverSideCopy, SourceChangedError, storedSha256, type CopyLimits } from './copy.js';
import { storedKeyOf } from './store-image.js';
import { storedRecordOf, validatedSource } from './validated-source.js';

export interface TransferDeps {
  readonly s3: S3Client;
  readonly dynamo: DynamoDBDocumentClient;
  readonly metadataTable: string;
  bucketOf(environment: EnvironmentName): string;
  /** @default S3_COPY_LIMITS */
  readonly copyLimits?: CopyLimits;
  /** Aborted on shutdown (ConsumedMessage.signal): ends the server-side copy, the step that takes minutes. */
  readonly signal?: AbortSignal;
}

/**
 * Records where the copy of a transfer lives in the image metadata table
 * (`location<Environment>`): what `transfers:reconcile` finds a failed
 * transfer's copy by. Nothing in the pipeline reads the attribute back on the
 * way; when and why it is recorded before or beside the ImageCopied publish:
 * handleTransfer. Returns the version's row as the update left it (ALL_NEW):
 * what the push into the target's registry reads (the image summary, the
 * owner path), so it asks no second time.
 */
export async function recordTransferLocation(copied: ImageCopied, deps: Pick<TransferDeps, 'dynamo' | 'metadataTable'>): Promise<Record<string, unknown> | undefined> {
  const { Attributes: row } = await deps.dynamo.send(new UpdateCommand({
    TableName: deps.metadataTable, Key: { imageUID: copied.imageUID, imageVersion: copied.imageVersion },
    UpdateExpression: 'SET #location = :location', ExpressionAttributeNames: { '#location': `location${copied.targetEnvironment}` }, ExpressionAttributeValues: { ':location': copied.target },
    ReturnValues: 'ALL_NEW',
  }));
  return row;
}

export type TransferOutcome = { kind: 'copied'; event: ImageCopied } | { kind: 'failed'; event: PipelineFailed };

/** The copy step of a transfer failed for good: the request ends with this reason. */
export function transferFailed(event: TransferRequested, reasonCode: string, message: string): TransferOutcome {
  return {
    kind: 'failed',
    event: { ...envelopeFor('transferFailed', event), requestId: event.requestId, flow: 'transfer', stage: 'copy', reasonCode, message, failedEventId: event.eventId, imageVersion: event.imageVersion, targetEnvironment: event.targetEnvironment },
  };
}

/**
 * Transfer steps c8bms18-c16bre06-e40 / -c16bre09-e50: copies
 * `{imageUID}-{imageVersion}.tar` from the source environment's bucket to the
 * target's, server side, and keeps the source (a copy, not a move). The
 * source is the copy that holds the bytes that were validated (see
 * validatedSource), and the checksum the server computes for the copy must
 * equal theirs. A redelivered request finds the verified copy in place and
 * only re-announces it, so no object is ever copied twice; an object in the
 * target that S3 does not show to be that copy (provenCopyOf) is copied over.
 */
export async function transferImage(event: TransferRequested, deps: TransferDeps, log: Logger): Promise<TransferOutcome> {
  const failed = (reasonCode: string, message: string): TransferOutcome => transferFailed(event, reasonCode, message);
  const sourceEnvironment = parseEnvironmentName(event.sourceEnvironment);
  const targetEnvironment = parseEnvironmentName(event.targetEnvironment);
  if (!sourceEnvironment || !targetEnvironment) return failed('UNKNOWN_ENVIRONMENT', `cannot transfer from ${event.sourceEnvironment} to ${event.targetEnvironment}`);
  const key = storedKeyOf(event.imageUID, event.imageVersion);
  const source = { bucket: deps.bucketOf(sourceEnvironment), key };
  const target = { bucket: deps.bucketOf(targetEnvironment), key };

  // All looked at together: on small images these round trips are a good part of the transfer.
  const looked = await orRefusal(Promise.all([storedSha256(deps.s3, source), storedSha256(deps.s3, target), storedRecordOf(deps, event.imageUID, event.imageVersion)]));
  if (isRefusal(looked)) return failed(looked.refused.reasonCode, `${source.bucket} or ${target.bucket}: ${looked.refused.message}`);
  const [latest, existing, record] = looked;
  const found = await validatedSource(deps.s3, source, latest, record, sourceEnvironment);
  if (found.kind === 'missing') return failed('SOURCE_OBJECT_MISSING', `${found.message}: the version is not stored in ${sourceEnvironment}`);
  if (found.kind === 'unverifiable') return failed('CHECKSUM_UNKNOWN', found.message);
  if (found.kind === 'changed') return failed('SOURCE_CHANGED', `${found.message}; nothing was copied`);
  const { object: original, sha256: expected } = found;
  if (found.replaced) log.warn({ bucket: source.bucket, key, latestVersionId: latest?.versionId ?? null, copiedVersionId: original.versionId }, 'the source was replaced after it was stored; copying the version that was validated');

  let versionId = existing?.versionId ?? null;
  // Kept only where S3 shows it holds the validated bytes (or it is this request's own copy, see provenCopyOf): a
  // same-size overwrite labelled `orbit-sha256` was adopted, recorded and promoted under the validated SHA-256.
  const proof = { sha256: expected, sizeBytes: original.size, recordedVersionId: record?.versionIn(targetEnvironment) ?? null, madeBy: { requestId: event.requestId, source: original } };
  if (!provenCopyOf(existing, proof)) {
    if (existing) log.warn({ bucket: target.bucket, key, versionId: existing.versionId, recordedVersionId: proof.recordedVersionId }, 'the target holds an object not shown to be the validated image; copying it again');
    // The source's own COPIED_FROM_VERSION (a copy of a copy) names another object's source: this copy names its own, or none.
    const { [COPIED_FROM_VERSION]: _copiedFrom, ...inherited } = original.metadata;
    let result: Awaited<ReturnType<typeof serverSideCopy>>;
    try {
      // The ETag of the HEAD whose checksum (or size) was checked: an unversioned source overwritten since is not copied under that checksum.
      result = await serverSideCopy(deps.s3, { ...source, versionId: original.versionId, etag: original.etag }, target, original.size, {
        ...inherited, 'orbit-sha256': expected, 'orbit-transfer-request-id': event.requestId, ...(original.versionId ? { [COPIED_FROM_VERSION]: original.versionId } : {}),
      }, deps.copyLimits, deps.signal);
    } catch (error) {
      if (error instanceof SourceChangedError) return failed('SOURCE_CHANGED', error.message);
      const refused = refusedByStore(error);
      if (refused) return failed(refused.reasonCode, `${target.bucket}: ${refused.message}`);
      throw error;
    }
    const mismatch = copyMismatch(result, { sha256: expected, sizeBytes: original.size });
    if (mismatch !== undefined) {
      await deps.s3.send(new DeleteObjectCommand({ Bucket: target.bucket, Key: key, ...(result.versionId ? { VersionId: result.versionId } : {}) }));
      return failed('CHECKSUM_MISMATCH', `the copy in ${target.bucket} has ${mismatch} (the source ${source.bucket}/${key})`);
    }
    versionId = result.versionId;
    log.info({ source: source.bucket, target: target.bucket, key, versionId, checkedBy: result.sha256 === null ? 'size' : 'sha256' }, 'image copied');
  }
  const location = { bucket: target.bucket, key, versionId };
  return {
    kind: 'copied',
    event: {
      ...envelopeFor('imageUploaded', event), requestId: event.requestId, imageVersion: event.imageVersion, sourceEnvironment, targetEnvironment,
      source: { bucket: source.bucket, key, versionId: original.versionId }, target: location, sha256: expected, sizeBytes: original.size, notes: event.notes,
    },
  };
}
