import { createHash } from 'node:crypto';
import { isDeepStrictEqual } from 'node:util';
import type { S3Client } from '@aws-sdk/client-s3';
import { GetCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { createMysqlConnection, earlierOwnerPathsOf, envelopeFor, helmChartNameOf, OrbitError, parseEnvironmentName, takeNamedLock, type EnvironmentName } from '@orbit/lib';
import type { TransferRequested } from '@orbit/schemas';
import type { Pool, RowDataPacket, SslOptions } from 'mysql2/promise';
import pLimit from 'p-limit';
import { holdsValidated, storedSha256, unprovenBecause } from './copy.js';
import { storedRecordOf, validatedSource } from './validated-source.js';
import { storedKeyOf } from './store-image.js';

/** A transfer as ViewPort records it: succeeded, or not finished yet. */
export interface TransferRecord {
  readonly requestId: string;
  readonly imageUID: string;
  readonly imageVersion: string;
  readonly owner: string;
  /** The notes the request was made with (null: none, or a request recorded before notes were kept). */
  readonly notes: string | null;
  /**
   * Where it came from. transfersToCheck can only guess it, as the environment
   * before the target in today's chain (none for a target the chain no longer
   * holds); a finding carries the one the target's chart row recorded.
   */
  readonly source?: EnvironmentName;
  readonly target: EnvironmentName;
  /** For a transfer not finished yet: its status and the minutes since it last moved (or was re-driven). */
  readonly stuck?: { readonly status: string; readonly idleMinutes: number };
}

export interface TransferCheck {
  /** Where the transfer came from (sourceOf); undefined when nothing records it. */
  readonly source: EnvironmentName | undefined;
  readonly problems: readonly string[];
  /** False when what a re-drive would copy from is itself missing, or unknown: repeating the transfer cannot heal it. */
  readonly repairable: boolean;
}

export interface TransferFinding extends Omit<TransferCheck, 'source'> {
  /** The transfer, with the source it came from where that is known. */
  readonly transfer: TransferRecord;
}

/** A finding the same request again can heal: it knows where the transfer came from. */
export type RepairableFinding = TransferFinding & { readonly transfer: TransferRecord & { readonly source: EnvironmentName } };

export const isRepairable = (finding: TransferFinding): finding is RepairableFinding => finding.repairable && finding.transfer.source !== undefined;

export interface ReconcileDeps {
  readonly s3: S3Client;
  readonly dynamo: DynamoDBDocumentClient;
  /** The image metadata table: what was validated, and where each copy was made. */
  readonly metadataTable: string;
  bucketOf(environment: EnvironmentName): string;
  kustomizeTableOf(environment: EnvironmentName): string;
  /** The registry path each environment pulls from (ORBIT_IMAGE_REGISTRY, or its own from ORBIT_ENVIRONMENT_REGISTRIES). */
  registryOf(environment: EnvironmentName): string;
}

/**
 * Every succeeded transfer, and every unfinished one that has not moved (nor
 * been re-driven, see recordRedrives) for `stuckAfterMinutes` (a lost or dead
 * command, a service that gave up); only those of `imageUIDs` when any are
 * given. Into any environment, in the chain or no longer: a transfer made
 * before the chain changed is still checked.
 */
export async function transfersToCheck(pool: Pool, chain: readonly EnvironmentName[], stuckAfterMinutes = Number.POSITIVE_INFINITY, imageUIDs: readonly string[] = []): Promise<TransferRecord[]> {
  const stuckAfterSeconds = Number.isFinite(stuckAfterMinutes) ? Math.max(0, Math.round(stuckAfterMinutes * 60)) : null;
  // Claims made in one millisecond (a burst of promotions) come in request-id order, so a report reads the same twice.
  const [rows] = await pool.query<RowDataPacket[]>(
    `SELECT c.request_id, c.image_uid, c.image_version, c.target_env, r.user_login, r.notes, r.status, TIMESTAMPDIFF(SECOND, r.updated_at, UTC_TIMESTAMP(3)) AS idle_seconds
     FROM transfer_claims c JOIN viewport_requests r ON r.request_id = c.request_id
     WHERE (r.status = 'succeeded' OR (? AND r.status IN ('accepted', 'running') AND r.updated_at <= UTC_TIMESTAMP(3) - INTERVAL ? SECOND))
       AND (? OR c.image_uid IN (?))
     ORDER BY c.created_at, c.request_id`, [stuckAfterSeconds !== null, stuckAfterSeconds ?? 0, imageUIDs.length === 0, imageUIDs.length === 0 ? [''] : imageUIDs]);
  return rows.flatMap((row): TransferRecord[] => {
    const target = parseEnvironmentName(String(row['target_env']));
    if (!target) return [];
    const position = chain.indexOf(target);
    const source = position > 0 ? chain[position - 1] : undefined;
    const status = String(row['status']);
    return [{
      requestId: String(row['request_id']), imageUID: String(row['image_uid']), imageVersion: String(row['image_version']), owner: String(row['user_login']), notes: row['notes'] === null ? null : String(row['notes']),
      ...(source ? { source } : {}), target,
      ...(status === 'succeeded' ? {} : { stuck: { status, idleMinutes: Math.floor(Number(row['idle_seconds']) / 60) } }),
    }];
  });
}

/**
 * Stamps the request rows of the stuck transfers just re-driven, so the next
 * run leaves them alone for `--stuck-after` minutes. A transfer's row is not
 * touched again until it ends (the projector reads no ImageCopied), so one
 * waiting out a registry or S3 outage, as it is meant to, would otherwise be
 * re-driven by every run, each re-drive one more command queued behind it.
 * The row is where "stuck" is measured already, and a re-drive is a move of
 * the request (the claim row has no place for it, and a column of its own
 * would need a migration for what this time already says); the projector's
 * next event for it moves the time on as before, and a finished row is never
 * touched (its time is when it ended).
 */
export async function recordRedrives(pool: Pool, transfers: readonly TransferRecord[]): Promise<void> {
  const stuck = transfers.filter((transfer) => transfer.stuck).map((transfer) => transfer.requestId);
  if (stuck.length === 0) return;
  await pool.query(
    "UPDATE viewport_requests SET updated_at = GREATEST(updated_at, UTC_TIMESTAMP(3)) WHERE request_id IN (?) AND status IN ('accepted', 'running')", [stuck]);
}

/** The images of `imageUIDs` ViewPort has no entry for: a UID mistyped or copied short must not read as "0 need repair". */
export async function unknownImages(pool: Pool, imageUIDs: readonly string[]): Promise<string[]> {
  if (imageUIDs.length === 0) return [];
  const [rows] = await pool.query<RowDataPacket[]>('SELECT image_uid FROM wp_image_uid WHERE image_uid IN (?)', [imageUIDs]);
  const known = new Set(rows.map((row) => String(row['image_uid'])));
  return imageUIDs.filter((uid) => !known.has(uid));
}

/**
 * The fields promoteChart (chart-generator, promote.ts) writes for the target
 * environment; every other field of a promoted chart row is its source row's.
 */
const PER_ENVIRONMENT_FIELDS = new Set([
  'environment', 'manifests', 'image', 'imageSha256', 'promotedFrom', 'transferRequestId', 'createdTimestampUTC', 'createdTimestampUnix',
  // Where the environment pulls from, and the chart packaged for it: checked against the upload's row and the registry configuration instead.
  'imageReference', 'imageTag', 'chart', 'chartSha256',
]);

/**
 * A row promoted before chart rows recorded their owner path has none: it implies the path its version was pushed under,
 * which its source row, generated again since, now records: the top (null) or an earlier spelling (earlierOwnerPathsOf).
 * A promoted row carries no time of the version's storing that could say which.
 */
function ownerPathImplied(field: string, sourceRow: Record<string, unknown>, targetRow: Record<string, unknown>): boolean {
  const owner = typeof sourceRow['owner'] === 'string' ? sourceRow['owner'] : undefined;
  if (field !== 'ownerPath' || targetRow['ownerPath'] !== undefined || owner === undefined) return false;
  const recorded = sourceRow['ownerPath'];
  return (typeof recorded === 'string' || recorded === null) && earlierOwnerPathsOf(owner).includes(recorded);
}

/** Where a promoted chart row must point: the target copy, with the source's checksum, and whose manifests it must hold. */
export interface ExpectedChart {
  readonly source: EnvironmentName;
  readonly target: EnvironmentName;
  readonly sha256: string | null;
  readonly copy: { readonly bucket: string; readonly key: string; readonly versionId: string | null };
  /** The version's Development row: the chart every environment without a registry of its own serves. */
  readonly upload?: Record<string, unknown>;
  /** The registry path the target pulls from when it has one of its own (ORBIT_ENVIRONMENT_REGISTRIES); undefined when it pulls from the upload registry. */
  readonly ownRegistry?: string;
}

const describeLocation = (value: unknown): string => {
  const location = (value ?? {}) as Record<string, unknown>;
  return `${String(location['bucket'])}/${String(location['key'])}${location['versionId'] ? `@${String(location['versionId'])}` : ''}`;
};

/**
 * Why a promoted row's manifests are not the target environment's, as far as
 * the row shows: none at all, or objects labelled for another environment (a
 * row promoted before promotion rendered the target's overlay carries the
 * Development ones). Manifests kept in the chart bucket are taken as written.
 */
function manifestsProblem(targetRow: Record<string, unknown>, target: EnvironmentName): string | undefined {
  const field = (targetRow['manifests'] ?? {}) as { inline?: unknown; location?: unknown };
  if (field.location !== undefined && typeof field.inline !== 'string') return undefined;
  if (typeof field.inline !== 'string') return 'manifests are missing';
  let objects: unknown;
  try {
    objects = JSON.parse(field.inline);
  } catch {
    return 'manifests are not JSON';
  }
  if (!Array.isArray(objects) || objects.length === 0) return 'manifests are empty';
  const labelOf = (object: unknown): unknown => (object as { metadata?: { labels?: Record<string, unknown> } } | null)?.metadata?.labels?.['environment'];
  const stray = objects.find((object) => labelOf(object) !== target);
  return stray === undefined ? undefined : `manifests are ${String(labelOf(stray) ?? 'unlabelled')}'s, not ${target}'s`;
}

/**
 * How a target chart row differs from what promoting its source row gives:
 * the chart itself (any field copied from the source), its manifests (the
 * target's), or the image it deploys (the target copy, its version, its
 * checksum). Empty when it matches.
 */
export function chartRowDifferences(sourceRow: Record<string, unknown>, targetRow: Record<string, unknown>, expected: ExpectedChart): string[] {
  const differences = Object.keys(sourceRow)
    .filter((field) => !PER_ENVIRONMENT_FIELDS.has(field) && !isDeepStrictEqual(sourceRow[field], targetRow[field]) && !ownerPathImplied(field, sourceRow, targetRow))
    .map((field) => `${field} differs from the ${expected.source} row`);
  const image = (targetRow['image'] ?? {}) as Record<string, unknown>;
  const pointsAtCopy = image['bucket'] === expected.copy.bucket && image['key'] === expected.copy.key
    && (expected.copy.versionId === null || (image['versionId'] ?? null) === expected.copy.versionId);
  const manifests = manifestsProblem(targetRow, expected.target);
  if (manifests !== undefined) differences.push(manifests);
  if (!pointsAtCopy) differences.push(`image points at ${describeLocation(image)}, not the copy ${describeLocation(expected.copy)}`);
  if (expected.sha256 !== null && targetRow['imageSha256'] !== expected.sha256) {
    differences.push(`imageSha256 is ${String(targetRow['imageSha256'] ?? 'absent')}, the copy's ${expected.sha256}`);
  }
  return [...differences, ...registryDifferences(targetRow, expected)];
}

/**
 * Whether the row pulls from where its environment pulls now: a registry of
 * its own (a reference there, and a chart packaged for it), or the upload
 * registry (no reference, the upload's chart). Catches versions promoted
 * before the environment got its registry, or before it lost it.
 */
function registryDifferences(targetRow: Record<string, unknown>, expected: ExpectedChart): string[] {
  const pins = typeof targetRow['imageReference'] === 'string' ? targetRow['imageReference'] : undefined;
  const servesUploadChart = expected.upload !== undefined
    && isDeepStrictEqual(targetRow['chart'], expected.upload['chart']) && targetRow['chartSha256'] === expected.upload['chartSha256'];
  if (expected.ownRegistry !== undefined) {
    if (!pins?.startsWith(`${expected.ownRegistry}/`)) return [`pulls from ${pins ?? 'the upload registry'}, not ${expected.target}'s own registry ${expected.ownRegistry}`];
    return servesUploadChart ? [`serves the upload's chart, not one pulling from ${expected.ownRegistry}`] : [];
  }
  const differences = pins === undefined ? [] : [`pulls from ${pins}, but ${expected.target} pulls from the upload registry`];
  if (expected.upload !== undefined && !servesUploadChart) {
    differences.push(isDeepStrictEqual(targetRow['chart'], expected.upload['chart'])
      ? `chartSha256 is ${String(targetRow['chartSha256'] ?? 'absent')}, the version's chart's ${String(expected.upload['chartSha256'])}`
      : `serves ${targetRow['chart'] ? `chart ${describeLocation(targetRow['chart'])}` : 'no chart'}, not the version's ${describeLocation(expected.upload['chart'])}`);
  }
  return differences;
}

/**
 * Where a transfer came from: the environment its target's chart row was
 * promoted from (`promotedFrom`), else, for a row that is missing or older
 * than that field, the chain's guess. The chain may have changed since: a
 * Production reached from Testing stays Testing's twin after a Staging is
 * put between them.
 */
function sourceOf(transfer: TransferRecord, targetRow: Record<string, unknown> | undefined): EnvironmentName | undefined {
  const recorded = targetRow?.['promotedFrom'];
  return (typeof recorded === 'string' ? parseEnvironmentName(recorded) : undefined) ?? transfer.source;
}

/**
 * What is wrong with one transfer: unfinished for too long; or done, with the
 * target copy missing or differing from its source, or the target chart row
 * missing or differing from its source row. A done transfer whose source copy
 * or chart row is gone, or that nothing says the source of, is reported as
 * one a re-drive cannot repair.
 */
export async function checkTransfer(transfer: TransferRecord, deps: ReconcileDeps): Promise<TransferCheck> {
  const key = storedKeyOf(transfer.imageUID, transfer.imageVersion);
  const helmChartName = helmChartNameOf(transfer.imageUID, transfer.imageVersion);
  const chartRow = async (tableName: string): Promise<Record<string, unknown> | undefined> =>
    (await deps.dynamo.send(new GetCommand({ TableName: tableName, Key: { helmChartName }, ConsistentRead: true }))).Item;
  const targetTable = deps.kustomizeTableOf(transfer.target);
  const targetRow = await chartRow(targetTable);
  const sourceEnvironment = sourceOf(transfer, targetRow);
  const unknownSource = `nothing records where it came from (${transfer.target} has no environment before it in ORBIT_ENVIRONMENT_CHAIN${targetRow ? ', and its chart row names none in promotedFrom' : ''})`;
  if (transfer.stuck) {
    // Half done is what an unfinished transfer looks like; the re-drive brings it to an end either way (done, or failed with a reason).
    const stuck = `still ${transfer.stuck.status}, nothing moved for ${transfer.stuck.idleMinutes} min`;
    return sourceEnvironment ? { source: sourceEnvironment, problems: [stuck], repairable: true } : { source: undefined, problems: [`${stuck}; ${unknownSource}`], repairable: false };
  }
  if (!sourceEnvironment) {
    return { source: undefined, problems: [`${targetRow ? '' : `the chart ${helmChartName} is missing from ${targetTable}; `}${unknownSource}`], repairable: false };
  }
  const bucket = { source: deps.bucketOf(sourceEnvironment), target: deps.bucketOf(transfer.target) };
  const sourceTable = deps.kustomizeTableOf(sourceEnvironment);
  const [latestSource, target, sourceRow, record, developmentRow] = await Promise.all([
    storedSha256(deps.s3, { bucket: bucket.source, key }), storedSha256(deps.s3, { bucket: bucket.target, key }), chartRow(sourceTable),
    storedRecordOf(deps, transfer.imageUID, transfer.imageVersion),
    sourceEnvironment === 'Development' ? undefined : chartRow(deps.kustomizeTableOf('Development')),
  ]);
  // The twin a copy must match is the one a transfer would copy: the bytes that were validated (see validatedSource).
  const source = await validatedSource(deps.s3, { bucket: bucket.source, key }, latestSource, record, sourceEnvironment);
  const sourceSha = source.kind === 'found' ? source.sha256 : null;
  const problems: string[] = [];
  let repairable = true;
  if (source.kind !== 'found') {
    problems.push(`${source.message}: no source to copy from again`);
    repairable = false;
  }
  if (!sourceRow) {
    problems.push(`the chart ${helmChartName} is missing from ${sourceTable} as well: no source row to promote again`);
    repairable = false;
  }
  if (!target) problems.push(`${bucket.target}/${key} is missing`);
  else if (sourceSha !== null) {
    // Held to what S3 shows, as a transfer holds it (holdsValidated): a same-size overwrite labelled `orbit-sha256` with the
    // validated SHA-256 passed here, and once a re-drive had adopted it, nothing ever said it was not the image.
    const expected = { sha256: sourceSha, recordedVersionId: record?.versionIn(transfer.target) ?? null };
    if (!holdsValidated(target, expected)) problems.push(`${bucket.target}/${key} has ${unprovenBecause(target, expected)}, its ${sourceEnvironment} twin ${sourceSha}`);
  }
  if (!targetRow) problems.push(`the chart ${helmChartName} is missing from ${targetTable}`);
  else if (sourceRow && target) {
    const differences = chartRowDifferences(sourceRow, targetRow, {
      source: sourceEnvironment, target: transfer.target, sha256: sourceSha, copy: { bucket: bucket.target, key, versionId: target.versionId },
      ...uploadAndRegistry(sourceEnvironment, transfer.target, sourceRow, developmentRow, deps),
    });
    if (differences.length > 0) problems.push(`the chart ${helmChartName} in ${targetTable}: ${differences.join(', ')}`);
  }
  return { source: sourceEnvironment, problems, repairable };
}

/** What the registry check compares a target row with: the upload's row, and the target's own registry unless it shares the upload's. */
function uploadAndRegistry(
  source: EnvironmentName, target: EnvironmentName, sourceRow: Record<string, unknown>, developmentRow: Record<string, unknown> | undefined, deps: ReconcileDeps,
): Pick<ExpectedChart, 'upload' | 'ownRegistry'> {
  const upload = source === 'Development' ? sourceRow : developmentRow;
  const registry = deps.registryOf(target);
  return { ...(upload ? { upload } : {}), ...(registry === deps.registryOf('Development') ? {} : { ownRegistry: registry }) };
}

/** The command that re-drives a broken transfer: the same request again (its notes too), so every step repeats idempotently. */
export function redriveEvent(transfer: TransferRecord & { readonly source: EnvironmentName }): TransferRequested {
  return {
    ...envelopeFor('transferRequested', { correlationId: transfer.requestId, imageUID: transfer.imageUID, actor: { username: transfer.owner, firstName: null, lastName: null, email: null } }),
    requestId: transfer.requestId, imageVersion: transfer.imageVersion, sourceEnvironment: transfer.source, targetEnvironment: transfer.target,
    notes: transfer.notes,
  };
}

/** Transfers checked this many at a time: each check is a handful of round trips, and a history holds thousands. */
const CHECKS_IN_FLIGHT = 16;

export async function findBrokenTransfers(
  transfers: readonly TransferRecord[], deps: ReconcileDeps, onChecked?: (checked: number, broken: number) => void,
): Promise<TransferFinding[]> {
  const limit = pLimit(CHECKS_IN_FLIGHT);
  let done = 0;
  let broken = 0;
  const checked = await Promise.all(transfers.map((transfer) => limit(async (): Promise<TransferFinding> => {
    const { source, ...found } = await checkTransfer(transfer, deps);
    done += 1;
    if (found.problems.length > 0) broken += 1;
    onChecked?.(done, broken);
    return { transfer: { ...transfer, ...(source ? { source } : {}) }, ...found };
  })));
  return checked.filter((finding) => finding.problems.length > 0);
}

/** How often a long check says how far it is: a run over 86 000 transfers said nothing for over 15 minutes (found by a review). */
export const PROGRESS_EVERY_MS = 10_000;

/**
 * A progress line for `write` at most every `everyMs` (on a monotonic clock `now`), naming how many of `total` were
 * checked and how many need repair so far; the last one checked is never said here (the report says it).
 */
export function progressReporter(total: number, write: (line: string) => void, everyMs = PROGRESS_EVERY_MS, now: () => number = () => performance.now()): (checked: number, broken: number) => void {
  let lastAt = now();
  return (checked, broken) => {
    if (checked >= total || now() - lastAt < everyMs) return;
    lastAt = now();
    write(`checked ${checked} of ${total} transfers; ${broken} need repair so far\n`);
  };
}

/** MySQL lock names are at most 64 characters; database names can be as long on their own. */
export const reconcileLockName = (database: string): string => `orbit-reconcile-${createHash('sha256').update(database).digest('hex').slice(0, 40)}`;

/** Another transfers:reconcile (not a dry run) of the same database holds the lock: both would re-drive the same transfers. */
export class ReconcileRunningError extends OrbitError {
  constructor(database: string) {
    super('ORBIT_ERR_RECONCILE_RUNNING', `a transfers:reconcile of ${database} is already running; nothing was checked or re-driven by this one: run it again once that one has finished (a --dry-run may run beside it)`);
  }
}

/** The run's lock went with its connection (the server closed it, a KILL, a network cut): another run may be re-driving. */
export class ReconcileLockLostError extends OrbitError {
  constructor(database: string, cause?: unknown) {
    super('ORBIT_ERR_RECONCILE_LOCK_LOST', `transfers:reconcile of ${database} lost its lock (its MySQL connection was closed), so another run may be re-driving the same transfers; nothing was re-driven by this one: run it again`, cause === undefined ? {} : { cause });
  }
}

export interface ReconcileLock {
  /** Fails with ReconcileLockLostError unless the lock is still this run's. */
  assertHeld(): Promise<void>;
  release(): Promise<void>;
}

/**
 * The named lock a re-driving run holds for its whole length, on a connection of its own (as viewport:rebuild's):
 * a second run refuses at once with ReconcileRunningError; MySQL frees it if the process dies.
 */
export async function lockReconcile(mysqlUrl: string, ssl: SslOptions | undefined, database: string): Promise<ReconcileLock> {
  const lock = await takeNamedLock(await createMysqlConnection(mysqlUrl, ssl), reconcileLockName(database), () => new ReconcileRunningError(database));
  return {
    assertHeld: () => lock.assertHeld((cause) => new ReconcileLockLostError(database, cause)),
    release: () => lock.release(),
  };
}
