import {
  CreateTableCommand, DescribeTableCommand, ResourceInUseException, ResourceNotFoundException,
  type AttributeDefinition, type DynamoDBClient, type GlobalSecondaryIndex, type KeySchemaElement, type TableDescription,
} from '@aws-sdk/client-dynamodb';
import { abortableSleep, TABLES, tableName, type TableDefinition, type TableKey, type TableSuffixes } from '@orbit/lib';
import { StackError } from '../stack/errors.js';
import type { ProvisionStep } from './report.js';

type CreateTableInput = ConstructorParameters<typeof CreateTableCommand>[0];

/** CreateTable input of one Chart Store table: on-demand billing, string keys, GSIs projecting all. */
export function createTableInput(name: string, table: TableDefinition): CreateTableInput {
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

const keysOf = (schema: readonly KeySchemaElement[] | undefined): string => (schema ?? []).map((key) => `${key.AttributeName} (${key.KeyType})`).join(', ') || 'none';

/**
 * How a table that is there differs from what Orbit writes and queries: its
 * keys, and each of its indexes (name, keys, projected attributes). Indexes of
 * its own beside Orbit's are left alone: nothing Orbit does reads them.
 */
export function tableDifferences(wanted: CreateTableInput, table: TableDescription): string[] {
  const problems: string[] = [];
  if (keysOf(table.KeySchema) !== keysOf(wanted.KeySchema)) problems.push(`its key is ${keysOf(table.KeySchema)}, not ${keysOf(wanted.KeySchema)}`);
  const types = new Map((table.AttributeDefinitions ?? []).map((attribute) => [attribute.AttributeName, attribute.AttributeType]));
  for (const attribute of wanted.AttributeDefinitions ?? []) {
    const type = types.get(attribute.AttributeName);
    if (type !== undefined && type !== attribute.AttributeType) problems.push(`key attribute ${attribute.AttributeName} is of type ${type}, not ${attribute.AttributeType}`);
  }
  const indexes = new Map((table.GlobalSecondaryIndexes ?? []).map((index) => [index.IndexName, index]));
  for (const index of wanted.GlobalSecondaryIndexes ?? []) {
    const there = indexes.get(index.IndexName);
    if (!there) problems.push(`index ${index.IndexName} (${keysOf(index.KeySchema)}) is missing`);
    else if (keysOf(there.KeySchema) !== keysOf(index.KeySchema)) problems.push(`index ${index.IndexName} is keyed ${keysOf(there.KeySchema)}, not ${keysOf(index.KeySchema)}`);
    else if (there.Projection?.ProjectionType !== index.Projection?.ProjectionType) {
      problems.push(`index ${index.IndexName} projects ${there.Projection?.ProjectionType ?? 'nothing'}, not ${index.Projection?.ProjectionType ?? 'nothing'}`);
    }
  }
  return problems;
}

/** Longest provisioning waits for a table and its indexes to become usable: a new table's GSIs take a while on AWS. */
const ACTIVE_WAIT_MS = 180_000;
const ACTIVE_POLL_MS = 1_000;

async function described(client: DynamoDBClient, name: string): Promise<TableDescription | undefined> {
  try {
    return (await client.send(new DescribeTableCommand({ TableName: name }))).Table;
  } catch (error) {
    if (error instanceof ResourceNotFoundException) return undefined;
    throw error;
  }
}

/**
 * Creates missing tables and waits until each, and each of its indexes, is
 * ACTIVE: a service started right after provisioning finds them usable. A
 * table already there (or made meanwhile by another provisioner, such as
 * `npm start` beside `npm run provision`) is found; one whose keys or indexes
 * differ from TABLES fails provisioning, naming the differences, instead of
 * failing every write or timeline read later.
 */
export async function provisionTables(
  client: DynamoDBClient, suffixes: TableSuffixes, wait: { readonly maxMs?: number; readonly pollMs?: number } = {},
): Promise<ProvisionStep[]> {
  const steps: ProvisionStep[] = [];
  for (const key of Object.keys(TABLES) as TableKey[]) {
    const name = tableName(key, suffixes);
    const wanted = createTableInput(name, TABLES[key]);
    let action: ProvisionStep['action'] = 'found';
    if (!(await described(client, name))) {
      try {
        await client.send(new CreateTableCommand(wanted));
        action = 'created';
      } catch (error) {
        if (!(error instanceof ResourceInUseException)) throw error;
      }
    }
    await untilActive(client, wanted, wait.maxMs ?? ACTIVE_WAIT_MS, wait.pollMs ?? ACTIVE_POLL_MS);
    steps.push({ kind: 'table', name, action });
  }
  return steps;
}

async function untilActive(client: DynamoDBClient, wanted: CreateTableInput, maxMs: number, pollMs: number): Promise<void> {
  const name = wanted.TableName ?? '';
  const giveUpAt = Date.now() + maxMs;
  for (;;) {
    const table = await described(client, name);
    if (table) {
      const problems = tableDifferences(wanted, table);
      if (problems.length > 0) {
        throw new StackError('ORBIT_ERR_STACK_PROVISION', 'dynamodb',
          `table ${name} is not the one Orbit needs: ${problems.join('; ')}. Delete it (and its rows) or choose other names with ORBIT_*_TABLE_SUFFIX, then provision again`);
      }
      if (table.TableStatus === 'DELETING') throw new StackError('ORBIT_ERR_STACK_PROVISION', 'dynamodb', `table ${name} is being deleted: provision again once it is gone`);
    }
    const waitingFor = !table ? 'not listed yet' : [
      ...(table.TableStatus === 'ACTIVE' ? [] : [`table ${table.TableStatus ?? 'status unknown'}`]),
      ...(table.GlobalSecondaryIndexes ?? []).filter((index) => index.IndexStatus !== 'ACTIVE').map((index) => `index ${index.IndexName} ${index.IndexStatus ?? 'status unknown'}`),
    ].join(', ');
    if (waitingFor === '') return;
    if (Date.now() >= giveUpAt) {
      throw new StackError('ORBIT_ERR_STACK_PROVISION', 'dynamodb', `table ${name} was not ACTIVE after ${Math.round(maxMs / 1000)} s (${waitingFor}): provision again to go on waiting`);
    }
    await abortableSleep(Math.min(pollMs, Math.max(0, giveUpAt - Date.now())));
  }
}
