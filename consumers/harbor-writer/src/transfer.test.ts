import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { sampleEvents } from '@orbit/schemas';
import { describe, expect, it } from 'vitest';
import { quietLogger } from '../../../test/helpers/index.js';
import { overwrittenAfterItsHead } from '../../../test/helpers/overwritten-after-head.js';
import { transferImage } from './transfer.js';

const validated = 'a'.repeat(64);
const buckets = { Development: 'dev', Testing: 'test', Staging: 'stage', Production: 'prod' } as const;

/** The metadata row the store wrote: the validated SHA-256, no S3 version (the bucket keeps none). */
const dynamo = { send: async () => ({ Item: { sha256: validated, versionId: null } }) } as unknown as DynamoDBDocumentClient;

describe('transferImage', () => {
  it('fails SOURCE_CHANGED, copying nothing, when an unversioned source is replaced between the HEAD that checked it and the copy', async () => {
    // The Development copy is replaced by other bytes of the same size, out of band, right after the transfer's HEAD checked it.
    const { s3, objects } = overwrittenAfterItsHead({ dev: { etag: '"validated"', size: 10, metadata: { 'orbit-sha256': validated } } }, 'dev', { etag: '"other"', size: 10, metadata: {} });
    const event = sampleEvents()['orbit.transfer.requested'];
    const outcome = await transferImage(event, { s3, dynamo, metadataTable: 'meta', bucketOf: (environment) => buckets[environment] }, quietLogger);
    expect(outcome).toMatchObject({ kind: 'failed', event: { reasonCode: 'SOURCE_CHANGED' } });
    // Not the replacement labelled with the validated SHA-256, which only a size check would have stood between.
    expect(objects.get('test')).toBeUndefined();
  });
});
