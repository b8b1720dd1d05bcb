import type { S3Client } from '@aws-sdk/client-s3';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { sampleEvents, type PipelineFailed } from '@orbit/schemas';
import { describe, expect, it } from 'vitest';
import { memoryLogger } from '../../../test/helpers/memory-logger.js';
import { handleTransfer } from './transfer-flow.js';

const buckets = { Development: 'dev', Testing: 'test', Staging: 'stage', Production: 'prod' } as const;
const dynamo = { send: async () => ({}) } as unknown as DynamoDBDocumentClient;

describe('handleTransfer', () => {
  // Found by a review: a transfer's failure was warned of whatever its reason, an upload's store step's logged at error for the operator's.
  it('logs a transfer S3 refuses Orbit\'s role for at error, as an upload\'s store step does, before its PipelineFailed goes out', async () => {
    const s3 = { send: async () => { throw Object.assign(new Error('Access Denied'), { name: 'AccessDenied', $metadata: { httpStatusCode: 403 } }); } } as unknown as S3Client;
    const { logger, lines } = memoryLogger();
    const failed: PipelineFailed[] = [];
    const outcome = await handleTransfer(sampleEvents()['orbit.transfer.requested'], {
      s3, dynamo, metadataTable: 'meta', bucketOf: (environment) => buckets[environment], registryOf: () => 'registry.example.com/orbit',
      publish: { copied: async () => undefined, failed: async (event) => { failed.push(event); } },
    }, logger);
    expect(outcome).toMatchObject({ kind: 'failed', event: { reasonCode: 'STORE_ACCESS_DENIED' } });
    expect(failed).toHaveLength(1);
    expect(lines).toEqual([expect.objectContaining({ level: 'error', msg: 'transfer failed', reasonCode: 'STORE_ACCESS_DENIED' })]);
  });

  it('warns of a transfer whose source is not there, the request\'s fault', async () => {
    const s3 = { send: async () => { throw Object.assign(new Error('NotFound'), { name: 'NotFound', $metadata: { httpStatusCode: 404 } }); } } as unknown as S3Client;
    const { logger, lines } = memoryLogger();
    const outcome = await handleTransfer(sampleEvents()['orbit.transfer.requested'], {
      s3, dynamo, metadataTable: 'meta', bucketOf: (environment) => buckets[environment], registryOf: () => 'registry.example.com/orbit',
      publish: { copied: async () => undefined, failed: async () => undefined },
    }, logger);
    expect(outcome).toMatchObject({ kind: 'failed', event: { reasonCode: 'SOURCE_OBJECT_MISSING' } });
    expect(lines).toEqual([expect.objectContaining({ level: 'warn', msg: 'transfer failed', reasonCode: 'SOURCE_OBJECT_MISSING' })]);
  });
});
