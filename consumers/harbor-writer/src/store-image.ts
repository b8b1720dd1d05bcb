import { DeleteObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { PutCommand, UpdateCommand, type DynamoDBDocumentClient, type UpdateCommandInput } from '@aws-sdk/lib-dynamodb';
import { createdTimestamps, envelopeFor, withCreatedTimestamps, type EventEnvelope, type Logger } from '@orbit/lib';
import type { ImageStored, ImageValidated, PipelineFailed } from '@orbit/schemas';
import { copyMismatch, holdsCopyOf, refusedByStore, serverSideCopy, storedSha256, type CopyLimits } from './copy.js';
import { pushValidatedImage, type RegistryPushing } from './registry-push/push-stored.js';

export interface StoreDeps {
  readonly s3: S3Client;
  readonly dynamo: DynamoDBDocumentClient;
  readonly developmentBucket: string;
  readonly metadataTable: string;
  readonly manifestTable: string;
  /** @default S3_COPY_LIMITS */
  readonly copyLimits?: CopyLimits;
  /** Where stored images are pushed for the charts to pull; none: not pushed. */
  readonly pushing?: RegistryPushing;
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
    imageVersion: event.metadata.imageVersion,
  };
  return { kind: 'failed', event: failure };
}

/**
 * C16: pushes a validated image to the registry its charts pull from (when
 * `pushing` is set), copies it from staging into the Development bucket
 * server side, verifies the SHA-256 the server computed against the one the
 * upload measured, records it in the Chart Store, then removes the staged
 * object. Every step can repeat: a redelivered event finds the pushed image
 * and the verified object in place and only re-writes the rows and the event.
 */
export async function storeValidatedImage(event: ImageValidated, deps: StoreDeps, log: Logger): Promise<StoreOutcome> {
  const target = { bucket: deps.developmentBucket, key: storedKeyOf(event.imageUID, event.metadata.imageVersion) };
  const stored = await storedSha256(deps.s3, target);
  if (stored && stored.metadata['orbit-request-id'] !== event.requestId) {
    return failed(event, 'ALREADY_STORED', `${target.key} already holds version ${event.metadata.imageVersion} from another request; versions are immutable`);
  }
  let versionId = stored?.versionId ?? null;
  const held = holdsCopyOf(stored, { sha256: event.sha256, sizeBytes: event.sizeBytes });
  const staged = held ? undefined : await storedSha256(deps.s3, event.staging);
  if (!held && !staged) return failed(event, 'STAGED_OBJECT_MISSING', `the staged upload ${event.staging.key} is gone (expired after a day?)`);
  // Pushed before it is stored: a registry that refuses the image fails the request with nothing in Development to clean up.
  if (deps.pushing) {
    const refused = await pushValidatedImage(event, held ? { ...target, versionId } : event.staging, { s3: deps.s3, pushing: deps.pushing }, log);
    if (refused) return failed(event, refused.reasonCode, refused.message);
  }
  if (staged) {
    let copy: Awaited<ReturnType<typeof serverSideCopy>>;
    try {
      copy = await serverSideCopy(deps.s3, event.staging, target, staged.size, {
        'orbit-request-id': event.requestId, 'orbit-image-uid': event.imageUID, 'orbit-sha256': event.sha256,
      }, deps.copyLimits);
    } catch (error) {
      const refused = refusedByStore(error);
      if (refused) return failed(event, refused.reasonCode, `${target.bucket}: ${refused.message}`);
      throw error;
    }
    const mismatch = copyMismatch(copy, { sha256: event.sha256, sizeBytes: event.sizeBytes });
    if (mismatch !== undefined) {
      await deps.s3.send(new DeleteObjectCommand({ Bucket: target.bucket, Key: target.key, ...(copy.versionId ? { VersionId: copy.versionId } : {}) }));
      return failed(event, 'CHECKSUM_MISMATCH', `the stored copy has ${mismatch} (the upload's)`);
    }
    versionId = copy.versionId;
    log.info({ bucket: target.bucket, key: target.key, versionId: copy.versionId }, 'image stored');
  }
  const rowKey = { imageUID: event.imageUID, imageVersion: event.metadata.imageVersion };
  // An update, not a put: a redelivery can come after a transfer recorded its location<Environment> in this row.
  await deps.dynamo.send(new UpdateCommand(keepingOtherAttributes(deps.metadataTable, rowKey, {
    imageName: event.metadata.imageName, username: event.actor.username, requestId: event.requestId,
    bucket: target.bucket, key: target.key, versionId, sha256: event.sha256, sizeBytes: event.sizeBytes,
    image: event.image,
  })));
  await deps.dynamo.send(new PutCommand({ TableName: deps.manifestTable, Item: withCreatedTimestamps({ ...rowKey, username: event.actor.username, requestId: event.requestId, metadata: event.metadata }) }));
  // The Development copy is verified and recorded: the staged bytes can go.
  await deps.s3.send(new DeleteObjectCommand({ Bucket: event.staging.bucket, Key: event.staging.key, ...(event.staging.versionId ? { VersionId: event.staging.versionId } : {}) }));
  const envelope: EventEnvelope = envelopeFor('imageStored', event);
  return {
    kind: 'stored',
    event: {
      ...envelope, requestId: event.requestId, metadata: event.metadata, image: event.image,
      stored: { bucket: target.bucket, key: target.key, versionId }, sha256: event.sha256, sizeBytes: event.sizeBytes, environment: 'Development',
    },
  };
}
