import {
  CreateBucketCommand, GetBucketCorsCommand, GetBucketEncryptionCommand, GetBucketLifecycleConfigurationCommand, GetBucketPolicyCommand,
  GetBucketVersioningCommand, HeadBucketCommand, PutBucketCorsCommand, PutBucketEncryptionCommand, PutBucketLifecycleConfigurationCommand,
  PutBucketPolicyCommand, PutBucketVersioningCommand, PutPublicAccessBlockCommand, type CORSRule, type LifecycleRule, type S3Client, type TransitionDefaultMinimumObjectSize,
} from '@aws-sdk/client-s3';
import type { BucketNames } from '@orbit/lib';
import type { ProvisionStep } from './report.js';

/**
 * Denies anonymous access outright, and any write that asks for another
 * encryption than S3's own (AES256) or KMS. Writes that ask for none are
 * encrypted by the bucket's default encryption, set below: denying them (a
 * Null condition, AWS's old example) also denied every UploadPart and
 * UploadPartCopy on AWS, which are authorized as s3:PutObject and never
 * carry the header, so no presigned multipart upload or large copy worked.
 */
export function bucketPolicy(bucket: string): string {
  const arn = `arn:aws:s3:::${bucket}`;
  return JSON.stringify({
    Version: '2012-10-17',
    Statement: [
      {
        Sid: 'DenyAnonymousAccess',
        Effect: 'Deny',
        Principal: '*',
        Action: 's3:*',
        Resource: [arn, `${arn}/*`],
        // Lower case: AWS matches condition keys case-insensitively, MinIO only in lower case.
        Condition: { StringEquals: { 'aws:principaltype': 'Anonymous' } },
      },
      {
        Sid: 'DenyOtherEncryption',
        Effect: 'Deny',
        Principal: '*',
        Action: 's3:PutObject',
        Resource: `${arn}/*`,
        Condition: {
          StringNotEquals: { 's3:x-amz-server-side-encryption': ['AES256', 'aws:kms'] },
          Null: { 's3:x-amz-server-side-encryption': 'false' },
        },
      },
    ],
  });
}

/** Staging objects are abandoned uploads after a day; so are half-done multipart uploads. */
export const STAGING_RULE = {
  ID: 'expire-staged-uploads',
  Status: 'Enabled' as const,
  Filter: { Prefix: '' },
  Expiration: { Days: 1 },
  NoncurrentVersionExpiration: { NoncurrentDays: 1 },
  AbortIncompleteMultipartUpload: { DaysAfterInitiation: 1 },
} satisfies LifecycleRule;

/** What a bucket holds, which decides its lifecycle rules (lifecycleRulesOf). */
export type BucketRole = 'staging' | 'archives' | 'charts';

/** Days a version overwritten or deleted is kept in the environments' archive buckets (staging's own rule keeps them a day). */
export const NONCURRENT_VERSION_DAYS = 30;

/**
 * Every bucket is versioned, so an object overwritten or deleted stays as a noncurrent version, billed, for ever.
 * Environment archives are never overwritten by design (a version is never replaced; a transfer re-driven over a
 * broken copy records the new one): only a hand delete or overwrite makes one, and it is kept long enough to be put
 * back. Not on the chart bucket: the chart-generator puts a chart key again when its rendering changed, and the
 * chart rows of the environments it was promoted to keep naming the version they were given.
 */
export const NONCURRENT_VERSIONS_RULE = {
  ID: 'expire-noncurrent-versions',
  Status: 'Enabled' as const,
  Filter: { Prefix: '' },
  NoncurrentVersionExpiration: { NoncurrentDays: NONCURRENT_VERSION_DAYS },
} satisfies LifecycleRule;

/**
 * A delete marker left alone once its object's versions have expired ("expired object delete marker") is removed:
 * otherwise each one stays and slows listings. A rule of its own, as S3 refuses ExpiredObjectDeleteMarker beside
 * Days in one Expiration.
 */
export const DELETE_MARKERS_RULE = {
  ID: 'remove-expired-delete-markers',
  Status: 'Enabled' as const,
  Filter: { Prefix: '' },
  Expiration: { ExpiredObjectDeleteMarker: true },
} satisfies LifecycleRule;

