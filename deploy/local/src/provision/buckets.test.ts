import {
  GetBucketCorsCommand, GetBucketLifecycleConfigurationCommand, GetBucketPolicyCommand, PutBucketCorsCommand, PutBucketLifecycleConfigurationCommand,
  type CORSRule, type LifecycleRule, type S3Client,
} from '@aws-sdk/client-s3';
import { readProvisionConfig } from './index.js';
import { describe, expect, it } from 'vitest';
import {
  bucketPolicy, corsRuleOf, corsToPut, DELETE_MARKERS_RULE, downloadCorsRule, lifecycleRulesOf, lifecycleToPut, NO_BUCKET_CORS, NO_MULTIPART_EXPIRY, NONCURRENT_VERSIONS_RULE, normalisedStatements,
  provisionBucket, provisionBuckets, retiredRules, ruleState, samePolicy, STAGING_RULE, stagingCorsRule,
} from './buckets.js';

interface Statement {
  Sid?: string;
  Effect: string;
  Principal?: unknown;
  Action?: unknown;
  Resource?: unknown;
  Condition?: Record<string, Record<string, unknown>>;
}

const wanted = bucketPolicy('b');
const statementsOf = (policy: string): Statement[] => (JSON.parse(policy) as { Statement: Statement[] }).Statement;
const withStatements = (statements: Statement[]): string => JSON.stringify({ Version: '2012-10-17', Statement: statements });
const [anonymous, encryption] = statementsOf(wanted) as [Statement, Statement];

describe('samePolicy', () => {
  it('takes the policy as MinIO answers it back (lists of one, {"AWS": ["*"]}, false for "false", keys reordered) for the same policy', () => {
    // What MinIO's GetBucketPolicy answered for bucketPolicy('b'), byte for byte but the bucket.
    const stored = '{"Version":"2012-10-17","Statement":[{"Sid":"DenyAnonymousAccess","Effect":"Deny","Principal":{"AWS":["*"]},"Action":["s3:*"],"Resource":["arn:aws:s3:::b","arn:aws:s3:::b/*"],"Condition":{"StringEquals":{"aws:principaltype":["Anonymous"]}}},'
      + '{"Sid":"DenyOtherEncryption","Effect":"Deny","Principal":{"AWS":["*"]},"Action":["s3:PutObject"],"Resource":["arn:aws:s3:::b/*"],"Condition":{"Null":{"s3:x-amz-server-side-encryption":[false]},"StringNotEquals":{"s3:x-amz-server-side-encryption":["AES256","aws:kms"]}}}]}';
    expect(samePolicy(stored, wanted)).toBe(true);
  });

  it('reads statement order, value order, action case and condition-key case as IAM does: meaningless', () => {
    const reordered = withStatements([
      { ...encryption, Action: ['S3:PUTOBJECT'], Condition: { StringNotEquals: { 'S3:X-Amz-Server-Side-Encryption': ['aws:kms', 'AES256'] }, Null: { 's3:x-amz-server-side-encryption': 'false' } } },
      { ...anonymous, Resource: [...(anonymous.Resource as string[])].reverse(), Sid: 'RenamedOnly' },
    ]);
    expect(samePolicy(reordered, wanted)).toBe(true);
  });

  it('sees a changed condition under the same Sid and Effect (it compared only those, so the change never reached a bucket)', () => {
    const older = withStatements([anonymous, { ...encryption, Condition: { StringNotEquals: { 's3:x-amz-server-side-encryption': 'AES256' } } }]);
    expect(samePolicy(older, wanted)).toBe(false);
  });

  it('sees every other part of a statement change: condition values (case and all), principal, action, resource, effect', () => {
    const changed = (statement: Statement): string => withStatements([anonymous, statement]);
    expect(samePolicy(changed({ ...encryption, Condition: { ...encryption.Condition, StringNotEquals: { 's3:x-amz-server-side-encryption': ['aes256', 'aws:kms'] } } }), wanted)).toBe(false);
    expect(samePolicy(changed({ ...encryption, Principal: { AWS: ['arn:aws:iam::123456789012:root'] } }), wanted)).toBe(false);
    expect(samePolicy(changed({ ...encryption, Action: ['s3:PutObject', 's3:PutObjectAcl'] }), wanted)).toBe(false);
    expect(samePolicy(changed({ ...encryption, Resource: 'arn:aws:s3:::b/uploads/*' }), wanted)).toBe(false);
    expect(samePolicy(changed({ ...encryption, Effect: 'Allow' }), wanted)).toBe(false);
    expect(samePolicy(withStatements([anonymous]), wanted)).toBe(false);
  });

  it('takes a policy it cannot read as different, so provisioning writes its own', () => {
    expect(samePolicy('not json', wanted)).toBe(false);
  });

  it('normalises one statement to one sorted, comparable line', () => {
    expect(normalisedStatements(withStatements([{ Effect: 'Deny', Principal: '*', Action: 'S3:GetObject', Resource: 'arn:aws:s3:::b/*', Condition: { Bool: { 'AWS:SecureTransport': false } } }]))).toEqual([
      JSON.stringify({ Effect: 'Deny', Principal: { AWS: ['*'] }, Action: ['s3:getobject'], Resource: ['arn:aws:s3:::b/*'], Condition: { Bool: { 'aws:securetransport': ['false'] } } }),
    ]);
  });
});

