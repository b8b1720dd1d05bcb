import { describe, expect, it } from 'vitest';
import { StoreUnavailableError } from './errors.js';
import { refusedByStore } from './store-refusal.js';

describe('refusedByStore', () => {
  it('names a bodiless 403 (a HEAD of a missing key without s3:ListBucket) as access denied, saying which permission', () => {
    const head403 = Object.assign(new Error('UnknownError'), { name: 'Unknown', $metadata: { httpStatusCode: 403 } });
    expect(refusedByStore(head403)).toMatchObject({ reasonCode: 'STORE_ACCESS_DENIED', message: expect.stringContaining('s3:ListBucket') as unknown });
    expect(refusedByStore(Object.assign(new Error('slow down'), { name: 'SlowDown', $metadata: { httpStatusCode: 503 } }))).toBeUndefined();
  });

  it('finds the refusal under the errors that wrap it (a multipart upload, a store error), and a missing bucket', () => {
    const denied = Object.assign(new Error('Access Denied'), { name: 'AccessDenied', $metadata: { httpStatusCode: 403 } });
    expect(refusedByStore(new StoreUnavailableError('S3', new Error('upload failed', { cause: denied })))?.reasonCode).toBe('STORE_ACCESS_DENIED');
    expect(refusedByStore(Object.assign(new Error('The specified bucket does not exist'), { name: 'NoSuchBucket' }))?.reasonCode).toBe('BUCKET_MISSING');
    expect(refusedByStore(new StoreUnavailableError('S3', new Error('socket hang up')))).toBeUndefined();
  });
});
