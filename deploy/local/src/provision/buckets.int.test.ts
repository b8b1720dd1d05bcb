import { randomBytes } from 'node:crypto';
import { DeleteBucketCommand, GetBucketLifecycleConfigurationCommand, PutBucketLifecycleConfigurationCommand } from '@aws-sdk/client-s3';
import { createS3 } from '@orbit/lib';
import { describe, expect, it } from 'vitest';
import { NO_MULTIPART_EXPIRY, provisionBucket, STAGING_LIFECYCLE, stagingRuleState } from './buckets.js';
import { readProvisionConfig } from './index.js';

const config = readProvisionConfig();

describe('the staging bucket\'s expiry against MinIO', () => {
  it('says MinIO keeps no multipart expiry, does not put the rule again for that, and puts right a rule of its ID that was changed (found by a review: compared by ID only)', async () => {
    const s3 = createS3(config);
    // A private bucket: the stack's own staging bucket is left as it is.
    const bucket = `orbit-prov-${randomBytes(4).toString('hex')}`;
    const rules = async () => (await s3.send(new GetBucketLifecycleConfigurationCommand({ Bucket: bucket }))).Rules ?? [];
    try {
      expect(await provisionBucket(s3, bucket, true)).toMatchObject({ action: 'created', detail: expect.stringContaining(NO_MULTIPART_EXPIRY) });
      // What MinIO kept: the rule without its AbortIncompleteMultipartUpload.
      expect((await rules())[0]?.AbortIncompleteMultipartUpload).toBeUndefined();
      expect(stagingRuleState(await rules())).toBe('same-without-abort');
      // Found, nothing written; the detail says what removes stale multipart uploads there.
      expect(await provisionBucket(s3, bucket, true)).toEqual({ kind: 'bucket', name: bucket, action: 'found', detail: NO_MULTIPART_EXPIRY });
      // The same ID, another expiry (by hand, or an older Orbit's): put right.
      await s3.send(new PutBucketLifecycleConfigurationCommand({ Bucket: bucket, LifecycleConfiguration: { Rules: [{ ...STAGING_LIFECYCLE.Rules[0]!, Expiration: { Days: 30 } }] } }));
      expect(await provisionBucket(s3, bucket, true)).toEqual({ kind: 'bucket', name: bucket, action: 'updated', detail: `expiry; ${NO_MULTIPART_EXPIRY}` });
      expect((await rules())[0]?.Expiration?.Days).toBe(1);
      expect(await provisionBucket(s3, bucket, true)).toMatchObject({ action: 'found' });
    } finally {
      await s3.send(new DeleteBucketCommand({ Bucket: bucket })).catch(() => undefined);
      s3.destroy();
    }
  });
});
