import { CopyObjectCommand, DeleteObjectCommand, HeadObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { sampleEvents } from '@orbit/schemas';
import { describe, expect, it } from 'vitest';
import { quietLogger } from '../../../test/helpers/index.js';
import { transferImage } from './transfer.js';

const validated = 'a'.repeat(64);
const buckets = { Development: 'dev', Testing: 'test', Staging: 'stage', Production: 'prod' } as const;

interface FakeObject {
  readonly etag: string;
  readonly size: number;
  readonly metadata: Record<string, string>;
}

/**
 * Buckets without versioning behind S3_CHECKSUMS=off (no checksum on any
 * HEAD): the Development copy is replaced by other bytes of the same size,
 * out of band, right after the transfer's HEAD checked it.
 */
function replacedAfterItsHead() {
  const objects = new Map<string, FakeObject>([['dev', { etag: '"validated"', size: 10, metadata: { 'orbit-sha256': validated } }]]);
  let sourceHeads = 0;
  const s3 = {
    send: async (command: { input: Record<string, unknown> }) => {
      const bucket = String(command.input['Bucket']);
      if (command instanceof HeadObjectCommand) {
        const object = objects.get(bucket);
        if (bucket === 'dev' && ++sourceHeads === 1) objects.set('dev', { etag: '"other"', size: 10, metadata: {} });
        if (!object) throw Object.assign(new Error('NotFound'), { name: 'NotFound', $metadata: { httpStatusCode: 404 } });
        return { ETag: object.etag, ContentLength: object.size, Metadata: object.metadata };
      }
      if (command instanceof CopyObjectCommand) {
        const from = objects.get(String(command.input.CopySource).split('/')[0] ?? '');
        if (!from) throw Object.assign(new Error('NoSuchKey'), { name: 'NoSuchKey', $metadata: { httpStatusCode: 404 } });
        const ifMatch = command.input.CopySourceIfMatch;
        if (ifMatch !== undefined && ifMatch !== from.etag) throw Object.assign(new Error('PreconditionFailed'), { name: 'PreconditionFailed', $metadata: { httpStatusCode: 412 } });
        objects.set(bucket, { etag: from.etag, size: from.size, metadata: command.input.Metadata as Record<string, string> });
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

/** The metadata row the store wrote: the validated SHA-256, no S3 version (the bucket keeps none). */
const dynamo = { send: async () => ({ Item: { sha256: validated, versionId: null } }) } as unknown as DynamoDBDocumentClient;

describe('transferImage', () => {
  it('fails SOURCE_CHANGED, copying nothing, when an unversioned source is replaced between the HEAD that checked it and the copy', async () => {
    const { s3, objects } = replacedAfterItsHead();
    const event = sampleEvents()['orbit.transfer.requested'];
    const outcome = await transferImage(event, { s3, dynamo, metadataTable: 'meta', bucketOf: (environment) => buckets[environment] }, quietLogger);
    expect(outcome).toMatchObject({ kind: 'failed', event: { reasonCode: 'SOURCE_CHANGED' } });
    // Not the replacement labelled with the validated SHA-256, which only a size check would have stood between.
    expect(objects.get('test')).toBeUndefined();
  });
});
