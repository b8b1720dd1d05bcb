import type { Readable } from 'node:stream';
import { DeleteObjectCommand, HeadObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { ownerKeySegment } from '@orbit/lib';
import type { PresignedUpload, UploadStore } from '../ports.js';
import { streamToStaging, type StagedObject } from '../staging.js';

/** `uploads/{username}/{yyyy}/{mm}/{dd}/{uploadId}.tar`; the date is the upload id's own, so completion finds it. */
export function stagingKey(owner: string, uploadId: string, day: Date): string {
  const yyyy = day.getUTCFullYear();
  const mm = String(day.getUTCMonth() + 1).padStart(2, '0');
  const dd = String(day.getUTCDate()).padStart(2, '0');
  return `uploads/${ownerKeySegment(owner)}/${yyyy}/${mm}/${dd}/${uploadId}.tar`;
}

/**
 * Presigned uploads may complete on another day than they began, so their
 * key carries no date: `uploads/{username}/direct/{uploadId}.tar`.
 */
export function directKey(owner: string, uploadId: string): string {
  return `uploads/${ownerKeySegment(owner)}/direct/${uploadId}.tar`;
}

export function s3UploadStore(s3: S3Client, bucket: string, limitBytes: number, presignSeconds = 3600): UploadStore {
  return {
    stage: (owner: string, uploadId: string, body: Readable): Promise<StagedObject> =>
      streamToStaging(s3, { bucket, key: stagingKey(owner, uploadId, new Date()), limitBytes }, body),
    presign: async (owner: string, uploadId: string): Promise<PresignedUpload> => {
      const command = new PutObjectCommand({ Bucket: bucket, Key: directKey(owner, uploadId), ServerSideEncryption: 'AES256' });
      const url = await getSignedUrl(s3, command, { expiresIn: presignSeconds, signableHeaders: new Set(['x-amz-server-side-encryption']) });
      return { url, method: 'PUT', headers: { 'x-amz-server-side-encryption': 'AES256' }, expiresAt: new Date(Date.now() + presignSeconds * 1000).toISOString() };
    },
    find: async (owner: string, uploadId: string): Promise<StagedObject | undefined> => {
      const key = directKey(owner, uploadId);
      try {
        const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key, ChecksumMode: 'ENABLED' }));
        const sha256 = head.ChecksumSHA256 && head.ChecksumType !== 'COMPOSITE' ? Buffer.from(head.ChecksumSHA256, 'base64').toString('hex') : null;
        return { bucket, key, versionId: head.VersionId ?? null, sizeBytes: head.ContentLength ?? 0, sha256 };
      } catch (error) {
        if ((error as { name?: string }).name === 'NotFound') return undefined;
        throw error;
      }
    },
    discard: async (staged: StagedObject): Promise<void> => {
      // The version itself: in a versioned bucket a plain delete would only hide it behind a marker.
      await s3.send(new DeleteObjectCommand({ Bucket: staged.bucket, Key: staged.key, ...(staged.versionId ? { VersionId: staged.versionId } : {}) }));
    },
  };
}