describe('ruleState of the staging rule', () => {
  const wantedRule = STAGING_RULE;
  // What MinIO's GetBucketLifecycleConfiguration answered for STAGING_RULE: the rule, without its AbortIncompleteMultipartUpload.
  const asMinioKeepsIt: LifecycleRule = { Status: 'Enabled', Expiration: { Days: 1 }, ID: 'expire-staged-uploads', Filter: { Prefix: '' }, NoncurrentVersionExpiration: { NoncurrentDays: 1 } };

  it('takes the rule as MinIO keeps it (its multipart expiry dropped) as the same, so provisioning does not put it again at every run', () => {
    expect(ruleState([asMinioKeepsIt], STAGING_RULE)).toBe('same-without-abort');
    expect(ruleState([{ ...wantedRule }], STAGING_RULE)).toBe('same');
  });

  it('sees a rule of that ID that does something else (it compared the ID alone, so a changed expiry was never put right)', () => {
    expect(ruleState([], STAGING_RULE)).toBe('missing');
    expect(ruleState([{ ...asMinioKeepsIt, ID: 'another' }], STAGING_RULE)).toBe('missing');
    expect(ruleState([{ ...asMinioKeepsIt, Expiration: { Days: 30 } }], STAGING_RULE)).toBe('differs');
    expect(ruleState([{ ...asMinioKeepsIt, Status: 'Disabled' }], STAGING_RULE)).toBe('differs');
    expect(ruleState([{ ...asMinioKeepsIt, Filter: { Prefix: 'uploads/' } }], STAGING_RULE)).toBe('differs');
    expect(ruleState([{ ...asMinioKeepsIt, NoncurrentVersionExpiration: undefined }], STAGING_RULE)).toBe('differs');
    expect(ruleState([{ ...asMinioKeepsIt, AbortIncompleteMultipartUpload: { DaysAfterInitiation: 7 } }], STAGING_RULE)).toBe('differs');
  });
});

