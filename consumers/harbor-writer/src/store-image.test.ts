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
});
