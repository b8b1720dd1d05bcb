import { DeleteObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { GetCommand, PutCommand, UpdateCommand, type DynamoDBDocumentClient, type UpdateCommandInput } from '@aws-sdk/lib-dynamodb';
import { createdTimestamps, deleteVersionAndOlder, envelopeFor, type EventEnvelope, isStagedBy, type Logger, ownerPathOf, pushedOwnerPathOf, refusedByStore, withCreatedTimestamps } from '@orbit/lib';
import type { ImageStored, ImageValidated, PipelineFailed } from '@orbit/schemas';
import {
  COPIED_FROM_VERSION, copyMismatch, isRefusal, orRefusal, provenStoreCopyOf, recordedLocationOf, serverSideCopy, SourceChangedError, storedSha256, type CopyLimits, type ObjectLocation,
  type StoredObject,
} from './copy.js';
import { logFailure } from './failure-log.js';
import { sendValidatedImage, type RegistryPushing } from './registry-push/push-stored.js';

export interface StoreDeps {
  readonly s3: S3Client;
  readonly dynamo: DynamoDBDocumentClient;
  readonly developmentBucket: string;
  /** The upload staging bucket (ORBIT_BUCKET_STAGING): the only place a staged object may be read from and deleted. */
  readonly stagingBucket: string;
  readonly metadataTable: string;
  readonly manifestTable: string;
  /** @default S3_COPY_LIMITS */
  readonly copyLimits?: CopyLimits;
  /** Where stored images are pushed for the charts to pull; none: not pushed. */
  readonly pushing?: RegistryPushing;
  /** Aborted on shutdown (ConsumedMessage.signal): ends the server-side copy and the registry push, the steps that take minutes. */
  readonly signal?: AbortSignal;
}

export type StoreOutcome = { kind: 'stored'; event: ImageStored } | { kind: 'failed'; event: PipelineFailed };

/** `{imageUID}-{imageVersion}.tar`, the stored name of the design. */
export function storedKeyOf(imageUID: string, imageVersion: string): string {
  return `${imageUID}-${imageVersion}.tar`;
}

/**
 * The UpdateItem that sets `attributes` on the row at `key` and leaves every
 * other attribute as it is; the creation stamps keep the first write's time.
 */
function keepingOtherAttributes(table: string, key: Record<string, string>, attributes: Record<string, unknown>): UpdateCommandInput {
  const names: Record<string, string> = {};
  const values: Record<string, unknown> = {};
  const sets = Object.entries(attributes).map(([name, value], index) => {
    names[`#a${index}`] = name;
    values[`:a${index}`] = value;
    return `#a${index} = :a${index}`;
  });
  for (const [name, value] of Object.entries(createdTimestamps())) {
    names[`#${name}`] = name;
    values[`:${name}`] = value;
    sets.push(`#${name} = if_not_exists(#${name}, :${name})`);
  }
  return { TableName: table, Key: key, UpdateExpression: `SET ${sets.join(', ')}`, ExpressionAttributeNames: names, ExpressionAttributeValues: values };
}

function failed(event: ImageValidated, reasonCode: string, message: string): StoreOutcome {
  const failure: PipelineFailed = {
    ...envelopeFor('uploadFailed', event), requestId: event.requestId, flow: 'upload', stage: 'store', reasonCode, message, failedEventId: event.eventId,
    imageVersion: event.metadata.imageVersion, targetEnvironment: null,
  };
  return { kind: 'failed', event: failure };
}

type CopyOutcome = { readonly kind: 'copied'; readonly versionId: string | null } | { readonly kind: 'kept' } | { readonly kind: 'failed'; readonly outcome: StoreOutcome };

/** The server-side copy into Development, verified; a copy that differs is removed again. */
async function copyIntoDevelopment(event: ImageValidated, deps: StoreDeps, target: ObjectLocation, staged: StoredObject, log: Logger): Promise<CopyOutcome> {
  let copy: Awaited<ReturnType<typeof serverSideCopy>>;
  try {
    // A staging bucket without versioning (it has it locally, not necessarily on AWS) can take another PUT of the key meanwhile: the
    // ETag of the HEAD that measured it keeps those bytes from being stored as the validated upload, where only the size is checked.
    // The staged version it copies, named for keepsDevelopmentObject: how a redelivery that died before recording it knows its own copy.
    copy = await serverSideCopy(deps.s3, { ...event.staging, etag: staged.etag }, target, staged.size, {
      'orbit-request-id': event.requestId, 'orbit-image-uid': event.imageUID, 'orbit-sha256': event.sha256, ...(staged.versionId ? { [COPIED_FROM_VERSION]: staged.versionId } : {}),
    }, deps.copyLimits, deps.signal);
  } catch (error) {
    if (error instanceof SourceChangedError) {
      return { kind: 'failed', outcome: failed(event, 'CHECKSUM_MISMATCH', `the staged upload ${event.staging.key} was replaced while it was stored, so it is no longer the archive that was validated; nothing was stored`) };
    }
    const refused = refusedByStore(error);
    if (refused) return { kind: 'failed', outcome: failed(event, refused.reasonCode, `${target.bucket}: ${refused.message}`) };
    throw error;
  }
  const mismatch = copyMismatch(copy, { sha256: event.sha256, sizeBytes: event.sizeBytes });
  if (mismatch !== undefined) {
    await deps.s3.send(new DeleteObjectCommand({ Bucket: target.bucket, Key: target.key, ...(copy.versionId ? { VersionId: copy.versionId } : {}) }));
    return { kind: 'failed', outcome: failed(event, 'CHECKSUM_MISMATCH', `the stored copy has ${mismatch} (the upload's)`) };
  }
  // Checked by size alone where S3 computed no SHA-256 (a multipart copy, S3_CHECKSUMS=off, a store that ignores it): said, not hidden.
  log.info({ bucket: target.bucket, key: target.key, versionId: copy.versionId, checkedBy: copy.sha256 === null ? 'size' : 'sha256' }, 'image stored');
  return { kind: 'copied', versionId: copy.versionId };
}

/**
 * Whether the object at the Development key (`stored`, its latest version) is
 * kept for `event` instead of copied again from staging: its `orbit-sha256`
 * (and `orbit-request-id`) metadata is a claim anyone who may write the
 * bucket can make, so it must be shown to hold the validated bytes by S3's
 * own SHA-256, or be the version the metadata row records for this request
 * (`recordedVersionId`), or be this request's own copy of the `staged`
 * version that died before it was recorded (provenStoreCopyOf).
 */
export function keepsDevelopmentObject(
  stored: StoredObject | undefined, event: Pick<ImageValidated, 'requestId' | 'sha256' | 'sizeBytes'>, recordedVersionId: string | null, staged?: StoredObject,
): boolean {
  return provenStoreCopyOf(stored, {
    sha256: event.sha256, sizeBytes: event.sizeBytes, recordedVersionId,
    ...(staged ? { madeBy: { requestId: event.requestId, source: { versionId: staged.versionId, etag: staged.etag } } } : {}),
  });
}

/**
 * C16: copies a validated image from staging into the Development bucket
 * server side and verifies the SHA-256 the server computed against the one
 * the upload measured; meanwhile (when `pushing` is set) sends its blobs to
 * the registry its charts pull from, and once the copy is verified puts its
 * manifest there, which makes it pullable. Then records it in the Chart Store
 * and removes the staged object. A registry that refuses the image fails the
 * request and takes the Development copy away again, so nothing of it stays
 * stored. Every step can repeat: a redelivered event finds the pushed image
 * and the verified object in place and only re-writes the rows and the event.
 */
export async function storeValidatedImage(event: ImageValidated, deps: StoreDeps, log: Logger): Promise<StoreOutcome> {
  const outcome = await storeImage(event, deps, log);
  // Found silent: a request's log ended at the validator's "upload validated".
  if (outcome.kind === 'failed') logFailure(log, outcome.event, 'upload failed at the store stage');
  return outcome;
}

async function storeImage(event: ImageValidated, deps: StoreDeps, log: Logger): Promise<StoreOutcome> {
  // The staged object is copied, pushed and then deleted: an event naming another owner's upload or a stored image must not reach any of that.
  if (!isStagedBy(event.staging, event.actor.username, deps.stagingBucket)) {
    return failed(event, 'STAGING_NOT_OWNED', `s3://${event.staging.bucket}/${event.staging.key} is not an object ${event.actor.username} staged; staged uploads live under uploads/<owner>/ in the staging bucket ${deps.stagingBucket}, so it was left untouched`);
  }
  const target = { bucket: deps.developmentBucket, key: storedKeyOf(event.imageUID, event.metadata.imageVersion) };
  const stored = await orRefusal(storedSha256(deps.s3, target));
  if (isRefusal(stored)) return failed(event, stored.refused.reasonCode, `${target.bucket}: ${stored.refused.message}`);
  if (stored && stored.metadata['orbit-request-id'] !== event.requestId) {
    return failed(event, 'ALREADY_STORED', `${target.key} already holds version ${event.metadata.imageVersion} from another request; versions are immutable`);
  }
  let versionId = stored?.versionId ?? null;
  const rowKey = { imageUID: event.imageUID, imageVersion: event.metadata.imageVersion };
  // A redelivery of a version stored before owner paths were 16 hex keeps the path it was pushed under (and that its
  // charts, overlays and transfers pin), the top included; a first delivery, or one whose row was never written, gets the owner's path of today.
  const row = stored ? (await deps.dynamo.send(new GetCommand({ TableName: deps.metadataTable, Key: rowKey, ConsistentRead: true }))).Item : undefined;
  const ownerPath = row === undefined ? ownerPathOf(event.actor.username) : pushedOwnerPathOf({ ownerPath: row['ownerPath'], owner: event.actor.username, createdTimestampUTC: row['createdTimestampUTC'] });
  // Read from the row's time, not recorded: not written down either, so images:push still looks at every earlier path.
  const ownerPathGuessed = row !== undefined && row['ownerPath'] === undefined;
  // The version this request's own store wrote and checked, where the row records one.
  const recordedRow = row?.['requestId'] === event.requestId ? recordedLocationOf(row) : undefined;
  const recordedVersionId = recordedRow?.bucket === target.bucket && recordedRow.key === target.key ? recordedRow.versionId : null;
  // Found by a data-integrity review: another version at the key claiming this request and the validated SHA-256 in
  // its metadata was kept, and its version recorded beside that SHA-256. Only what S3 shows counts (keepsDevelopmentObject).
  let held = keepsDevelopmentObject(stored, event, recordedVersionId);
  const staged = held ? undefined : await orRefusal(storedSha256(deps.s3, event.staging));
  if (isRefusal(staged)) return failed(event, staged.refused.reasonCode, `${event.staging.bucket}: ${staged.refused.message}`);
  if (staged) held = keepsDevelopmentObject(stored, event, recordedVersionId, staged);
  if (!held && !staged && recordedVersionId !== null && stored?.versionId !== recordedVersionId) {
    // The staged upload is deleted only once its copy was recorded: the recorded version, if S3 still shows it holds the
    // bytes, stays the stored image (recorded again as it is), whatever was put over it since.
    const recordedObject = await orRefusal(storedSha256(deps.s3, { ...target, versionId: recordedVersionId }));
    if (isRefusal(recordedObject)) return failed(event, recordedObject.refused.reasonCode, `${target.bucket}: ${recordedObject.refused.message}`);
    held = keepsDevelopmentObject(recordedObject, event, recordedVersionId);
    if (held) {
      log.warn({ bucket: target.bucket, key: target.key, versionId: stored?.versionId ?? null, recordedVersionId }, 'the Development key holds an object not shown to be the validated image; keeping the version recorded');
      versionId = recordedVersionId;
    }
  }
  if (!held && !staged) return failed(event, 'STAGED_OBJECT_MISSING', `the staged upload ${event.staging.key} is gone (expired after a day?)`);
  if (!held && stored) log.warn({ bucket: target.bucket, key: target.key, versionId: stored.versionId, recordedVersionId }, 'the Development key holds an object not shown to be the validated image; copying it again from staging');
  // The blobs travel while S3 copies: both read the staged upload, neither waits for the other.
  const [sending, copying] = await Promise.allSettled([
    deps.pushing ? sendValidatedImage(event, held ? { ...target, versionId } : event.staging, { s3: deps.s3, pushing: deps.pushing, signal: deps.signal, ownerPath }, log) : undefined,
    !held && staged ? copyIntoDevelopment(event, deps, target, staged, log) : ({ kind: 'kept' } as const),
  ]);
  if (copying.status === 'rejected') throw copying.reason;
  if (copying.value.kind === 'failed') return copying.value.outcome;
  if (copying.value.kind === 'copied') versionId = copying.value.versionId;
  // Retried later (the registry away): the verified copy stays, and is kept as it is then.
  if (sending.status === 'rejected') throw sending.reason;
  const sent = sending.value;
  const pushed = sent === undefined ? undefined : sent.kind === 'refused' ? sent : await sent.commit();
  if (pushed?.kind === 'refused') {
    // The copy goes again unless an earlier delivery recorded it as stored: a redelivery must never take away a stored image.
    const recorded = copying.value.kind === 'kept' && (await deps.dynamo.send(new GetCommand({ TableName: deps.metadataTable, Key: rowKey, ConsistentRead: true }))).Item?.['requestId'] === event.requestId;
    if (!recorded) await deps.s3.send(new DeleteObjectCommand({ Bucket: target.bucket, Key: target.key, ...(versionId ? { VersionId: versionId } : {}) }));
    return failed(event, pushed.refusal.reasonCode, pushed.refusal.message);
  }
  // An update, not a put: a redelivery can come after a transfer recorded its location<Environment> in this row.
  await deps.dynamo.send(new UpdateCommand(keepingOtherAttributes(deps.metadataTable, rowKey, {
    // The owner path it was pushed under (null: the top), so later pushes of this version (transfers, images:push) need not infer it.
    imageName: event.metadata.imageName, username: event.actor.username, ...(ownerPathGuessed ? {} : { ownerPath }), requestId: event.requestId,
    bucket: target.bucket, key: target.key, versionId, sha256: event.sha256, sizeBytes: event.sizeBytes,
    image: event.image,
  })));
  await deps.dynamo.send(new PutCommand({ TableName: deps.manifestTable, Item: withCreatedTimestamps({ ...rowKey, username: event.actor.username, requestId: event.requestId, metadata: event.metadata }) }));
  // The Development copy is verified and recorded: the staged bytes can go, with the versions before them (a presigned
  // single PUT's URL sent again left older ones, current again once the validated one alone was deleted).
  await deleteVersionAndOlder(deps.s3, event.staging.bucket, event.staging.key, event.staging.versionId);
  const envelope: EventEnvelope = envelopeFor('imageStored', event);
  return {
    kind: 'stored',
    event: {
      ...envelope, requestId: event.requestId, metadata: event.metadata, image: event.image,
      stored: { bucket: target.bucket, key: target.key, versionId }, sha256: event.sha256, sizeBytes: event.sizeBytes, environment: 'Development',
      imageReference: pushed?.result.reference ?? null, imageTag: pushed?.result.tagReference ?? null,
      pulledFrom: event.pulledFrom ?? null,
      // Passed on, not stamped: a re-run of this request (a crash, a redelivery, a re-drive) stores it under a later
      // occurredAt, which must not make it a newer upload than one accepted after it.
      requestedAt: event.requestedAt ?? null,
    },
  };
}
