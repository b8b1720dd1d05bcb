import { randomBytes, randomUUID } from 'node:crypto';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { createPresigningS3, createS3, readConfig } from '@orbit/lib';
import { describe, expect, it } from 'vitest';
import { testConfig, uniqueSuffix } from '../../../../test/helpers/index.js';
import { gatewayEnv } from '../config.js';
import type { PresignedParts, PresignedSinglePut } from '../ports.js';
import type { StagedObject } from '../staging.js';
import { s3UploadStore } from './s3-uploads.js';

const MIB = 1024 ** 2;
const internal = new URL(testConfig.AWS_ENDPOINT_URL_S3);
/** Another name of the same MinIO, standing for the address a portal's users reach S3 at (the stack's is 127.0.0.1). */
const publicEndpoint = new URL(internal.href);
publicEndpoint.hostname = internal.hostname === 'localhost' ? '127.0.0.1' : 'localhost';
// What main.ts does: the gateway's variables, the presigner made from them.
const config = readConfig(gatewayEnv, { ...process.env, ORBIT_S3_PUBLIC_ENDPOINT: publicEndpoint.origin });
const s3 = createS3(config);
const presigner = createPresigningS3(config);
const bucket = testConfig.ORBIT_BUCKET_STAGING;
const store = s3UploadStore(s3, bucket, 64 * MIB, { presigner, presignSeconds: 600, partSizeBytes: 5 * MIB });

async function send(url: string, method: 'PUT' | 'GET', body?: Buffer, headers: Readonly<Record<string, string>> = {}): Promise<{ status: number; bytes: Buffer; headers: Headers }> {
  const answer = await fetch(url, { method, ...(body ? { body } : {}), headers });
  return { status: answer.status, bytes: Buffer.from(await answer.arrayBuffer()), headers: answer.headers };
}

/** The same URL sent to the gateway's own address of S3: what rewriting a URL's host after signing would give. */
const atInternalAddress = (url: string): string => {
  const moved = new URL(url);
  moved.host = internal.host;
  return moved.href;
};

describe('presigned URLs for ORBIT_S3_PUBLIC_ENDPOINT against MinIO (found by a browser-portal review: they named the gateway\'s own address)', () => {
  it('a single PUT, the parts of a multipart upload and a download link name the public address and work there', async () => {
    expect(config.ORBIT_S3_PUBLIC_ENDPOINT).not.toBe(internal.origin);
    const owner = `s44s3-${uniqueSuffix()}`;
    const staged: StagedObject[] = [];
    try {
      // One PUT, with the encryption header its URL is signed with.
      const single = randomUUID();
      const archive = randomBytes(256 * 1024);
      const presigned = await store.presign(owner, single, null) as PresignedSinglePut;
      expect(new URL(presigned.url).origin).toBe(publicEndpoint.origin);
      // The host is signed: the same URL at the other address is refused, so a URL cannot be rewritten after signing.
      expect((await send(atInternalAddress(presigned.url), 'PUT', archive, presigned.headers)).status).toBe(403);
      expect((await send(presigned.url, 'PUT', archive, presigned.headers)).status).toBe(200);
      const whole = await store.find(owner, single);
      expect(whole).toMatchObject({ bucket, sizeBytes: archive.length });
      staged.push(whole!);

      // In parts.
      const multi = randomUUID();
      const large = randomBytes(7 * MIB);
      const parts = await store.presign(owner, multi, large.length) as PresignedParts;
      expect(parts.parts.map((part) => new URL(part.url).origin)).toEqual([publicEndpoint.origin, publicEndpoint.origin]);
      for (const part of parts.parts) {
        const from = (part.partNumber - 1) * parts.partSizeBytes;
        expect((await send(part.url, 'PUT', large.subarray(from, from + part.sizeBytes), parts.headers)).status).toBe(200);
      }
      const assembled = await store.find(owner, multi);
      expect(assembled).toMatchObject({ sizeBytes: large.length });
      staged.push(assembled!);

      // A download link as awsDeployables signs one (a GetObject with its file name), with this presigner.
      const link = await getSignedUrl(presigner, new GetObjectCommand({ Bucket: bucket, Key: whole!.key, ResponseContentDisposition: 'attachment; filename="s44s3.tar"' }), { expiresIn: 60 });
      expect(new URL(link).origin).toBe(publicEndpoint.origin);
      const got = await send(link, 'GET');
      expect(got.status).toBe(200);
      expect(got.headers.get('content-disposition')).toBe('attachment; filename="s44s3.tar"');
      expect(got.bytes.equals(archive)).toBe(true);
    } finally {
      // Every version of each: staging is versioned.
      for (const object of staged) await store.discard(object).catch(() => undefined);
      s3.destroy();
      presigner.destroy();
    }
  });
});
