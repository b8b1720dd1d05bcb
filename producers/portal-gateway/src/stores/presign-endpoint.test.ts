import { GetObjectCommand, PutObjectCommand, UploadPartCommand, type S3Client } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { createPresigningS3, readConfig } from '@orbit/lib';
import { beforeAll, describe, expect, it } from 'vitest';
import { gatewayEnv } from '../config.js';

/**
 * The presigner as main.ts makes it from the gateway's variables, and the three kinds of URL it hands out (a single
 * PUT, a part, an archive or chart link). Signing calls nothing, so no S3 is needed.
 */
const presignerOf = (variables: NodeJS.ProcessEnv): S3Client => createPresigningS3(readConfig(gatewayEnv, { AWS_ENDPOINT_URL_S3: 'http://127.0.0.1:9000', ...variables }));
const signed = async (presigner: S3Client): Promise<URL[]> => Promise.all([
  getSignedUrl(presigner, new PutObjectCommand({ Bucket: 'staging', Key: 'uploads/a.tar', ServerSideEncryption: 'AES256' }), { expiresIn: 60 }),
  getSignedUrl(presigner, new UploadPartCommand({ Bucket: 'staging', Key: 'uploads/a.tar', UploadId: 'u', PartNumber: 1, ContentLength: 5 }), { expiresIn: 60 }),
  getSignedUrl(presigner, new GetObjectCommand({ Bucket: 'archives', Key: 'a.tar', ResponseContentDisposition: 'attachment; filename="a.tar"' }), { expiresIn: 60 }),
]).then((urls) => urls.map((url) => new URL(url)));

describe('presigned URLs with ORBIT_S3_PUBLIC_ENDPOINT (found by a browser-portal review: they named the gateway\'s own 127.0.0.1:9000)', () => {
  // Signing needs a key, any key: the SDK's chain reads these.
  beforeAll(() => {
    process.env['AWS_ACCESS_KEY_ID'] ??= 'test';
    process.env['AWS_SECRET_ACCESS_KEY'] ??= 'test';
  });

  it('name the public address, the bucket in the path as S3_FORCE_PATH_STYLE says, with the host signed', async () => {
    const urls = await signed(presignerOf({ ORBIT_S3_PUBLIC_ENDPOINT: 'https://s3.example.com' }));
    expect(urls.map((url) => url.origin)).toEqual(['https://s3.example.com', 'https://s3.example.com', 'https://s3.example.com']);
    expect(urls.map((url) => url.pathname)).toEqual(['/staging/uploads/a.tar', '/staging/uploads/a.tar', '/archives/a.tar']);
    for (const url of urls) expect(url.searchParams.get('X-Amz-SignedHeaders')?.split(';')).toContain('host');
    const virtual = await signed(presignerOf({ ORBIT_S3_PUBLIC_ENDPOINT: 'https://s3.example.com', S3_FORCE_PATH_STYLE: 'false' }));
    expect(virtual.map((url) => url.host)).toEqual(['staging.s3.example.com', 'staging.s3.example.com', 'archives.s3.example.com']);
  });

  it('name AWS_ENDPOINT_URL_S3, as before, when it is unset', async () => {
    expect((await signed(presignerOf({}))).map((url) => url.origin)).toEqual(['http://127.0.0.1:9000', 'http://127.0.0.1:9000', 'http://127.0.0.1:9000']);
  });
});
