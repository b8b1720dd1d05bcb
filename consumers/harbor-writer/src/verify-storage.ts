/**
 * storage:verify: whether every image archive Orbit recorded (a version's
 * Development copy, and each `location<Environment>` a transfer made) is
 * still in S3 as recorded. transfers:reconcile only looks at transfers, and
 * downloads only fail once a version is gone: a version kept only in
 * Development, or one whose key was overwritten by hand (its recorded version
 * then noncurrent, deleted by the bucket's noncurrent-version rule days
 * later), was never looked at. Read-only: HEADs (a GET per object with `deep`)
 * and one lifecycle read per bucket.
 */
import { createHash } from 'node:crypto';
import { GetBucketLifecycleConfigurationCommand, GetObjectCommand, HeadObjectCommand, ListObjectVersionsCommand, type LifecycleRule, type S3Client } from '@aws-sdk/client-s3';
import { GetCommand, QueryCommand, ScanCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { ENVIRONMENT_NAMES, helmChartNameOf, type EnvironmentName } from '@orbit/lib';
import pLimit from 'p-limit';
import { knownSha256, recordedLocationOf, storedSha256, type RecordedLocation, type StoredObject } from './copy.js';

/** One archive as the image metadata table records it (or a version's packaged chart, as its kustomize row does), with what its bytes must be. */
export interface RecordedArchive {
  readonly kind: 'image' | 'chart';
  readonly imageUID: string;
  readonly imageVersion: string;
  readonly environment: EnvironmentName;
  readonly location: RecordedLocation;
  /** The validated SHA-256 (the row's `sha256`; a transfer copies exactly those bytes), null where the row has none. */
  readonly sha256: string | null;
  readonly sizeBytes: number | null;
}

/** The archives one metadata row records: its own (Development) location, and every `location<Environment>`. */
export function recordedArchivesOf(row: Record<string, unknown>): RecordedArchive[] {
  const { imageUID, imageVersion } = row;
  if (typeof imageUID !== 'string' || typeof imageVersion !== 'string') return [];
  const sha256 = typeof row['sha256'] === 'string' && row['sha256'] !== '' ? row['sha256'] : null;
  const sizeBytes = typeof row['sizeBytes'] === 'number' ? row['sizeBytes'] : null;
  return ENVIRONMENT_NAMES.flatMap((environment): RecordedArchive[] => {
    // A row without its own bucket and key is no stored version (nothing was copied in for it): nothing to verify.
    const location = recordedLocationOf(environment === 'Development' ? row : row[`location${environment}`]);
    return location ? [{ kind: 'image', imageUID, imageVersion, environment, location, sha256, sizeBytes }] : [];
  });
}

/** The packaged chart a kustomize row records (`chart`, `chartSha256`; chart-generator's storedChartOf), undefined for a row naming none. */
export function recordedChartOf(row: Record<string, unknown> | undefined, archive: RecordedArchive): RecordedArchive | undefined {
  const location = recordedLocationOf(row?.['chart']);
  const sha256 = row?.['chartSha256'];
  if (!location) return undefined;
  return { ...archive, kind: 'chart', location, sha256: typeof sha256 === 'string' && sha256 !== '' ? sha256 : null, sizeBytes: null };
}

/** What is at the recorded key now, beside the recorded version: another version, a delete marker, or the recorded one. */
export type CurrentAtKey =
  | { readonly kind: 'recorded' }
  | { readonly kind: 'other'; readonly versionId: string | null }
  | { readonly kind: 'deleted' };

/** When the recorded version stopped being current, and the days the bucket keeps a noncurrent version (null: not known). */
export interface NoncurrentClock {
  readonly since: Date | null;
  readonly keptDays: number | null | 'forever';
}

/** What a HEAD (and a deep read) of one recorded archive found. */
export interface ArchiveSighting {
  /** The recorded version (the current object where none is recorded); undefined when it is gone. */
  readonly object: StoredObject | undefined;
  /** S3 refused the recorded version id as none it could have issued (400): no such version can be there. */
  readonly versionRefused?: boolean;
  readonly current: CurrentAtKey;
  readonly clock?: NoncurrentClock;
  /** The SHA-256 and byte count of the bytes read, with `--deep`. */
  readonly read?: { readonly sha256: string; readonly sizeBytes: number };
}

export type ArchiveProblem =
  | { readonly kind: 'lost'; readonly versionRefused?: true }
  | { readonly kind: 'noncurrent'; readonly current: CurrentAtKey; readonly expiresInDays: number | null; readonly keptForever: boolean }
  | { readonly kind: 'size differs'; readonly sizeBytes: number; readonly expected: number; readonly by: 'head' | 'read' }
  | { readonly kind: 'checksum differs'; readonly sha256: string; readonly expected: string; readonly by: 'head' | 'read' };

export interface ArchiveVerdict {
  readonly archive: RecordedArchive;
  readonly problems: readonly ArchiveProblem[];
  /** How an archive found in place was checked: its SHA-256 (S3's, or the one written with it), its size alone, or neither being recorded. */
  readonly checkedBy: 'sha256' | 'size' | 'presence';
}

const DAY_MS = 24 * 60 * 60 * 1000;

/**
 * Whole days until S3 expires a version noncurrent since `since` under a `keptDays` rule: S3 counts from when it
 * became noncurrent and acts at the following midnight UTC, so this is at most a day early; 0 when due already.
 */
export function daysUntilExpiry(since: Date, keptDays: number, now: Date): number {
  const due = Date.UTC(since.getUTCFullYear(), since.getUTCMonth(), since.getUTCDate()) + (keptDays + 1) * DAY_MS;
  return Math.max(0, Math.ceil((due - now.getTime()) / DAY_MS));
}

/** The pure part of the check: what is wrong with one archive, given what S3 showed of it. */
export function classifyArchive(archive: RecordedArchive, sighting: ArchiveSighting, now: Date = new Date()): ArchiveVerdict {
  const { object } = sighting;
  if (object === undefined) return { archive, problems: [{ kind: 'lost', ...(sighting.versionRefused ? { versionRefused: true as const } : {}) }], checkedBy: 'presence' };
  const problems: ArchiveProblem[] = [];
  if (archive.location.versionId !== null && sighting.current.kind !== 'recorded') {
    const { since, keptDays } = sighting.clock ?? { since: null, keptDays: null };
    problems.push({
      kind: 'noncurrent', current: sighting.current, keptForever: keptDays === 'forever',
      expiresInDays: since !== null && typeof keptDays === 'number' ? daysUntilExpiry(since, keptDays, now) : null,
    });
  }
  const size = sighting.read?.sizeBytes ?? object.size;
  const by = sighting.read ? 'read' : 'head';
  if (archive.sizeBytes !== null && size !== archive.sizeBytes) problems.push({ kind: 'size differs', sizeBytes: size, expected: archive.sizeBytes, by });
  // What proves the bytes: a deep read's hash, or S3's own SHA-256. The orbit-sha256 metadata is a claim anyone who may
  // write the bucket can set (as transfers take it since 0455c09): one that differs is reported, one that agrees proves
  // nothing, so such an object counts as checked by size (a reread: it was counted as checked by SHA-256).
  const proven = sighting.read?.sha256 ?? object.sha256;
  const sha256 = proven ?? knownSha256(object);
  if (archive.sha256 !== null && sha256 !== null && sha256 !== archive.sha256) problems.push({ kind: 'checksum differs', sha256, expected: archive.sha256, by });
  const checkedBy = archive.sha256 !== null && proven !== null ? 'sha256' : archive.sizeBytes !== null ? 'size' : 'presence';
  return { archive, problems, checkedBy };
}

export const describeArchive = ({ kind, imageUID, imageVersion, environment, location }: RecordedArchive): string =>
  `${imageUID} ${imageVersion} ${environment}${kind === 'chart' ? ' chart' : ''} s3://${location.bucket}/${location.key}${location.versionId ? `@${location.versionId}` : ''}`;

/** One problem in words a person acts on. */
export function describeProblem(problem: ArchiveProblem): string {
  switch (problem.kind) {
    case 'lost':
      return `lost: the recorded object is gone${problem.versionRefused ? ' (S3 refuses its version id as none it issues)' : ''} (its download fails, though the version still shows ready)`;
    case 'noncurrent': {
      const current = problem.current.kind === 'deleted' ? 'the key was deleted (a delete marker is current)'
        : `another version${problem.current.kind === 'other' && problem.current.versionId ? ` (${problem.current.versionId})` : ''} is current at the key`;
      const when = problem.keptForever ? 'the bucket has no noncurrent-version rule, so it is kept until someone deletes it'
        : problem.expiresInDays === null ? "it will be deleted under the bucket's noncurrent-version rule"
          : problem.expiresInDays === 0 ? "the bucket's noncurrent-version rule deletes it at the next midnight UTC"
            : `the bucket's noncurrent-version rule deletes it in about ${problem.expiresInDays} day(s)`;
      return `noncurrent: ${current}; ${when}`;
    }
    case 'size differs':
      return `size differs: ${problem.sizeBytes} bytes${problem.by === 'read' ? ' read' : ''}, ${problem.expected} recorded`;
    case 'checksum differs':
      return `checksum differs: sha256 ${problem.sha256}${problem.by === 'read' ? ' of the bytes read' : ''}, ${problem.expected} recorded`;
  }
}

/** A verdict as one JSON object (`--json`): the archive, its state, and each problem's fields. */
export function verdictJson(verdict: ArchiveVerdict): string {
  const { archive } = verdict;
  return JSON.stringify({
    object: archive.kind, imageUID: archive.imageUID, imageVersion: archive.imageVersion, environment: archive.environment,
    bucket: archive.location.bucket, key: archive.location.key, versionId: archive.location.versionId,
    state: verdict.problems.length === 0 ? 'ok' : verdict.problems.map((problem) => problem.kind).join(', '),
    checkedBy: verdict.checkedBy, problems: verdict.problems.map((problem) => ({ ...problem, description: describeProblem(problem) })),
  });
}

export interface VerifyDeps {
  readonly s3: S3Client;
  readonly dynamo: DynamoDBDocumentClient;
  readonly metadataTable: string;
  /** The kustomize table of each environment: given, the chart each recorded copy's environment serves is verified too. */
  readonly kustomizeTableOf?: (environment: EnvironmentName) => string;
  /** Stream and hash every archive's recorded version too, instead of trusting what its HEAD says. */
  readonly deep?: boolean;
  readonly now?: () => Date;
}

/** The days a bucket keeps noncurrent versions of `key` (its shortest enabled rule that applies), 'forever' without one, null when unreadable. */
export function noncurrentDaysOf(rules: readonly LifecycleRule[], key: string): number | 'forever' | null {
  let days: number | 'forever' | null = 'forever';
  for (const rule of rules) {
    const kept = rule.NoncurrentVersionExpiration?.NoncurrentDays;
    if (rule.Status !== 'Enabled' || kept === undefined) continue;
    const filter = rule.Filter;
    // A rule narrowed by tags or sizes may or may not apply: not known without more reads than it is worth.
    if (filter?.Tag !== undefined || filter?.ObjectSizeGreaterThan !== undefined || filter?.ObjectSizeLessThan !== undefined || filter?.And !== undefined) {
      if (!key.startsWith(filter.And?.Prefix ?? '')) continue;
      if (days === 'forever') days = null;
      continue;
    }
    // A rule written with the old top-level Prefix (no Filter) is still applied by S3.
    if (!key.startsWith(filter?.Prefix ?? rule.Prefix ?? '')) continue;
    days = typeof days === 'number' ? Math.min(days, kept) : kept;
  }
  return days;
}

const notFound = (error: unknown): boolean => {
  const { name, $metadata } = error as { name?: string; $metadata?: { httpStatusCode?: number } };
  return name === 'NotFound' || name === 'NoSuchKey' || name === 'NoSuchVersion' || $metadata?.httpStatusCode === 404;
};

/** What is current at the key: none (nothing, or a delete marker), or the version a plain HEAD finds. */
async function currentAt(s3: S3Client, location: RecordedLocation): Promise<CurrentAtKey> {
  try {
    const head = await s3.send(new HeadObjectCommand({ Bucket: location.bucket, Key: location.key }));
    return head.VersionId === location.versionId ? { kind: 'recorded' } : { kind: 'other', versionId: head.VersionId ?? null };
  } catch (error) {
    if (notFound(error)) return { kind: 'deleted' };
    throw error;
  }
}

/** When the recorded version stopped being current: when the version (or delete marker) listed just after it at its key was written. */
async function noncurrentSince(s3: S3Client, location: RecordedLocation): Promise<Date | null> {
  let newer: Date | null = null;
  let keyMarker: string | undefined;
  let versionIdMarker: string | undefined;
  do {
    const page = await s3.send(new ListObjectVersionsCommand({ Bucket: location.bucket, Prefix: location.key, KeyMarker: keyMarker, VersionIdMarker: versionIdMarker }));
    // S3 lists a key's versions and delete markers newest first; the two lists interleave by time.
    const entries = [...(page.Versions ?? []), ...(page.DeleteMarkers ?? [])]
      .filter((entry) => entry.Key === location.key)
      .sort((a, b) => (b.LastModified?.getTime() ?? 0) - (a.LastModified?.getTime() ?? 0));
    for (const entry of entries) {
      if (entry.VersionId === location.versionId) return newer;
      newer = entry.LastModified ?? null;
    }
    // Keys listed under the prefix all sort after the key itself: a page ending on another key has listed all of its versions.
    if (!page.IsTruncated || page.NextKeyMarker !== location.key) break;
    keyMarker = page.NextKeyMarker;
    versionIdMarker = page.NextVersionIdMarker;
  } while (keyMarker !== undefined);
  return null;
}

/** SHA-256 and length of the recorded version's bytes, streamed (never held). */
async function readArchive(s3: S3Client, location: RecordedLocation): Promise<{ sha256: string; sizeBytes: number }> {
  const answer = await s3.send(new GetObjectCommand({ Bucket: location.bucket, Key: location.key, ...(location.versionId ? { VersionId: location.versionId } : {}) }));
  const hash = createHash('sha256');
  let sizeBytes = 0;
  for await (const chunk of answer.Body as AsyncIterable<Uint8Array>) {
    hash.update(chunk);
    sizeBytes += chunk.length;
  }
  return { sha256: hash.digest('hex'), sizeBytes };
}

/** Checks one archive against S3; `noncurrentRules` reads (once per bucket) the days its bucket keeps noncurrent versions. */
export async function verifyArchive(
  archive: RecordedArchive, deps: VerifyDeps, noncurrentRules: (bucket: string) => Promise<readonly LifecycleRule[] | null>,
): Promise<ArchiveVerdict> {
  const { location } = archive;
  let versionRefused = false;
  const object = await storedSha256(deps.s3, location).catch(async (error: unknown) => {
    if (notFound(error)) return undefined;
    // A version id S3 could never have issued (AWS: 400 InvalidArgument; MinIO: 400 to a HEAD) names nothing there, and
    // one such row must not stop the walk over all the others; but only when the same HEAD without it is answered, or a
    // store refusing the HEAD itself (a checksum header it does not know) would call every archive lost.
    if (location.versionId === null || (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode !== 400) throw error;
    await storedSha256(deps.s3, { bucket: location.bucket, key: location.key }).catch((plain: unknown) => {
      if (!notFound(plain)) throw error;
    });
    versionRefused = true;
    return undefined;
  });
  const now = deps.now?.() ?? new Date();
  if (object === undefined) return classifyArchive(archive, { object, current: { kind: 'recorded' }, ...(versionRefused ? { versionRefused } : {}) }, now);
  const current: CurrentAtKey = location.versionId === null ? { kind: 'recorded' } : await currentAt(deps.s3, location);
  let clock: NoncurrentClock | undefined;
  if (current.kind !== 'recorded') {
    const rules = await noncurrentRules(location.bucket);
    clock = { since: await noncurrentSince(deps.s3, location), keptDays: rules === null ? null : noncurrentDaysOf(rules, location.key) };
  }
  const read = deps.deep ? await readArchive(deps.s3, location) : undefined;
  return classifyArchive(archive, { object, current, ...(clock ? { clock } : {}), ...(read ? { read } : {}) }, now);
}

/** A bucket's lifecycle rules, null when they cannot be read (no permission): only the days left are then unknown. */
async function lifecycleRulesOf(s3: S3Client, bucket: string): Promise<readonly LifecycleRule[] | null> {
  try {
    return (await s3.send(new GetBucketLifecycleConfigurationCommand({ Bucket: bucket }))).Rules ?? [];
  } catch (error) {
    return (error as { name?: string }).name === 'NoSuchLifecycleConfiguration' ? [] : null;
  }
}

/** HEADs in flight: each archive is one to three small requests; a deep read streams a whole archive, so fewer. */
const CHECKS_IN_FLIGHT = 16;
const READS_IN_FLIGHT = 4;

/**
 * Every recorded archive (those of `imageUIDs` when any are given), a page of
 * the metadata table at a time: each page's verdicts go to `onVerdicts` in the
 * table's order before the next page is read, so memory stays one page's
 * whatever the table holds.
 */
export async function verifyStorage(deps: VerifyDeps, imageUIDs: readonly string[], onVerdicts: (verdicts: readonly ArchiveVerdict[]) => void): Promise<void> {
  const limit = pLimit(deps.deep ? READS_IN_FLIGHT : CHECKS_IN_FLIGHT);
  const rules = new Map<string, Promise<readonly LifecycleRule[] | null>>();
  const rulesOf = (bucket: string) => {
    const known = rules.get(bucket) ?? lifecycleRulesOf(deps.s3, bucket);
    rules.set(bucket, known);
    return known;
  };
  for (const uid of imageUIDs.length === 0 ? [undefined] : imageUIDs) {
    let start: Record<string, unknown> | undefined;
    do {
      const page = uid === undefined
        ? await deps.dynamo.send(new ScanCommand({ TableName: deps.metadataTable, ExclusiveStartKey: start, ConsistentRead: true }))
        : await deps.dynamo.send(new QueryCommand({
          TableName: deps.metadataTable, KeyConditionExpression: 'imageUID = :uid', ExpressionAttributeValues: { ':uid': uid }, ExclusiveStartKey: start, ConsistentRead: true,
        }));
      const archives = (page.Items ?? []).flatMap(recordedArchivesOf);
      const charts = await Promise.all(archives.map((archive) => limit(() => chartOf(archive, deps))));
      onVerdicts(await Promise.all([...archives, ...distinct(charts)].map((archive) => limit(() => verifyArchive(archive, deps, rulesOf)))));
      start = page.LastEvaluatedKey;
    } while (start !== undefined);
  }
}

/** The chart the archive's environment serves, from that environment's kustomize row of the version; undefined without one. */
async function chartOf(archive: RecordedArchive, deps: VerifyDeps): Promise<RecordedArchive | undefined> {
  if (!deps.kustomizeTableOf) return undefined;
  try {
    const { Item } = await deps.dynamo.send(new GetCommand({
      TableName: deps.kustomizeTableOf(archive.environment), Key: { helmChartName: helmChartNameOf(archive.imageUID, archive.imageVersion) }, ConsistentRead: true,
    }));
    return recordedChartOf(Item, archive);
  } catch (error) {
    // An environment no longer in the chain may have lost its table: its copies were checked, it has no chart to check.
    if ((error as { name?: string }).name === 'ResourceNotFoundException') return undefined;
    throw error;
  }
}

/** Each chart once: environments without a registry of their own serve the version's upload chart, the same object. */
function distinct(charts: ReadonlyArray<RecordedArchive | undefined>): RecordedArchive[] {
  const seen = new Set<string>();
  return charts.filter((chart): chart is RecordedArchive => {
    if (chart === undefined) return false;
    const at = `${chart.location.bucket}/${chart.location.key}@${chart.location.versionId ?? ''}`;
    if (seen.has(at)) return false;
    seen.add(at);
    return true;
  });
}

/** What a run counts: archives checked, those found as recorded, and each kind of problem. */
export class VerifyTally {
  checked = 0;
  charts = 0;
  ok = 0;
  bySizeOnly = 0;
  readonly images = new Set<string>();
  readonly problems: Record<ArchiveProblem['kind'], number> = { lost: 0, noncurrent: 0, 'size differs': 0, 'checksum differs': 0 };

  count(verdict: ArchiveVerdict): void {
    this.checked += 1;
    if (verdict.archive.kind === 'chart') this.charts += 1;
    this.images.add(verdict.archive.imageUID);
    if (verdict.problems.length === 0) this.ok += 1;
    if (verdict.problems.length === 0 && verdict.checkedBy !== 'sha256') this.bySizeOnly += 1;
    for (const problem of verdict.problems) this.problems[problem.kind] += 1;
  }

  get wrong(): number {
    return this.checked - this.ok;
  }

  summary(): string {
    const kinds = Object.entries(this.problems).map(([kind, count]) => `${count} ${kind}`).join(', ');
    return `checked ${this.checked - this.charts} recorded image archives and ${this.charts} charts; ${this.ok} ok${this.bySizeOnly > 0 ? ` (${this.bySizeOnly} by size or presence only: no SHA-256 recorded or given by S3)` : ''}, ${kinds}\n`;
  }
}
