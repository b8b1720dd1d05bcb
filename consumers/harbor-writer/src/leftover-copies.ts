import { DeleteObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { GetCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { ENVIRONMENT_NAMES, helmChartNameOf, type EnvironmentName } from '@orbit/lib';
import { DEAD_LETTERED } from '@orbit/schemas';
import type { Pool, RowDataPacket } from 'mysql2/promise';
import pLimit from 'p-limit';
import { recordedLocationOf, storedSha256, type RecordedLocation } from './copy.js';
import { storedKeyOf } from './store-image.js';

/**
 * Leftovers of failed transfers. A transfer whose chart step fails (CHART_NOT_FOUND, CHART_ROW,
 * REGISTRY_PUSH_REFUSED) after the harbor-writer copied the archive leaves that copy in the target
 * environment's bucket and `location<Environment>` in the image metadata row, while the API, the
 * archive download and the Helm index all say the version is not there. The environment buckets
 * have no expiry, so nothing else ever removes them.
 */

/** Where a version's image metadata row says it was copied into an environment other than Development. */
export interface RecordedCopy {
  readonly imageUID: string;
  readonly imageVersion: string;
  readonly environment: EnvironmentName;
  readonly location: RecordedLocation;
}

/** A recorded copy only a failed transfer made: removable. */
export interface LeftoverCopy extends RecordedCopy {
  /** Exactly the S3 version that is deleted: a copy without one recorded is never a leftover (a delete would hide the key's latest). */
  readonly location: RecordedCopy['location'] & { readonly versionId: string };
  /** The failed transfer into its environment that ViewPort holds. */
  readonly failedRequestId: string;
  /** The recorded S3 version is gone already: only the attribute is left to remove. */
  readonly objectGone: boolean;
}

/** A recorded copy that looks left over, but that this command does not remove on its own: a person looks. */
export interface QuestionableCopy extends RecordedCopy {
  readonly why: string;
}

export interface LeftoverFindings {
  readonly leftovers: readonly LeftoverCopy[];
  readonly questionable: readonly QuestionableCopy[];
}

/** One transfer_claims row of a version: the request that holds (or last held) a target, with ViewPort's status of it. */
export interface TransferClaim {
  readonly target: string;
  readonly requestId: string;
  /** null: the claim names a request ViewPort has no row of. */
  readonly status: string | null;
  readonly errorCode: string | null;
}

export interface LeftoverDeps {
  readonly s3: S3Client;
  readonly dynamo: DynamoDBDocumentClient;
  readonly metadataTable: string;
  bucketOf(environment: EnvironmentName): string;
  kustomizeTableOf(environment: EnvironmentName): string;
  readonly chain: readonly EnvironmentName[];
}

/** Transfers copy only into these; Development holds uploads, which this never touches. */
const TRANSFER_TARGETS = ENVIRONMENT_NAMES.filter((environment) => environment !== 'Development');

type Location = RecordedCopy['location'];

const sameObject = (a: Location, b: Location | undefined): boolean => b !== undefined && a.bucket === b.bucket && a.key === b.key && a.versionId === b.versionId;

/** A version of an image: a metadata row's key. */
export interface VersionKey {
  readonly imageUID: string;
  readonly imageVersion: string;
}

/**
 * Every `location<Environment>` a metadata row records, with a note when the very same object is also recorded as
 * another of the version's copies (its upload, or another environment's: environments sharing a bucket share the
 * object), which no cleanup may delete.
 */
export function recordedCopiesOf(row: Record<string, unknown>): (RecordedCopy & { readonly shared: boolean })[] {
  const upload = recordedLocationOf(row);
  const copies = TRANSFER_TARGETS.flatMap((environment) => {
    const location = recordedLocationOf(row[`location${environment}`]);
    return location ? [{ environment, location }] : [];
  });
  return copies.map(({ environment, location }) => ({
    imageUID: String(row['imageUID']), imageVersion: String(row['imageVersion']), environment, location,
    shared: sameObject(location, upload) || copies.some((other) => other.environment !== environment && sameObject(location, other.location)),
  }));
}

/** What recordedCopiesOf reads of a metadata row: its key, its upload's location and its copies', not the image summary. */
const COPY_ATTRIBUTES: Record<string, string> = { '#uid': 'imageUID', '#version': 'imageVersion', '#bucket': 'bucket', '#key': 'key', '#versionId': 'versionId' };
for (const environment of TRANSFER_TARGETS) COPY_ATTRIBUTES[`#${environment}`] = `location${environment}`;

/** The copies the metadata row of one version records (recordedCopiesOf); none when it has no row. */
export async function recordedCopies(dynamo: DynamoDBDocumentClient, table: string, version: VersionKey): Promise<(RecordedCopy & { readonly shared: boolean })[]> {
  const { Item: row } = await dynamo.send(new GetCommand({
    TableName: table, Key: { imageUID: version.imageUID, imageVersion: version.imageVersion }, ConsistentRead: true,
    ProjectionExpression: Object.keys(COPY_ATTRIBUTES).join(', '), ExpressionAttributeNames: COPY_ATTRIBUTES,
  }));
  return row ? recordedCopiesOf(row) : [];
}

/** Failed with a reason: a dead-lettered one may still finish, from its letter (`dlq:redrive`), and then needs its copy. */
const failedForGood = (claim: TransferClaim): boolean => claim.status === 'failed' && claim.errorCode !== DEAD_LETTERED;

/**
 * The failed transfer that makes a recorded copy (whose environment has no chart row of its version) a leftover,
 * or undefined when it is not one: the transfer into its environment ViewPort holds must have failed for good (a
 * claim is replaced only when its request failed, so it is the latest), and no transfer of the version into a later
 * environment (or one the chain no longer holds) may be done or under way: it may have read this copy as its source.
 * A copy ViewPort knows no transfer of is left alone: nothing says it failed (ViewPort rebuilding, or emptied).
 */
export function failedTransferOf(copy: Pick<RecordedCopy, 'environment'>, claims: readonly TransferClaim[], chain: readonly EnvironmentName[]): TransferClaim | undefined {
  const into = claims.find((claim) => claim.target === copy.environment);
  if (!into || !failedForGood(into)) return undefined;
  const position = chain.indexOf(copy.environment);
  const mayReadIt = (claim: TransferClaim): boolean => {
    const at = chain.indexOf(claim.target as EnvironmentName);
    return position === -1 || at === -1 || at > position;
  };
  return claims.some((claim) => claim !== into && !failedForGood(claim) && mayReadIt(claim)) ? undefined : into;
}

const claimOf = (row: RowDataPacket): TransferClaim => ({
  target: String(row['target_env']), requestId: String(row['request_id']),
  status: row['status'] === null ? null : String(row['status']), errorCode: row['error_code'] === null ? null : String(row['error_code']),
});

export async function claimsOf(pool: Pool, imageUID: string, imageVersion: string): Promise<TransferClaim[]> {
  const [rows] = await pool.query<RowDataPacket[]>(
    `SELECT c.target_env, c.request_id, r.status, r.error_code FROM transfer_claims c LEFT JOIN viewport_requests r ON r.request_id = c.request_id
     WHERE c.image_uid = ? AND c.image_version = ?`, [imageUID, imageVersion]);
  return rows.map(claimOf);
}

/** A version one of whose transfers failed for good, with every transfer claim of it (failedTransferOf weighs them all). */
export interface FailedVersion extends VersionKey {
  readonly claims: readonly TransferClaim[];
}

/**
 * The versions (of `imageUIDs` when any are given) a transfer of which ViewPort holds as failed for good, each with
 * all its claims, in one statement: only such a version can have a leftover, so only their metadata rows are read
 * (it scanned the whole table, then asked DynamoDB and MySQL again for each copy recorded).
 */
export async function versionsWithFailedTransfers(pool: Pool, imageUIDs: readonly string[] = []): Promise<FailedVersion[]> {
  const [rows] = await pool.query<RowDataPacket[]>(
    `SELECT c.image_uid, c.image_version, c.target_env, c.request_id, r.status, r.error_code
     FROM (SELECT DISTINCT f.image_uid, f.image_version FROM transfer_claims f JOIN viewport_requests fr ON fr.request_id = f.request_id
           WHERE fr.status = 'failed' AND NOT (fr.error_code <=> ?) AND (? OR f.image_uid IN (?))) v
     JOIN transfer_claims c ON c.image_uid = v.image_uid AND c.image_version = v.image_version
     LEFT JOIN viewport_requests r ON r.request_id = c.request_id
     ORDER BY c.image_uid, c.image_version, c.target_env`, [DEAD_LETTERED, imageUIDs.length === 0, imageUIDs.length === 0 ? [''] : imageUIDs]);
  const versions = new Map<string, { imageUID: string; imageVersion: string; claims: TransferClaim[] }>();
  for (const row of rows) {
    const imageUID = String(row['image_uid']);
    const imageVersion = String(row['image_version']);
    const id = `${imageUID} ${imageVersion}`;
    const version = versions.get(id) ?? { imageUID, imageVersion, claims: [] };
    version.claims.push(claimOf(row));
    versions.set(id, version);
  }
  return [...versions.values()];
}

async function requestState(pool: Pool, requestId: string): Promise<Pick<TransferClaim, 'status' | 'errorCode'>> {
  const [rows] = await pool.query<RowDataPacket[]>('SELECT status, error_code FROM viewport_requests WHERE request_id = ?', [requestId]);
  const row = rows[0];
  return { status: row ? String(row['status']) : null, errorCode: row?.['error_code'] == null ? null : String(row['error_code']) };
}

async function hasChartRow(copy: RecordedCopy, deps: LeftoverDeps): Promise<boolean> {
  const helmChartName = helmChartNameOf(copy.imageUID, copy.imageVersion);
  const row = await deps.dynamo.send(new GetCommand({ TableName: deps.kustomizeTableOf(copy.environment), Key: { helmChartName }, ConsistentRead: true, ProjectionExpression: 'helmChartName' }));
  return row.Item !== undefined;
}

/** Whether the copy is still only a failed transfer's: no chart row in its environment, and the same failed claim. */
async function stillLeftover(copy: RecordedCopy, failedRequestId: string, pool: Pool, deps: LeftoverDeps): Promise<boolean> {
  if (await hasChartRow(copy, deps)) return false;
  return failedTransferOf(copy, await claimsOf(pool, copy.imageUID, copy.imageVersion), deps.chain)?.requestId === failedRequestId;
}

const VERSIONS_IN_FLIGHT = 16;

/**
 * The recorded copies (of `imageUIDs` when any are given) that only a failed transfer made: ViewPort's transfer into
 * their environment failed for good (failedTransferOf), and no chart row of the version is in that environment's
 * kustomize table. Read from ViewPort's failed transfers (versionsWithFailedTransfers) to their versions' metadata rows;
 * `onFound` hears how many versions those are before any is read.
 * Those that fit but whose object is not plainly that transfer's are `questionable`: the object names another
 * transfer that did not fail (`orbit-transfer-request-id`), is recorded as another copy too, sits where its
 * environment's bucket is not, or has no S3 version recorded (deleting the key could remove another copy).
 */
export async function findLeftoverCopies(pool: Pool, deps: LeftoverDeps, imageUIDs: readonly string[] = [], onFound?: (versions: number) => void): Promise<LeftoverFindings> {
  const versions = await versionsWithFailedTransfers(pool, imageUIDs);
  onFound?.(versions.length);
  const limit = pLimit(VERSIONS_IN_FLIGHT);
  const leftovers: LeftoverCopy[] = [];
  const questionable: QuestionableCopy[] = [];
  const check = async ({ shared, ...copy }: RecordedCopy & { readonly shared: boolean }, claims: readonly TransferClaim[]): Promise<void> => {
    const failed = failedTransferOf(copy, claims, deps.chain);
    if (!failed || await hasChartRow(copy, deps)) return;
    const question = (why: string): void => { questionable.push({ ...copy, why: `transfer ${failed.requestId} into ${copy.environment} failed, but ${why}` }); };
    const { bucket, key, versionId } = copy.location;
    const expectedBucket = deps.bucketOf(copy.environment);
    if (shared) return question(`${bucket}/${key}${versionId ? `@${versionId}` : ''} is recorded as another of its copies too`);
    if (bucket !== expectedBucket || bucket === deps.bucketOf('Development') || key !== storedKeyOf(copy.imageUID, copy.imageVersion)) {
      return question(`the copy is recorded at ${bucket}/${key}, not ${expectedBucket}/${storedKeyOf(copy.imageUID, copy.imageVersion)}`);
    }
    if (versionId === null) return question(`no S3 version of ${bucket}/${key} is recorded: deleting the key could remove another copy`);
    const object = await storedSha256(deps.s3, copy.location);
    const madeBy = object?.metadata['orbit-transfer-request-id'];
    if (madeBy !== undefined && madeBy !== failed.requestId) {
      const state = await requestState(pool, madeBy);
      if (!failedForGood({ target: copy.environment, requestId: madeBy, ...state })) {
        return question(`${bucket}/${key}@${versionId} was copied by transfer ${madeBy}, which ${state.status === null ? 'ViewPort does not know' : `is ${state.status}${state.errorCode ? ` (${state.errorCode})` : ''}`}`);
      }
    }
    leftovers.push({ ...copy, location: { bucket, key, versionId }, failedRequestId: failed.requestId, objectGone: object === undefined });
  };
  await Promise.all(versions.map((version) => limit(async () => {
    for (const copy of await recordedCopies(deps.dynamo, deps.metadataTable, version)) await check(copy, version.claims);
  })));
  // A report reads the same twice.
  const order = (a: RecordedCopy, b: RecordedCopy): number => `${a.imageUID} ${a.imageVersion} ${a.environment}`.localeCompare(`${b.imageUID} ${b.imageVersion} ${b.environment}`);
  return { leftovers: leftovers.sort(order), questionable: questionable.sort(order) };
}

export interface RemovalOutcome {
  /** Copies deleted (or found gone) whose attribute was removed, or replaced meanwhile by a copy of a transfer that succeeded. */
  readonly removed: readonly LeftoverCopy[];
  /** Found in use again on the re-check (a transfer into their environment accepted since the scan): left alone. */
  readonly inUse: readonly LeftoverCopy[];
}

/**
 * Removes each leftover: first its object (exactly the recorded S3 version), then `location<Environment>`, only
 * while it still names that object (a transfer that succeeded meanwhile recorded its own copy: that stays). One at
 * a time, each re-checked right before: a transfer into its environment accepted since the scan keeps it.
 *
 * The window left: a transfer accepted after that re-check whose harbor-writer finds the copy (about to be deleted)
 * in place, keeps it instead of copying, and records it. Its chart row then points at a deleted version, and the
 * next transfers:reconcile finds that succeeded transfer's copy missing and re-drives it, which copies again.
 */
export async function removeLeftoverCopies(leftovers: readonly LeftoverCopy[], pool: Pool, deps: LeftoverDeps, beforeEach?: () => Promise<void>): Promise<RemovalOutcome> {
  const removed: LeftoverCopy[] = [];
  const inUse: LeftoverCopy[] = [];
  for (const copy of leftovers) {
    await beforeEach?.();
    if (!(await stillLeftover(copy, copy.failedRequestId, pool, deps))) {
      inUse.push(copy);
      continue;
    }
    const { bucket, key, versionId } = copy.location;
    if (!copy.objectGone) await deps.s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: key, VersionId: versionId }));
    const attribute = `location${copy.environment}`;
    try {
      await deps.dynamo.send(new UpdateCommand({
        TableName: deps.metadataTable, Key: { imageUID: copy.imageUID, imageVersion: copy.imageVersion },
        UpdateExpression: 'REMOVE #location',
        ConditionExpression: '#location.#bucket = :bucket AND #location.#key = :key AND #location.#versionId = :versionId',
        ExpressionAttributeNames: { '#location': attribute, '#bucket': 'bucket', '#key': 'key', '#versionId': 'versionId' },
        ExpressionAttributeValues: { ':bucket': bucket, ':key': key, ':versionId': versionId },
      }));
    } catch (error) {
      // It names another copy now (a transfer into the environment recorded its own since): that one stays.
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
    }
    removed.push(copy);
  }
  return { removed, inUse };
}

export const describeCopy = (copy: RecordedCopy): string =>
  `${copy.imageUID} ${copy.imageVersion} ${copy.environment}: ${copy.location.bucket}/${copy.location.key}${copy.location.versionId ? `@${copy.location.versionId}` : ''}`;