describe('every bucket\'s lifecycle (found by a storage audit: versioned buckets kept every noncurrent version and delete marker for ever)', () => {
  // What MinIO's GetBucketLifecycleConfiguration answered for NONCURRENT_VERSIONS_RULE and DELETE_MARKERS_RULE, field for field.
  const noncurrentAsMinioKeepsIt: LifecycleRule = { Status: 'Enabled', ID: 'expire-noncurrent-versions', Filter: { Prefix: '' }, NoncurrentVersionExpiration: { NoncurrentDays: 30 } };
  const markersAsMinioKeepsIt: LifecycleRule = { Status: 'Enabled', Expiration: { ExpiredObjectDeleteMarker: true }, ID: 'remove-expired-delete-markers', Filter: { Prefix: '' } };

  it('gives the archive buckets a noncurrent-version expiry and every bucket delete-marker clean-up, staging its own one-day rule unchanged', () => {
    for (const role of ['archives', 'staging', 'charts'] as const) {
      const rules = lifecycleRulesOf(role);
      expect(rules.every((rule) => rule.Status === 'Enabled' && rule.Filter?.Prefix === '')).toBe(true);
      expect(rules.some((rule) => rule.NoncurrentVersionExpiration?.NoncurrentDays !== undefined)).toBe(role !== 'charts');
      expect(rules.some((rule) => rule.Expiration?.ExpiredObjectDeleteMarker === true && rule.Expiration.Days === undefined)).toBe(true);
    }
    expect(lifecycleRulesOf('archives')).toEqual([NONCURRENT_VERSIONS_RULE, DELETE_MARKERS_RULE]);
    expect(NONCURRENT_VERSIONS_RULE.NoncurrentVersionExpiration.NoncurrentDays).toBe(30);
    expect(lifecycleRulesOf('staging')).toEqual([STAGING_RULE, DELETE_MARKERS_RULE]);
    expect(STAGING_RULE).toEqual({
      ID: 'expire-staged-uploads', Status: 'Enabled', Filter: { Prefix: '' }, Expiration: { Days: 1 }, NoncurrentVersionExpiration: { NoncurrentDays: 1 }, AbortIncompleteMultipartUpload: { DaysAfterInitiation: 1 },
    });
  });

  it('takes the rules as MinIO answers them back as the same, so a second provision changes nothing', () => {
    expect(ruleState([markersAsMinioKeepsIt, noncurrentAsMinioKeepsIt], NONCURRENT_VERSIONS_RULE)).toBe('same');
    expect(ruleState([markersAsMinioKeepsIt, noncurrentAsMinioKeepsIt], DELETE_MARKERS_RULE)).toBe('same');
  });

  it('sees a rule of Orbit\'s ID that does something else, or none', () => {
    expect(ruleState([], NONCURRENT_VERSIONS_RULE)).toBe('missing');
    expect(ruleState([{ ...noncurrentAsMinioKeepsIt, NoncurrentVersionExpiration: { NoncurrentDays: 7 } }], NONCURRENT_VERSIONS_RULE)).toBe('differs');
    expect(ruleState([{ ...noncurrentAsMinioKeepsIt, NoncurrentVersionExpiration: { NoncurrentDays: 30, NewerNoncurrentVersions: 3 } }], NONCURRENT_VERSIONS_RULE)).toBe('differs');
    expect(ruleState([{ ...noncurrentAsMinioKeepsIt, AbortIncompleteMultipartUpload: { DaysAfterInitiation: 2 } }], NONCURRENT_VERSIONS_RULE)).toBe('differs');
    expect(ruleState([{ ...markersAsMinioKeepsIt, Expiration: { ExpiredObjectDeleteMarker: false } }], DELETE_MARKERS_RULE)).toBe('differs');
    expect(ruleState([{ ...markersAsMinioKeepsIt, Expiration: { Days: 3 } }], DELETE_MARKERS_RULE)).toBe('differs');
    expect(ruleState([{ ...markersAsMinioKeepsIt, Status: 'Disabled' }], DELETE_MARKERS_RULE)).toBe('differs');
  });

  it('puts Orbit\'s rules beside an operator\'s own, replacing only those of its IDs', () => {
    const own: LifecycleRule = { ID: 'to-glacier', Status: 'Enabled', Filter: { Prefix: 'old/' }, Transitions: [{ Days: 90, StorageClass: 'GLACIER' }] };
    expect(lifecycleToPut([own, { ...noncurrentAsMinioKeepsIt, NoncurrentVersionExpiration: { NoncurrentDays: 7 } }], lifecycleRulesOf('archives'))).toEqual({ Rules: [own, NONCURRENT_VERSIONS_RULE, DELETE_MARKERS_RULE] });
  });

  // Found by a reread: the chart-generator puts a chart key again when its rendering changed, and promoted chart rows
  // keep naming the version they were given; a 30-day expiry of noncurrent versions would break their chart links.
  it('keeps every version of the chart bucket, taking off the noncurrent expiry a chart bucket was given before', () => {
    expect(lifecycleRulesOf('charts')).toEqual([DELETE_MARKERS_RULE]);
    expect(retiredRules([noncurrentAsMinioKeepsIt, markersAsMinioKeepsIt], lifecycleRulesOf('charts'))).toEqual([noncurrentAsMinioKeepsIt]);
    expect(retiredRules([noncurrentAsMinioKeepsIt, markersAsMinioKeepsIt], lifecycleRulesOf('archives'))).toEqual([]);
    expect(lifecycleToPut([noncurrentAsMinioKeepsIt, markersAsMinioKeepsIt], lifecycleRulesOf('charts'))).toEqual({ Rules: [DELETE_MARKERS_RULE] });
  });

  // AWS refuses a configuration mixing rules with a Prefix of their own (the older style) and rules with a Filter.
  it('puts an operator\'s older-style rule back with its prefix in a Filter', () => {
    const older: LifecycleRule = { ID: 'old-logs', Status: 'Enabled', Prefix: 'logs/', Expiration: { Days: 90 } };
    expect(lifecycleToPut([older], lifecycleRulesOf('archives'))).toEqual({
      Rules: [{ ID: 'old-logs', Status: 'Enabled', Filter: { Prefix: 'logs/' }, Expiration: { Days: 90 } }, NONCURRENT_VERSIONS_RULE, DELETE_MARKERS_RULE],
    });
  });

  /** An S3 whose bucket is there, versioned, encrypted and guarded; `keep` is what it keeps of a lifecycle it is given. */
  function fakeS3(keep: (rules: LifecycleRule[]) => LifecycleRule[], initial: LifecycleRule[] = []) {
    let rules = initial;
    const puts: LifecycleRule[][] = [];
    const send = (command: { input: Record<string, unknown> }): Promise<unknown> => {
      if (command instanceof GetBucketLifecycleConfigurationCommand) return Promise.resolve({ Rules: structuredClone(rules) });
      if (command instanceof PutBucketLifecycleConfigurationCommand) {
        const given = command.input.LifecycleConfiguration?.Rules ?? [];
        puts.push(given);
        rules = keep(structuredClone(given));
        return Promise.resolve({});
      }
      if (command instanceof GetBucketPolicyCommand) return Promise.resolve({ Policy: bucketPolicy('b') });
      // HeadBucket, versioning and encryption: as provisioned.
      return Promise.resolve({ Status: 'Enabled', ServerSideEncryptionConfiguration: { Rules: [{}] } });
    };
    return { client: { send } as unknown as S3Client, puts };
  }

  it('reports what a server that drops part of a rule kept, and does not put it again for what MinIO drops by design', async () => {
    // MinIO: AbortIncompleteMultipartUpload dropped.
    const minio = fakeS3((rules) => rules.map(({ AbortIncompleteMultipartUpload: _dropped, ...rule }) => rule));
    expect(await provisionBucket(minio.client, 'b', 'staging')).toEqual({ kind: 'bucket', name: 'b', action: 'updated', detail: `expiry; ${NO_MULTIPART_EXPIRY}` });
    expect(await provisionBucket(minio.client, 'b', 'staging')).toEqual({ kind: 'bucket', name: 'b', action: 'found', detail: NO_MULTIPART_EXPIRY });
    expect(minio.puts).toHaveLength(1);
    // A server that keeps no ExpiredObjectDeleteMarker: said, not taken for done.
    const noMarkers = fakeS3((rules) => rules.map((rule) => (rule.Expiration?.ExpiredObjectDeleteMarker ? { ...rule, Expiration: {} } : rule)));
    expect(await provisionBucket(noMarkers.client, 'b', 'archives')).toEqual({
      kind: 'bucket', name: 'b', action: 'updated', detail: 'expiry; the server did not keep lifecycle rule remove-expired-delete-markers as put',
    });
  });

  it('adds the rules to a bucket an earlier Orbit provisioned, keeping the staging rule and an operator\'s own', async () => {
    const own: LifecycleRule = { ID: 'to-glacier', Status: 'Enabled', Filter: { Prefix: 'old/' }, Transitions: [{ Days: 90, StorageClass: 'GLACIER' }] };
    const earlier = fakeS3((rules) => rules, [STAGING_RULE, own]);
    expect(await provisionBucket(earlier.client, 'b', 'staging')).toEqual({ kind: 'bucket', name: 'b', action: 'updated', detail: 'expiry' });
    expect(earlier.puts).toEqual([[own, STAGING_RULE, DELETE_MARKERS_RULE]]);
    expect(await provisionBucket(earlier.client, 'b', 'staging')).toEqual({ kind: 'bucket', name: 'b', action: 'found' });
  });
});

