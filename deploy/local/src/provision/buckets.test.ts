import type { LifecycleRule } from '@aws-sdk/client-s3';
import { describe, expect, it } from 'vitest';
import { bucketPolicy, normalisedStatements, samePolicy, STAGING_LIFECYCLE, stagingRuleState } from './buckets.js';

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

describe('stagingRuleState', () => {
  const wantedRule = STAGING_LIFECYCLE.Rules[0]!;
  // What MinIO's GetBucketLifecycleConfiguration answered for STAGING_LIFECYCLE: the rule, without its AbortIncompleteMultipartUpload.
  const asMinioKeepsIt: LifecycleRule = { Status: 'Enabled', Expiration: { Days: 1 }, ID: 'expire-staged-uploads', Filter: { Prefix: '' }, NoncurrentVersionExpiration: { NoncurrentDays: 1 } };

  it('takes the rule as MinIO keeps it (its multipart expiry dropped) as the same, so provisioning does not put it again at every run', () => {
    expect(stagingRuleState([asMinioKeepsIt])).toBe('same-without-abort');
    expect(stagingRuleState([{ ...wantedRule }])).toBe('same');
  });

  it('sees a rule of that ID that does something else (it compared the ID alone, so a changed expiry was never put right)', () => {
    expect(stagingRuleState([])).toBe('missing');
    expect(stagingRuleState([{ ...asMinioKeepsIt, ID: 'another' }])).toBe('missing');
    expect(stagingRuleState([{ ...asMinioKeepsIt, Expiration: { Days: 30 } }])).toBe('differs');
    expect(stagingRuleState([{ ...asMinioKeepsIt, Status: 'Disabled' }])).toBe('differs');
    expect(stagingRuleState([{ ...asMinioKeepsIt, Filter: { Prefix: 'uploads/' } }])).toBe('differs');
    expect(stagingRuleState([{ ...asMinioKeepsIt, NoncurrentVersionExpiration: undefined }])).toBe('differs');
    expect(stagingRuleState([{ ...asMinioKeepsIt, AbortIncompleteMultipartUpload: { DaysAfterInitiation: 7 } }])).toBe('differs');
  });
});