/**
 * The lifecycle rules Orbit puts on a bucket: staging's own expiry there (it expires noncurrent versions in a day), the
 * noncurrent-version one on the environments' archives, and delete-marker clean-up on all.
 */
export function lifecycleRulesOf(role: BucketRole): LifecycleRule[] {
  if (role === 'staging') return [STAGING_RULE, DELETE_MARKERS_RULE];
  return role === 'archives' ? [NONCURRENT_VERSIONS_RULE, DELETE_MARKERS_RULE] : [DELETE_MARKERS_RULE];
}

/** Every rule ID Orbit has put on a bucket: one of them a bucket's role no longer wants is taken off again. */
const ORBIT_RULE_IDS: ReadonlySet<string> = new Set([STAGING_RULE.ID, NONCURRENT_VERSIONS_RULE.ID, DELETE_MARKERS_RULE.ID]);

/** Orbit's rules on the bucket that its role does not want (the noncurrent expiry a chart bucket once got). */
export function retiredRules(rules: readonly LifecycleRule[], wanted: readonly LifecycleRule[]): LifecycleRule[] {
  const ids = new Set(wanted.map((rule) => rule.ID));
  return rules.filter((rule) => rule.ID !== undefined && ORBIT_RULE_IDS.has(rule.ID) && !ids.has(rule.ID));
}

/**
 * An operator's rule as it can be put back beside Orbit's: S3 takes a configuration of one style only, and a rule with
 * its Prefix on the rule itself (the older style, no Filter) put beside Orbit's Filter rules is refused ("Filter
 * element can only be used in Lifecycle V2"); the same prefix in a Filter means the same.
 */
function inFilterStyle(rule: LifecycleRule): LifecycleRule {
  if (rule.Filter !== undefined || rule.Prefix === undefined) return rule;
  const { Prefix, ...rest } = rule;
  return { ...rest, Filter: { Prefix } };
}

/** A rule as what it does, its multipart expiry apart: servers answer a rule back with fields left out or defaulted. */
function ruleEffect(rule: LifecycleRule): string {
  const filter = rule.Filter ?? {};
  const prefixOnly = filter.And === undefined && filter.Tag === undefined && filter.ObjectSizeGreaterThan === undefined && filter.ObjectSizeLessThan === undefined;
  return JSON.stringify({
    status: rule.Status,
    filter: prefixOnly ? filter.Prefix ?? rule.Prefix ?? '' : filter,
    days: rule.Expiration?.Days ?? null,
    date: rule.Expiration?.Date ?? null,
    deleteMarkers: rule.Expiration?.ExpiredObjectDeleteMarker === true,
    noncurrentDays: rule.NoncurrentVersionExpiration?.NoncurrentDays ?? null,
    newerNoncurrent: rule.NoncurrentVersionExpiration?.NewerNoncurrentVersions ?? null,
    transitions: (rule.Transitions ?? []).length + (rule.NoncurrentVersionTransitions ?? []).length,
  });
}

/**
 * What the rule of `wanted`'s ID is on the server: missing, or doing something else than `wanted` (its expiry changed
 * by hand, say: it was compared by ID alone, so such a change was never put right), or the same. MinIO takes a rule
 * and drops its AbortIncompleteMultipartUpload unsaid (minio/minio#19115, "working as intended"; its
 * GetBucketLifecycleConfiguration answers the rule without it): it purges incomplete multipart uploads itself, those
 * older than MINIO_API_STALE_UPLOADS_EXPIRY (24 h by default) every MINIO_API_STALE_UPLOADS_CLEANUP_INTERVAL (6 h). A
 * rule the same but for that action is 'same-without-abort', not put again: put again, it would be dropped again, at
 * every provision. One that names another number of days is put right.
 */
export function ruleState(rules: readonly LifecycleRule[], wanted: LifecycleRule): 'missing' | 'differs' | 'same' | 'same-without-abort' {
  const rule = rules.find((each) => each.ID === wanted.ID);
  if (rule === undefined) return 'missing';
  if (ruleEffect(rule) !== ruleEffect(wanted)) return 'differs';
  const wantedAbort = wanted.AbortIncompleteMultipartUpload?.DaysAfterInitiation;
  const abort = rule.AbortIncompleteMultipartUpload?.DaysAfterInitiation;
  if (abort === wantedAbort) return 'same';
  return abort === undefined ? 'same-without-abort' : 'differs';
}