describe('the buckets\' CORS for ORBIT_CORS_ORIGINS (found by a browser-portal review: provisioning set none, the README rule was prose only)', () => {
  const PORTAL = 'https://portal.example.com';
  type Answer = 'NotImplemented' | 'NoSuchCORSConfiguration';
  /** An S3 whose bucket is provisioned but for CORS; `refuse` answers each CORS call as that error (MinIO: the Get one, then NotImplemented). */
  function fakeS3(initial: CORSRule[] | undefined, refuse: { get?: Answer; put?: Answer } = {}) {
    const kept = new Map<string, CORSRule[]>();
    const puts: CORSRule[][] = [];
    const refusal = (name: Answer) => Object.assign(new Error(name), { name });
    const send = (command: { input: Record<string, unknown> }): Promise<unknown> => {
      const bucket = String(command.input['Bucket']);
      if (command instanceof GetBucketCorsCommand) {
        if (refuse.get !== undefined) return Promise.reject(refusal(refuse.get));
        const rules = kept.get(bucket) ?? initial;
        return rules === undefined ? Promise.reject(refusal('NoSuchCORSConfiguration')) : Promise.resolve({ CORSRules: structuredClone(rules) });
      }
      if (command instanceof PutBucketCorsCommand) {
        if (refuse.put !== undefined) return Promise.reject(refusal(refuse.put));
        const rules = structuredClone(command.input.CORSConfiguration?.CORSRules ?? []);
        kept.set(bucket, rules);
        puts.push(rules);
        return Promise.resolve({});
      }
      // Lifecycle and policy as provisioned, by the names the tests give the buckets.
      if (command instanceof GetBucketLifecycleConfigurationCommand) return Promise.resolve({ Rules: lifecycleRulesOf(bucket === 'stg' ? 'staging' : bucket === 'charts' ? 'charts' : 'archives') });
      if (command instanceof GetBucketPolicyCommand) return Promise.resolve({ Policy: bucketPolicy(bucket) });
      return Promise.resolve({ Status: 'Enabled', ServerSideEncryptionConfiguration: { Rules: [{}] } });
    };
    return { client: { send } as unknown as S3Client, puts, rules: (bucket: string) => kept.get(bucket) };
  }

  it('lets the listed origins PUT into staging, with the headers a presigned PUT or part is sent with, the ETag readable, and GET and HEAD the archives and charts', () => {
    expect(corsRuleOf('staging', [PORTAL])).toEqual({
      ID: 'orbit-browser-uploads', AllowedOrigins: [PORTAL], AllowedMethods: ['PUT'],
      AllowedHeaders: ['content-type', 'content-md5', 'x-amz-server-side-encryption', 'x-amz-checksum-*'], ExposeHeaders: ['ETag'], MaxAgeSeconds: 600,
    });
    for (const role of ['archives', 'charts'] as const) {
      expect(corsRuleOf(role, ['*'])).toMatchObject({ ID: 'orbit-browser-downloads', AllowedOrigins: ['*'], AllowedMethods: ['GET', 'HEAD'], ExposeHeaders: expect.arrayContaining(['Content-Disposition', 'ETag']) as unknown });
    }
  });

  it('puts the rule on every bucket, found on a second run, and says nothing of CORS when ORBIT_CORS_ORIGINS is unset', async () => {
    const s3 = fakeS3(undefined);
    const buckets = { staging: 'stg', development: 'dev', testing: 'tst', stagingEnvironment: 'stg-env', production: 'prd', charts: 'charts' };
    expect((await provisionBuckets(s3.client, buckets, [PORTAL])).map((step) => [step.action, step.detail])).toEqual(Array.from({ length: 6 }, () => ['updated', 'cors']));
    expect(s3.puts.map((rules) => rules.map((rule) => rule.ID))).toEqual([['orbit-browser-uploads'], ...Array.from({ length: 5 }, () => ['orbit-browser-downloads'])]);
    expect((await provisionBuckets(s3.client, buckets, [PORTAL])).map((step) => step.action)).toEqual(Array.from({ length: 6 }, () => 'found'));
    expect(s3.puts).toHaveLength(6);
    const settled = fakeS3([stagingCorsRule([PORTAL])]);
    expect(await provisionBucket(settled.client, 'stg', 'staging', [PORTAL])).toEqual({ kind: 'bucket', name: 'stg', action: 'found' });
    // Unset: nothing read or written, an earlier rule left.
    const unset = fakeS3(undefined, { get: 'NotImplemented', put: 'NotImplemented' });
    expect(await provisionBucket(unset.client, 'stg', 'staging')).toEqual({ kind: 'bucket', name: 'stg', action: 'found' });
    expect(await provisionBucket(unset.client, 'stg', 'staging', readProvisionConfig({}).ORBIT_CORS_ORIGINS)).toEqual({ kind: 'bucket', name: 'stg', action: 'found' });
    expect(readProvisionConfig({ ORBIT_CORS_ORIGINS: 'https://Portal.example.com/' }).ORBIT_CORS_ORIGINS).toEqual([PORTAL]);
    expect(() => readProvisionConfig({ ORBIT_CORS_ORIGINS: 'https://portal.example.com/app' })).toThrow(/ORBIT_CORS_ORIGINS: "https:\/\/portal.example.com\/app" is not an origin/);
  });

  it('puts right a rule of Orbit\'s ID that allows something else, keeping an operator\'s own rules, with or without an ID', async () => {
    const own: CORSRule = { ID: 'cdn', AllowedOrigins: ['https://cdn.example.com'], AllowedMethods: ['GET'] };
    const unnamed: CORSRule = { AllowedOrigins: ['https://other.example.com'], AllowedMethods: ['GET'] };
    const older = fakeS3([own, { ...downloadCorsRule(['https://old-portal.example.com']) }, unnamed]);
    expect(await provisionBucket(older.client, 'dev', 'archives', [PORTAL])).toEqual({ kind: 'bucket', name: 'dev', action: 'updated', detail: 'cors' });
    expect(older.rules('dev')).toEqual([own, unnamed, downloadCorsRule([PORTAL])]);
    expect(await provisionBucket(older.client, 'dev', 'archives', [PORTAL])).toMatchObject({ action: 'found' });
    // As a server may answer it back: header names in another case, lists in another order.
    const reread: CORSRule = { ...stagingCorsRule([PORTAL, 'https://admin.example.com']), AllowedHeaders: ['X-Amz-Checksum-*', 'Content-MD5', 'x-amz-server-side-encryption', 'Content-Type'], ExposeHeaders: ['etag'] };
    expect(corsToPut([reread], stagingCorsRule(['https://admin.example.com', PORTAL]))).toBeUndefined();
    expect(corsToPut([reread], stagingCorsRule([PORTAL]))).toEqual({ CORSRules: [stagingCorsRule([PORTAL])] });
    expect(corsToPut([{ ...reread, MaxAgeSeconds: 3000 }], stagingCorsRule([PORTAL, 'https://admin.example.com']))).toBeDefined();
    // The other of Orbit's rules on a bucket (staging given the downloads rule) is taken off.
    expect(corsToPut([stagingCorsRule([PORTAL]), downloadCorsRule([PORTAL])], stagingCorsRule([PORTAL]))).toEqual({ CORSRules: [stagingCorsRule([PORTAL])] });
  });

  it('says a server without bucket CORS has none (MinIO answers the Get NoSuchCORSConfiguration, the Put NotImplemented), and does not fail', async () => {
    const minio = fakeS3(undefined, { put: 'NotImplemented' });
    expect(await provisionBucket(minio.client, 'stg', 'staging', [PORTAL])).toEqual({ kind: 'bucket', name: 'stg', action: 'found', detail: NO_BUCKET_CORS });
    const noGet = fakeS3(undefined, { get: 'NotImplemented' });
    expect(await provisionBucket(noGet.client, 'stg', 'staging', [PORTAL])).toEqual({ kind: 'bucket', name: 'stg', action: 'found', detail: NO_BUCKET_CORS });
    expect(noGet.puts).toEqual([]);
  });
});
