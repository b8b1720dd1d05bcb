import { CopyObjectCommand, HeadObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { sampleEvents } from '@orbit/schemas';
import { describe, expect, it } from 'vitest';
import { quietLogger } from '../../../test/helpers/index.js';
import { storeValidatedImage } from './store-image.js';
import { overwrittenAfterItsHead } from '../../../test/helpers/overwritten-after-head.js';

const dynamo = { send: async () => ({}) } as unknown as DynamoDBDocumentClient;

describe('storeValidatedImage', () => {
  it('stores nothing when the staged upload is replaced between the HEAD that measured it and the copy', async () => {
    const event = sampleEvents()['orbit.image.validated'];
    // A staging bucket without versioning (as it may be on AWS): the staged key takes another PUT of the same size.
    const staged = { size: event.sizeBytes, metadata: {} };
    const { s3, objects } = overwrittenAfterItsHead({ [event.staging.bucket]: { ...staged, etag: '"validated"' } }, event.staging.bucket, { ...staged, etag: '"another"' });
    const deps = { s3, dynamo, developmentBucket: 'dev', stagingBucket: event.staging.bucket, metadataTable: 'meta', manifestTable: 'manifests' };
    const outcome = await storeValidatedImage(event, deps, quietLogger);
    expect(outcome).toMatchObject({ kind: 'failed', event: { reasonCode: 'CHECKSUM_MISMATCH' } });
    expect(objects.get('dev')).toBeUndefined();
  });

  it('ends its copy when the consumer stops, with an error the loop retries, not a failure event', async () => {
    const event = sampleEvents()['orbit.image.validated'];
    const s3 = {
      send: async (command: { input: Record<string, unknown> }, options?: { abortSignal?: AbortSignal }) => {
        if (command instanceof HeadObjectCommand) {
          if (command.input['Bucket'] !== event.staging.bucket) throw Object.assign(new Error('NotFound'), { name: 'NotFound', $metadata: { httpStatusCode: 404 } });
          return { ETag: '"staged"', ContentLength: event.sizeBytes, Metadata: {} };
        }
        // A copy of gigabytes: it ends when its request is aborted.
        if (command instanceof CopyObjectCommand) {
          return new Promise((_resolve, reject) => options?.abortSignal?.addEventListener('abort', () => reject(Object.assign(new Error('Request aborted'), { name: 'AbortError' })), { once: true }));
        }
        throw new Error(`unexpected ${command.constructor.name}`);
      },
    } as unknown as S3Client;
    const stopping = new AbortController();
    const deps = { s3, dynamo, developmentBucket: 'dev', stagingBucket: event.staging.bucket, metadataTable: 'meta', manifestTable: 'manifests', signal: stopping.signal };
    const storing = storeValidatedImage(event, deps, quietLogger);
    setTimeout(() => stopping.abort(), 20);
    await expect(storing).rejects.toMatchObject({ name: 'AbortError' });
  }, 2_000);
});