/**
 * The configuration put when one of Orbit's rules is missing or differs: Orbit's rules, and every rule of another
 * ID as the server answered it (a bucket's lifecycle is put whole: an operator's own rule, a transition to a colder
 * class on the production bucket, say, is kept), in the Filter style Orbit's are in.
 */
export function lifecycleToPut(rules: readonly LifecycleRule[], wanted: readonly LifecycleRule[]): { Rules: LifecycleRule[] } {
  return { Rules: [...rules.filter((rule) => rule.ID === undefined || !ORBIT_RULE_IDS.has(rule.ID)).map(inFilterStyle), ...wanted] };
}

/** Said in the step's detail where the server keeps no multipart expiry, so nobody takes the rule for what removes them. */
export const NO_MULTIPART_EXPIRY = 'the server keeps no AbortIncompleteMultipartUpload (MinIO drops it: its own purge of stale multipart uploads, '
  + 'MINIO_API_STALE_UPLOADS_EXPIRY, 24 h by default, removes them)';

/** Seconds a browser may keep a bucket's answer to its preflight (the gateway's own preflights say the same). */
const CORS_MAX_AGE_SECONDS = 600;
/** The IDs of Orbit's CORS rules: a bucket's rules of other IDs (or none) are an operator's, and kept. */
export const STAGING_CORS_RULE_ID = 'orbit-browser-uploads';
export const DOWNLOAD_CORS_RULE_ID = 'orbit-browser-downloads';

/**
 * What a browser script on a listed origin (ORBIT_CORS_ORIGINS) does straight with S3: PUT a presigned upload or one
 * of its parts into staging, sending the encryption header the single PUT's URL is signed with (the presign answer's
 * `headers`), a Content-Type or Content-MD5 of its own, or a checksum of the part, and reading the part's ETag back.
 */
export function stagingCorsRule(origins: readonly string[]): CORSRule {
  return {
    ID: STAGING_CORS_RULE_ID,
    AllowedOrigins: [...origins],
    AllowedMethods: ['PUT'],
    AllowedHeaders: ['content-type', 'content-md5', 'x-amz-server-side-encryption', 'x-amz-checksum-*'],
    ExposeHeaders: ['ETag'],
    MaxAgeSeconds: CORS_MAX_AGE_SECONDS,
  };
}

/**
 * The same for an archive or chart link (a presigned GET, HEAD to size it first): a range to resume from, and the
 * answer's file name, range and tag readable (a browser shows a script none of them unless listed).
 */
export function downloadCorsRule(origins: readonly string[]): CORSRule {
  return {
    ID: DOWNLOAD_CORS_RULE_ID,
    AllowedOrigins: [...origins],
    AllowedMethods: ['GET', 'HEAD'],
    AllowedHeaders: ['range', 'if-match', 'if-none-match'],
    ExposeHeaders: ['Content-Disposition', 'Content-Range', 'Content-Length', 'ETag', 'Accept-Ranges'],
    MaxAgeSeconds: CORS_MAX_AGE_SECONDS,
  };
}

/** Orbit's CORS rule for a bucket: uploads into staging, downloads from the environments' archives and the charts. */
export function corsRuleOf(role: BucketRole, origins: readonly string[]): CORSRule {
  return role === 'staging' ? stagingCorsRule(origins) : downloadCorsRule(origins);
}

/** Every CORS rule ID Orbit puts on a bucket: one of them a bucket's role does not want is taken off. */
const ORBIT_CORS_RULE_IDS: ReadonlySet<string> = new Set([STAGING_CORS_RULE_ID, DOWNLOAD_CORS_RULE_ID]);

/** A CORS rule as what it allows: S3 reads methods as written, and origins and header names without regard to order or (headers) case. */
function corsEffect(rule: CORSRule): string {
  const set = (values: readonly string[] | undefined, lower = false) => [...new Set((values ?? []).map((value) => (lower ? value.toLowerCase() : value)))].sort();
  return JSON.stringify({
    origins: set(rule.AllowedOrigins), methods: set(rule.AllowedMethods), headers: set(rule.AllowedHeaders, true),
    exposed: set(rule.ExposeHeaders, true), maxAge: rule.MaxAgeSeconds ?? null,
  });
}

