import { randomUUID } from 'node:crypto';
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { createDynamo, newImageUID, tableName } from '@orbit/lib';
import { describe, expect, it } from 'vitest';
import { testConfig } from '../../../test/helpers/index.js';
import { dynamoNameRegistry } from './name-registry.js';

const dynamo = createDynamo(testConfig);
const metadataTable = tableName('appImageMetadata', testConfig);

describe('the validator\'s name registry against DynamoDB Local', () => {
  it('says who holds a version: nobody, the same request, another request, or another spelling of its chart version', async () => {
    const names = dynamoNameRegistry(dynamo, metadataTable);
    const imageUID = newImageUID();
    const stored = `req-${randomUUID()}`;
    await dynamo.send(new PutCommand({ TableName: metadataTable, Item: { imageUID, imageVersion: 'v1-2-3', requestId: stored } }));
    const claim = (imageVersion: string, requestId = `req-${randomUUID()}`) => names.holderOf({ owner: 'dev1', imageUID, imageName: 'billing-api', imageVersion, requestId });
    expect(await claim('v1-2-3', stored)).toBe('this request');
    expect(await claim('v1-2-3')).toBe('another request');
    // The metadata table holds what ViewPort may not show yet: 1.2.3 and v1-02-3 would be chart version 1.2.3 too.
    expect(await claim('1.2.3')).toEqual({ sameChartVersion: 'v1-2-3' });
    expect(await claim('v1-02-3')).toEqual({ sameChartVersion: 'v1-2-3' });
    expect(await claim('v1-2-4')).toBe('nobody');
    expect(await names.holderOf({ owner: 'dev1', imageUID: newImageUID(), imageName: 'billing-api', imageVersion: '1.2.3', requestId: stored })).toBe('nobody');
  });
});
