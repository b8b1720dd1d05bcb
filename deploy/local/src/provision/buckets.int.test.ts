import { randomBytes } from 'node:crypto';
import { DeleteBucketCommand, GetBucketLifecycleConfigurationCommand, PutBucketLifecycleConfigurationCommand } from '@aws-sdk/client-s3';
import { createS3 } from '@orbit/lib';
import { describe, expect, it } from 'vitest';
import { DELETE_MARKERS_RULE, NO_BUCKET_CORS, NO_MULTIPART_EXPIRY, NONCURRENT_VERSIONS_RULE, provisionBucket, ruleState, STAGING_RULE } from './buckets.js';
import { readProvisionConfig } from './index.js';

const config = readProvisionConfig();

describe('the staging bucket\'s expiry against MinIO', () => {
  it('says MinIO keeps no multipart expiry, does not put the rule again for that, and puts right a rule of its ID that was changed (found by a review: compared by ID only)', async () => {
    const s3 = createS3(config);
    // A private bucket: the stack's own staging bucket is left as it is.
    const bucket = `orbit-prov-${randomBytes(4).toString('hex')}`;
    const rules = async () => (await s3.send(new GetBucketLifecycleConfigurationCommand({ Bucket: bucket }))).Rules ?? [];
    try {
      expect(await provisionBucket(s3, bucket, 'staging')).toMatchObject({ action: 'created', detail: expect.stringContaining(NO_MULTIPART_EXPIRY) });
      // What MinIO kept: the rule without its AbortIncompleteMultipartUpload.
      expect((await rules())[0]?.AbortIncompleteMultipartUpload).toBeUndefined();
      expect(ruleState(await rules(), STAGING_RULE)).toBe('same-without-abort');
      // Found, nothing written; the detail says what removes stale multipart uploads there.
      expect(await provisionBucket(s3, bucket, 'staging')).toEqual({ kind: 'bucket', name: bucket, action: 'found', detail: NO_MULTIPART_EXPIRY });
      // The same ID, another expiry (by hand, or an older Orbit's): put right.
      await s3.send(new PutBucketLifecycleConfigurationCommand({ Bucket: bucket, LifecycleConfiguration: { Rules: [{ ...STAGING_RULE, Expiration: { Days: 30 } }] } }));
      expect(await provisionBucket(s3, bucket, 'staging')).toEqual({ kind: 'bucket', name: bucket, action: 'updated', detail: `expiry; ${NO_MULTIPART_EXPIRY}` });
      expect((await rules())[0]?.Expiration?.Days).toBe(1);
      expect(await provisionBucket(s3, bucket, 'staging')).toMatchObject({ action: 'found' });
    } finally {
      await s3.send(new DeleteBucketCommand({ Bucket: bucket })).catch(() => undefined);
      s3.destroy();
    }
  });
});