/**
 * The CORS configuration to put on a bucket holding `rules`, or undefined when Orbit's rule is there as `wanted` and
 * no other of Orbit's is. A bucket's CORS is put whole, so every rule of another ID (an operator's own) is kept as
 * the server answered it, Orbit's last.
 */
export function corsToPut(rules: readonly CORSRule[], wanted: CORSRule): { CORSRules: CORSRule[] } | undefined {
  const [orbit, ...more] = rules.filter((rule) => rule.ID !== undefined && ORBIT_CORS_RULE_IDS.has(rule.ID));
  if (orbit !== undefined && more.length === 0 && orbit.ID === wanted.ID && corsEffect(orbit) === corsEffect(wanted)) return undefined;
  return { CORSRules: [...rules.filter((rule) => rule.ID === undefined || !ORBIT_CORS_RULE_IDS.has(rule.ID)), wanted] };
}

/** Said in the step's detail where the server has no bucket CORS to set (MinIO: PutBucketCors answers NotImplemented). */
export const NO_BUCKET_CORS = 'the server does not implement bucket CORS (PutBucketCors answered NotImplemented; MinIO answers every origin itself)';

const UNSUPPORTED: ReadonlySet<string> = new Set(['NotImplemented', 'MalformedXML']);

function errorName(error: unknown): string {
  return typeof error === 'object' && error !== null ? String((error as { name?: unknown }).name) : '';
}

async function exists(client: S3Client, bucket: string): Promise<boolean> {
  try {
    await client.send(new HeadBucketCommand({ Bucket: bucket }));
    return true;
  } catch (error) {
    if (errorName(error) === 'NotFound' || errorName(error) === 'NoSuchBucket') return false;
    throw error;
  }
}

/**
 * Orbit's CORS rule for `origins`, put when it is missing or differs (ensureSettings' habit): 'cors' when it was put, a
 * note when the server has no bucket CORS. No origins: nothing is read or written, an earlier rule left as it is.
 */
async function ensureCors(client: S3Client, bucket: string, role: BucketRole, origins: readonly string[]): Promise<{ changed: boolean; note?: string }> {
  if (origins.length === 0) return { changed: false };
  const unsupported = (error: unknown): boolean => errorName(error) === 'NotImplemented';
  let rules: CORSRule[];
  try {
    rules = (await client.send(new GetBucketCorsCommand({ Bucket: bucket }))).CORSRules ?? [];
  } catch (error) {
    if (unsupported(error)) return { changed: false, note: NO_BUCKET_CORS };
    if (errorName(error) !== 'NoSuchCORSConfiguration') throw error;
    rules = [];
  }
  const configuration = corsToPut(rules, corsRuleOf(role, origins));
  if (configuration === undefined) return { changed: false };
  try {
    await client.send(new PutBucketCorsCommand({ Bucket: bucket, CORSConfiguration: configuration }));
  } catch (error) {
    // MinIO reads the (empty) configuration and refuses to write one: browsers there need none, as it allows every origin.
    if (unsupported(error)) return { changed: false, note: NO_BUCKET_CORS };
    throw error;
  }
  return { changed: true };
}

