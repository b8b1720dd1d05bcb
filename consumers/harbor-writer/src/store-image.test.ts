import { CopyObjectCommand, DeleteObjectCommand, HeadObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { sampleEvents } from '@orbit/schemas';
import { describe, expect, it } from 'vitest';
import { quietLogger } from '../../../test/helpers/index.js';
import { storeValidatedImage } from './store-image.js';

/**
 * A staging bucket without versioning (as it may be on AWS) behind
 * S3_CHECKSUMS=off: the staged key takes another PUT of the same size right
 * after the store's HEAD measured it.
 */
function restagedAfterItsHead(stagingBucket: string, size: number) {
  const objects = new Map<string, { etag: string; size: number }>([[stagingBucket, { etag: '"validated"', size }]]);
  let stagingHeads = 0;
  const s3 = {
    send: async (command: { input: Record<string, unknown> }) => {
      const bucket = String(command.input['Bucket']);
      if (command instanceof HeadObjectCommand) {
        const object = objects.get(bucket);
        if (bucket === stagingBucket && ++stagingHeads === 1) objects.set(stagingBucket, { etag: '"another"', size });
        if (!object) throw Object.assign(new Error('NotFound'), { name: 'NotFound', $metadata: { httpStatusCode: 404 } });
        return { ETag: object.etag, ContentLength: object.size, Metadata: {} };
      }
      if (command instanceof CopyObjectCommand) {
        const from = objects.get(stagingBucket);
        const ifMatch = command.input.CopySourceIfMatch;
        if (!from || (ifMatch !== undefined && ifMatch !== from.etag)) throw Object.assign(new Error('PreconditionFailed'), { name: 'PreconditionFailed', $metadata: { httpStatusCode: 412 } });
        objects.set(bucket, from);
        return { CopyObjectResult: { ETag: from.etag } };
      }
      if (command instanceof DeleteObjectCommand) {
        objects.delete(bucket);
        return {};
      }
      throw new Error(`unexpected ${command.constructor.name}`);
    },
  } as unknown as S3Client;
  return { s3, objects };
}

const dynamo = { send: async () => ({}) } as unknown as DynamoDBDocumentClient;

describe('storeValidatedImage', () => {
  it('stores nothing when the staged upload is replaced between the HEAD that measured it and the copy', async () => {
    const event = sampleEvents()['orbit.image.validated'];
    const { s3, objects } = restagedAfterItsHead(event.staging.bucket, event.sizeBytes);
    const deps = { s3, dynamo, developmentBucket: 'dev', stagingBucket: event.staging.bucket, metadataTable: 'meta', manifestTable: 'manifests' };
    const outcome = await storeValidatedImage(event, deps, quietLogger);
    expect(outcome).toMatchObject({ kind: 'failed', event: { reasonCode: 'CHECKSUM_MISMATCH' } });
    expect(objects.get('dev')).toBeUndefined();
  });
});