describe('every bucket\'s lifecycle against MinIO (found by a storage audit: versioned buckets kept noncurrent versions and delete markers for ever)', () => {
  it('gives an environment bucket noncurrent-version expiry and delete-marker clean-up, MinIO keeps both whole, and a second run finds them', async () => {
    const s3 = createS3(config);
    const bucket = `fix43store-${randomBytes(4).toString('hex')}`;
    const rules = async () => (await s3.send(new GetBucketLifecycleConfigurationCommand({ Bucket: bucket }))).Rules ?? [];
    try {
      expect(await provisionBucket(s3, bucket, 'archives')).toMatchObject({ action: 'created', detail: expect.stringContaining('expiry') as unknown });
      const kept = await rules();
      expect([ruleState(kept, NONCURRENT_VERSIONS_RULE), ruleState(kept, DELETE_MARKERS_RULE)]).toEqual(['same', 'same']);
      expect(kept.find((rule) => rule.ID === NONCURRENT_VERSIONS_RULE.ID)?.NoncurrentVersionExpiration?.NoncurrentDays).toBe(30);
      expect(kept.find((rule) => rule.ID === DELETE_MARKERS_RULE.ID)?.Expiration?.ExpiredObjectDeleteMarker).toBe(true);
      expect(await provisionBucket(s3, bucket, 'archives')).toEqual({ kind: 'bucket', name: bucket, action: 'found' });
    } finally {
      await s3.send(new DeleteBucketCommand({ Bucket: bucket })).catch(() => undefined);
      s3.destroy();
    }
  });

  it('adds them to a bucket an earlier Orbit provisioned, keeping the staging rule (and what MinIO drops of it said) and an operator\'s own rule', async () => {
    const s3 = createS3(config);
    const bucket = `fix43store-${randomBytes(4).toString('hex')}`;
    const rules = async () => (await s3.send(new GetBucketLifecycleConfigurationCommand({ Bucket: bucket }))).Rules ?? [];
    try {
      await provisionBucket(s3, bucket, 'staging');
      // As an earlier Orbit left the staging bucket, with an operator's rule beside it.
      const own = { ID: 'fix43store-own', Status: 'Enabled' as const, Filter: { Prefix: 'keep/' }, Expiration: { Days: 90 } };
      await s3.send(new PutBucketLifecycleConfigurationCommand({ Bucket: bucket, LifecycleConfiguration: { Rules: [STAGING_RULE, own] } }));
      expect(await provisionBucket(s3, bucket, 'staging')).toEqual({ kind: 'bucket', name: bucket, action: 'updated', detail: `expiry; ${NO_MULTIPART_EXPIRY}` });
      const kept = await rules();
      expect([ruleState(kept, STAGING_RULE), ruleState(kept, DELETE_MARKERS_RULE)]).toEqual(['same-without-abort', 'same']);
      expect(kept.find((rule) => rule.ID === STAGING_RULE.ID)).toMatchObject({ Expiration: { Days: 1 }, NoncurrentVersionExpiration: { NoncurrentDays: 1 } });
      expect(kept.find((rule) => rule.ID === own.ID)).toMatchObject({ Expiration: { Days: 90 }, Filter: { Prefix: 'keep/' } });
      expect(await provisionBucket(s3, bucket, 'staging')).toEqual({ kind: 'bucket', name: bucket, action: 'found', detail: NO_MULTIPART_EXPIRY });
    } finally {
      await s3.send(new DeleteBucketCommand({ Bucket: bucket })).catch(() => undefined);
      s3.destroy();
    }
  });
});

describe('the buckets\' CORS against MinIO (found by a browser-portal review: provisioning set none)', () => {
  it('says MinIO has no bucket CORS (PutBucketCors: NotImplemented) without failing, each run, and MinIO answers a listed origin\'s preflight itself', async () => {
    const s3 = createS3(config);
    const bucket = `s44s3-cors-${randomBytes(4).toString('hex')}`;
    const portal = 'https://portal.example.com';
    try {
      const created = await provisionBucket(s3, bucket, 'staging', [portal]);
      expect(created).toMatchObject({ action: 'created' });
      expect(created.detail).toContain(NO_BUCKET_CORS);
      expect(created.detail).not.toMatch(/\bcors\b/);
      expect(await provisionBucket(s3, bucket, 'staging', [portal])).toEqual({ kind: 'bucket', name: bucket, action: 'found', detail: `${NO_MULTIPART_EXPIRY}; ${NO_BUCKET_CORS}` });
      // Unset, CORS is not looked at.
      expect(await provisionBucket(s3, bucket, 'staging')).toEqual({ kind: 'bucket', name: bucket, action: 'found', detail: NO_MULTIPART_EXPIRY });
      const preflight = await fetch(`${config.AWS_ENDPOINT_URL_S3}/${bucket}/uploads/s44s3.tar`, {
        method: 'OPTIONS', headers: { Origin: portal, 'Access-Control-Request-Method': 'PUT', 'Access-Control-Request-Headers': 'x-amz-server-side-encryption' },
      });
      await preflight.arrayBuffer();
      expect(preflight.headers.get('access-control-allow-origin')).toMatch(/^(\*|https:\/\/portal\.example\.com)$/);
    } finally {
      await s3.send(new DeleteBucketCommand({ Bucket: bucket })).catch(() => undefined);
      s3.destroy();
    }
  });
});
