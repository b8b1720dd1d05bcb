import { S3Client } from '@aws-sdk/client-s3';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { awsDeployables } from './deployables.js';
import { presignExpiryFromNow } from './presign-expiry.js';

const OBJECT = { bucket: 'app-image-1206-bkt-k8d-aws', key: 'image.tar', versionId: 'v1' };

/** When a presigned URL stops working, as S3 reads it: its X-Amz-Date (to the second) plus X-Amz-Expires. */
function expiryIn(url: string): string {
  const query = new URL(url).searchParams;
  const signedAt = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(query.get('X-Amz-Date') ?? '');
  if (!signedAt) throw new Error(`no X-Amz-Date in ${url}`);
  const [, year, month, day, hour, minute, second] = signedAt.map(Number);
  return new Date(Date.UTC(year ?? 0, (month ?? 1) - 1, day, hour, minute, second) + Number(query.get('X-Amz-Expires')) * 1000).toISOString();
}

afterEach(() => {
  vi.useRealTimers();
});

describe('a presigned download link', () => {
  it('says when it expires as S3 reads its signature, to the second (found by a review: it said up to 1 s too late)', async () => {
    // Late in a second: the signature's time is cut down to …:11, the milliseconds are not in it.
    vi.useFakeTimers({ toFake: ['Date'], now: Date.parse('2026-12-07T10:00:11.900Z') });
    const s3 = new S3Client({ region: 'us-east-1', credentials: { accessKeyId: 'a', secretAccessKey: 'b' } });
    const store = awsDeployables(s3, {} as DynamoDBDocumentClient, () => 'table', 'base', 900);
    const link = await store.downloadUrl(OBJECT, 'image.tar');
    expect(link.expiresAt).toBe('2026-12-07T10:15:11.000Z');
    expect(link.expiresAt).toBe(expiryIn(link.url));
  });
});

describe('presignExpiryFromNow', () => {
  it('counts from the second the signature is dated, never past it', () => {
    expect(presignExpiryFromNow(900, Date.parse('2026-12-07T10:00:11.999Z'))).toBe('2026-12-07T10:15:11.000Z');
    expect(presignExpiryFromNow(900, Date.parse('2026-12-07T10:00:11.000Z'))).toBe('2026-12-07T10:15:11.000Z');
    expect(presignExpiryFromNow(60, Date.parse('2026-12-07T23:59:59.500Z'))).toBe('2026-12-08T00:00:59.000Z');
  });
});
