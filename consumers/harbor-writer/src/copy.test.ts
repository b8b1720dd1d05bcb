import { AbortMultipartUploadCommand, CompleteMultipartUploadCommand, CreateMultipartUploadCommand, HeadObjectCommand, UploadPartCopyCommand, type S3Client } from '@aws-sdk/client-s3';
import { StoreUnavailableError } from '@orbit/lib';
import { describe, expect, it } from 'vitest';
import { isRefusal, orRefusal, serverSideCopy } from './copy.js';

/** An S3 whose unversioned source object is overwritten (a new ETag) after `partsBeforeChange` parts were copied. */
function changingSource(partsBeforeChange: number) {
  const sent: { name: string; input: Record<string, unknown> }[] = [];
  let copiedParts = 0;
  const s3 = {
    send: async (command: { input: Record<string, unknown> }) => {
      sent.push({ name: command.constructor.name, input: command.input });
      if (command instanceof HeadObjectCommand) return { ETag: '"first"', ContentLength: 30 };
      if (command instanceof CreateMultipartUploadCommand) return { UploadId: 'u1' };
      if (command instanceof UploadPartCopyCommand) {
        copiedParts += 1;
        const current = copiedParts > partsBeforeChange ? '"second"' : '"first"';
        if (command.input.CopySourceIfMatch !== undefined && command.input.CopySourceIfMatch !== current) {
          throw Object.assign(new Error('At least one of the pre-conditions you specified did not hold'), { name: 'PreconditionFailed', $metadata: { httpStatusCode: 412 } });
        }
        return { CopyPartResult: { ETag: `"p${String(command.input.PartNumber)}"` } };
      }
      if (command instanceof CompleteMultipartUploadCommand) return { VersionId: null };
      if (command instanceof AbortMultipartUploadCommand) return {};
      return {};
    },
  } as unknown as S3Client;
  return { s3, sent };
}

const limits = { singleCopyBytes: 10, partBytes: 10, partsInParallel: 1 };
const source = { bucket: 'dev', key: 'img-v1.tar', versionId: null };
const target = { bucket: 'test', key: 'img-v1.tar' };

describe('a multipart copy of a source without a version id', () => {
  it('ties every part to the object it started from (CopySourceIfMatch), so parts of two generations are never stitched together', async () => {
    const { s3, sent } = changingSource(Infinity);
    await serverSideCopy(s3, source, target, 30, {}, limits);
    const parts = sent.filter((call) => call.name === 'UploadPartCopyCommand');
    expect(parts.map((call) => call.input['CopySourceIfMatch'])).toEqual(['"first"', '"first"', '"first"']);
  });

  it('is given up and retried (unavailable) when the source is overwritten part way, its upload aborted', async () => {
    const { s3, sent } = changingSource(1);
    const failure = await serverSideCopy(s3, source, target, 30, {}, limits).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(StoreUnavailableError);
    expect(((failure as Error).cause as Error).message).toMatch(/the source changed while its parts were copied/);
    expect(sent.at(-1)?.name).toBe('AbortMultipartUploadCommand');
  });
});

describe('orRefusal', () => {
  it('turns a look the store refuses into a refusal to fail the request with, and lets outages through to be retried', async () => {
    const head403 = Object.assign(new Error('UnknownError'), { name: 'Unknown', $metadata: { httpStatusCode: 403 } });
    const looked = await orRefusal(Promise.reject(head403));
    expect(isRefusal(looked) && looked.refused.reasonCode).toBe('STORE_ACCESS_DENIED');
    expect(await orRefusal(Promise.resolve(undefined))).toBeUndefined();
    const slow = Object.assign(new Error('slow down'), { name: 'SlowDown', $metadata: { httpStatusCode: 503 } });
    await expect(orRefusal(Promise.reject(slow))).rejects.toBe(slow);
  });
});