/** Each setting is read first and written only when it differs, so a second run changes nothing; notes say what a server would not keep. */
async function ensureSettings(client: S3Client, bucket: string, role: BucketRole, corsOrigins: readonly string[]): Promise<{ changed: string[]; notes: string[] }> {
  const changed: string[] = [];
  const notes: string[] = [];
  const versioning = await client.send(new GetBucketVersioningCommand({ Bucket: bucket }));
  if (versioning.Status !== 'Enabled') {
    await client.send(new PutBucketVersioningCommand({ Bucket: bucket, VersioningConfiguration: { Status: 'Enabled' } }));
    changed.push('versioning');
  }
  const encrypted = await client.send(new GetBucketEncryptionCommand({ Bucket: bucket })).then(
    (answer) => (answer.ServerSideEncryptionConfiguration?.Rules ?? []).length > 0,
    (error: unknown) => { if (errorName(error) === 'ServerSideEncryptionConfigurationNotFoundError') return false; throw error; },
  );
  if (!encrypted) {
    await client.send(new PutBucketEncryptionCommand({
      Bucket: bucket,
      ServerSideEncryptionConfiguration: { Rules: [{ ApplyServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }] },
    }));
    changed.push('encryption');
  }
  const policy = await client.send(new GetBucketPolicyCommand({ Bucket: bucket })).then(
    (answer) => answer.Policy,
    (error: unknown) => { if (errorName(error) === 'NoSuchBucketPolicy') return undefined; throw error; },
  );
  const wanted = bucketPolicy(bucket);
  if (!policy || !samePolicy(policy, wanted)) {
    await client.send(new PutBucketPolicyCommand({ Bucket: bucket, Policy: wanted }));
    changed.push('policy');
  }
  const lifecycle = (): Promise<{ rules: LifecycleRule[]; transitionDefault?: TransitionDefaultMinimumObjectSize }> => client.send(new GetBucketLifecycleConfigurationCommand({ Bucket: bucket })).then(
    (answer) => ({ rules: answer.Rules ?? [], ...(answer.TransitionDefaultMinimumObjectSize ? { transitionDefault: answer.TransitionDefaultMinimumObjectSize } : {}) }),
    (error: unknown) => { if (errorName(error) === 'NoSuchLifecycleConfiguration') return { rules: [] }; throw error; },
  );
  const wantedRules = lifecycleRulesOf(role);
  const statesOf = (rules: readonly LifecycleRule[]) => wantedRules.map((rule) => ({ rule, state: ruleState(rules, rule) }));
  const { rules, transitionDefault } = await lifecycle();
  let states = statesOf(rules);
  if (states.some(({ state }) => state === 'missing' || state === 'differs') || retiredRules(rules, wantedRules).length > 0) {
    await client.send(new PutBucketLifecycleConfigurationCommand({
      // The put replaces the whole configuration: its default for transitions (an operator's) goes back with it.
      Bucket: bucket, LifecycleConfiguration: lifecycleToPut(rules, wantedRules), ...(transitionDefault ? { TransitionDefaultMinimumObjectSize: transitionDefault } : {}),
    }));
    changed.push('expiry');
    // Read back: what the server kept of it is what the step reports.
    states = statesOf((await lifecycle()).rules);
  }
  if (states.some(({ state }) => state === 'same-without-abort')) notes.push(NO_MULTIPART_EXPIRY);
  const notKept = states.filter(({ state }) => state === 'missing' || state === 'differs').map(({ rule }) => rule.ID ?? '');
  if (notKept.length > 0) notes.push(`the server did not keep lifecycle ${notKept.length === 1 ? 'rule' : 'rules'} ${notKept.join(', ')} as put`);
  const cors = await ensureCors(client, bucket, role, corsOrigins);
  if (cors.changed) changed.push('cors');
  if (cors.note !== undefined) notes.push(cors.note);
  return { changed, notes };
}

type PolicyValue = string | number | boolean | readonly (string | number | boolean)[];

/** A list element as the set IAM reads it: one value or several, in any order. */
function valueSet(value: unknown, caseInsensitive = false): string[] {
  const values = (Array.isArray(value) ? value : value === undefined ? [] : [value]) as unknown[];
  return [...new Set(values.map((each) => (caseInsensitive ? String(each).toLowerCase() : String(each))))].sort();
}

/** `"*"` and `{"AWS": "*"}` are one principal; MinIO answers the first as `{"AWS": ["*"]}`. */
function principalOf(principal: unknown): Record<string, string[]> | undefined {
  if (principal === undefined) return undefined;
  if (typeof principal === 'string') return { AWS: valueSet(principal) };
  return Object.fromEntries(Object.entries(principal as Record<string, PolicyValue>).sort(([a], [b]) => a.localeCompare(b)).map(([kind, ids]) => [kind, valueSet(ids)]));
}

/** Condition keys are case-insensitive in IAM (MinIO reads them in lower case only), their values are not; operators are kept as written. */
function conditionOf(condition: unknown): Record<string, Record<string, string[]>> | undefined {
  if (condition === undefined) return undefined;
  const sorted = <T>(entries: [string, T][]): [string, T][] => entries.sort(([a], [b]) => a.localeCompare(b));
  return Object.fromEntries(sorted(Object.entries(condition as Record<string, Record<string, PolicyValue>>)).map(([operator, keys]) => [
    operator, Object.fromEntries(sorted(Object.entries(keys).map(([key, values]): [string, string[]] => [key.toLowerCase(), valueSet(values)]))),
  ]));
}

