import {
  CreateTableCommand, DescribeTableCommand, ResourceNotFoundException, waitUntilTableExists,
  type AttributeDefinition, type DynamoDBClient, type GlobalSecondaryIndex,
} from '@aws-sdk/client-dynamodb';
import { TABLES, tableName, type TableDefinition, type TableKey, type TableSuffixes } from '@orbit/lib';
import type { ProvisionStep } from './report.js';

/** CreateTable input of one Chart Store table: on-demand billing, string keys, GSIs projecting all. */
export function createTableInput(name: string, table: TableDefinition): ConstructorParameters<typeof CreateTableCommand>[0] {
  const keyNames = new Set([table.partitionKey, ...(table.sortKey ? [table.sortKey] : [])]);
  const indexes: GlobalSecondaryIndex[] = Object.entries(table.indexes ?? {}).map(([indexName, [hash, range]]) => {
    keyNames.add(hash);
    keyNames.add(range);
    return {
      IndexName: indexName,
      KeySchema: [{ AttributeName: hash, KeyType: 'HASH' }, { AttributeName: range, KeyType: 'RANGE' }],
      Projection: { ProjectionType: 'ALL' },
    };
  });
  const attributes: AttributeDefinition[] = [...keyNames].map((attribute) => ({ AttributeName: attribute, AttributeType: 'S' }));
  return {
    TableName: name,
    BillingMode: 'PAY_PER_REQUEST',
    AttributeDefinitions: attributes,
    KeySchema: [
      { AttributeName: table.partitionKey, KeyType: 'HASH' },
      ...(table.sortKey ? [{ AttributeName: table.sortKey, KeyType: 'RANGE' as const }] : []),
    ],
    ...(indexes.length > 0 ? { GlobalSecondaryIndexes: indexes } : {}),
  };
}

export async function provisionTables(client: DynamoDBClient, suffixes: TableSuffixes): Promise<ProvisionStep[]> {
  const steps: ProvisionStep[] = [];
  for (const key of Object.keys(TABLES) as TableKey[]) {
    const name = tableName(key, suffixes);
    try {
      await client.send(new DescribeTableCommand({ TableName: name }));
      steps.push({ kind: 'table', name, action: 'found' });
      continue;
    } catch (error) {
      if (!(error instanceof ResourceNotFoundException)) throw error;
    }
    await client.send(new CreateTableCommand(createTableInput(name, TABLES[key])));
    await waitUntilTableExists({ client, maxWaitTime: 60 }, { TableName: name });
    steps.push({ kind: 'table', name, action: 'created' });
  }
  return steps;
}
