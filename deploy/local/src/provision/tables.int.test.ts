import { randomBytes } from 'node:crypto';
import { DeleteTableCommand, DescribeTimeToLiveCommand, DynamoDBClient, ResourceNotFoundException } from '@aws-sdk/client-dynamodb';
import { TABLES, tableName, type TableKey } from '@orbit/lib';
import { describe, expect, it } from 'vitest';
import { readProvisionConfig } from './index.js';
import { provisionTables } from './tables.js';

const config = readProvisionConfig();

describe('the per-request logs\' expiry against DynamoDB Local (found by a storage audit: TTL was off on every table)', () => {
  it('turns TTL on expiresAt on for the event and error logs only, and a second run finds it, changing nothing', async () => {
    // Private names: the tables of a whole installation under a suffix of this test's own.
    const suffix = `-fix43store-${randomBytes(4).toString('hex')}`;
    const suffixes = { ORBIT_DEV_TABLE_SUFFIX: suffix, ORBIT_TEST_TABLE_SUFFIX: suffix, ORBIT_STAGING_TABLE_SUFFIX: suffix, ORBIT_PRODUCTION_TABLE_SUFFIX: suffix };
    const dynamo = new DynamoDBClient({ region: config.AWS_REGION, endpoint: config.AWS_ENDPOINT_URL_DYNAMODB });
    const keys = Object.keys(TABLES) as TableKey[];
    try {
      const first = await provisionTables(dynamo, suffixes, { maxMs: 60_000, pollMs: 100 });
      const ttl = async (key: TableKey) => (await dynamo.send(new DescribeTimeToLiveCommand({ TableName: tableName(key, suffixes) }))).TimeToLiveDescription;
      // The per-request logs alone expire: the other tables hold state (metadata, charts, blob locations) that must outlive any retention.
      for (const key of keys) {
        if (key === 'userEventLog' || key === 'userErrorLog') {
          expect(await ttl(key), key).toEqual({ TimeToLiveStatus: 'ENABLED', AttributeName: 'expiresAt' });
          expect(first.find((step) => step.name === tableName(key, suffixes))).toMatchObject({ action: 'created', detail: 'TTL on expiresAt' });
        } else {
          expect((await ttl(key))?.TimeToLiveStatus, key).toBe('DISABLED');
        }
      }
      const second = await provisionTables(dynamo, suffixes, { maxMs: 60_000, pollMs: 100 });
      expect(second.filter((step) => step.action !== 'found' || step.detail !== undefined)).toEqual([]);
    } finally {
      for (const key of keys) {
        await dynamo.send(new DeleteTableCommand({ TableName: tableName(key, suffixes) })).catch((error: unknown) => { if (!(error instanceof ResourceNotFoundException)) throw error; });
      }
      dynamo.destroy();
    }
  });
});