/**
 * A policy's statements as what they allow or deny, each one line, sorted:
 * servers rewrite a policy they store (MinIO turns one value into a list of
 * one, `"*"` into `{"AWS": ["*"]}`, `"false"` into `false`), and statement
 * order, list order and the case of action names and condition keys mean
 * nothing to IAM. Sid names a statement and grants nothing, so it is left
 * out; so is Version, which only changes how policy variables (none here)
 * are read.
 */
export function normalisedStatements(policy: string): string[] {
  const parsed = JSON.parse(policy) as { Statement?: unknown };
  const statements = (Array.isArray(parsed.Statement) ? parsed.Statement : parsed.Statement === undefined ? [] : [parsed.Statement]) as Record<string, unknown>[];
  return statements.map((statement) => JSON.stringify({
    Effect: statement['Effect'],
    Principal: principalOf(statement['Principal']),
    NotPrincipal: principalOf(statement['NotPrincipal']),
    // IAM action names are case-insensitive (s3:getobject is s3:GetObject); resources (ARNs) are not.
    Action: statement['Action'] === undefined ? undefined : valueSet(statement['Action'], true),
    NotAction: statement['NotAction'] === undefined ? undefined : valueSet(statement['NotAction'], true),
    Resource: statement['Resource'] === undefined ? undefined : valueSet(statement['Resource']),
    NotResource: statement['NotResource'] === undefined ? undefined : valueSet(statement['NotResource']),
    Condition: conditionOf(statement['Condition']),
  })).sort();
}

/** Whether a bucket's policy allows and denies what `wanted` does; one that cannot be read is not. */
export function samePolicy(actual: string, wanted: string): boolean {
  try {
    return JSON.stringify(normalisedStatements(actual)) === JSON.stringify(normalisedStatements(wanted));
  } catch {
    return false;
  }
}

function roleOf(bucket: string, buckets: BucketNames): BucketRole {
  if (bucket === buckets.staging) return 'staging';
  return bucket === buckets.charts ? 'charts' : 'archives';
}

/**
 * Orbit's buckets, each created or put right, with their lifecycle rules (lifecycleRulesOf): the staging bucket's own
 * expiry among them; and, given browser origins (ORBIT_CORS_ORIGINS), their CORS rule (corsRuleOf).
 */
export async function provisionBuckets(client: S3Client, buckets: BucketNames, corsOrigins: readonly string[] = []): Promise<ProvisionStep[]> {
  const steps: ProvisionStep[] = [];
  for (const bucket of [buckets.staging, buckets.development, buckets.testing, buckets.stagingEnvironment, buckets.production, buckets.charts]) {
    steps.push(await provisionBucket(client, bucket, roleOf(bucket, buckets), corsOrigins));
  }
  return steps;
}

/** One bucket: created when missing, and each of its settings (versioning, encryption, policy, expiry, CORS) put right when it differs. */
export async function provisionBucket(client: S3Client, bucket: string, role: BucketRole, corsOrigins: readonly string[] = []): Promise<ProvisionStep> {
  const found = await exists(client, bucket);
  if (!found) {
    await client.send(new CreateBucketCommand({ Bucket: bucket }));
    // Real S3 supports this and it is the strongest guard; MinIO does not
    // implement it (it answers NotImplemented or MalformedXML), so there the
    // bucket policy below is the guard.
    await client.send(new PutPublicAccessBlockCommand({
      Bucket: bucket,
      PublicAccessBlockConfiguration: { BlockPublicAcls: true, IgnorePublicAcls: true, BlockPublicPolicy: true, RestrictPublicBuckets: true },
    })).catch((error: unknown) => { if (!UNSUPPORTED.has(errorName(error))) throw error; });
  }
  const { changed, notes } = await ensureSettings(client, bucket, role, corsOrigins);
  const detail = [changed.join(', '), ...notes].filter(Boolean).join('; ');
  if (!found) return { kind: 'bucket', name: bucket, action: 'created', detail };
  if (changed.length > 0) return { kind: 'bucket', name: bucket, action: 'updated', detail };
  return { kind: 'bucket', name: bucket, action: 'found', ...(detail ? { detail } : {}) };
}
