import { AbortMultipartUploadCommand, CompleteMultipartUploadCommand, CreateMultipartUploadCommand, GetObjectCommand, HeadObjectCommand, ListPartsCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { StoreUnavailableError } from '@orbit/lib';
import { describe, expect, it } from 'vitest';
import { UploadIncompleteError, UploadPresignedMeanwhile } from '../staging.js';
import { s3UploadStore } from './s3-uploads.js';

const MIB = 1024 ** 2;

/** S3 as a completion sees it when the client PUTs a part again between the listing and the completion. */
function racedS3(): S3Client {
  const s3 = new S3Client({ region: 'us-east-1', credentials: { accessKeyId: 'a', secretAccessKey: 'b' } });
  const named = (name: string): Error => Object.assign(new Error(name), { name });
  s3.send = (async (command: unknown) => {
    if (command instanceof HeadObjectCommand) throw named('NotFound');
    if (command instanceof GetObjectCommand) {
      const plan = JSON.stringify({ s3UploadId: 'mpu-1', sizeBytes: 6 * MIB, partSizeBytes: 5 * MIB, partCount: 2 });
      return { Body: { transformToString: async () => plan } };
    }
    if (command instanceof ListPartsCommand) return { Parts: [{ PartNumber: 1, Size: 5 * MIB, ETag: '"a"' }, { PartNumber: 2, Size: MIB, ETag: '"b"' }], IsTruncated: false };
    if (command instanceof CompleteMultipartUploadCommand) throw named('InvalidPart');
    throw new Error(`not expected: ${String((command as object).constructor.name)}`);
  }) as S3Client['send'];
  return s3;
}

describe('completing an upload in parts', () => {
  it('answers a part sent again during the completion as an incomplete upload to complete again, not as a failure of the gateway', async () => {
    const s3 = racedS3();
    const store = s3UploadStore(s3, 'staging', 64 * MIB, { presigner: s3 });
    const refused = await store.find('ada', '00000000-0000-4000-8000-000000000001').catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(UploadIncompleteError);
    expect((refused as UploadIncompleteError).problems).toEqual(['a part was sent again while the upload was being completed']);
  });
});

describe('two presigns with one Idempotency-Key at the same instant', () => {
  it('aborts its own multipart upload on AWS\'s 409 ConditionalRequestConflict and asks to be sent again (the other write may yet fail), and takes a 412 as the other presign\'s', async () => {
    for (const [refusal, outcome] of [['ConditionalRequestConflict', StoreUnavailableError], ['PreconditionFailed', UploadPresignedMeanwhile]] as const) {
      const sent: string[] = [];
      const s3 = new S3Client({ region: 'us-east-1', credentials: { accessKeyId: 'a', secretAccessKey: 'b' } });
      s3.send = (async (command: unknown) => {
        sent.push((command as object).constructor.name);
        if (command instanceof CreateMultipartUploadCommand) return { UploadId: 'mpu-2' };
        if (command instanceof PutObjectCommand && command.input.IfNoneMatch === '*') throw Object.assign(new Error(refusal), { name: refusal });
        if (command instanceof AbortMultipartUploadCommand) return {};
        throw new Error(`not expected: ${String((command as object).constructor.name)}`);
      }) as S3Client['send'];
      const store = s3UploadStore(s3, 'staging', 64 * MIB, { presigner: s3 });
      await expect(store.presign('ada', '00000000-0000-4000-8000-000000000002', 6 * MIB)).rejects.toBeInstanceOf(outcome);
      expect(sent).toEqual(['CreateMultipartUploadCommand', 'PutObjectCommand', 'AbortMultipartUploadCommand']);
    }
  });
});
