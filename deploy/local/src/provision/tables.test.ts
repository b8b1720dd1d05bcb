import {
  CreateTableCommand, DescribeTableCommand, ResourceInUseException, ResourceNotFoundException, type DynamoDBClient, type TableDescription,
} from '@aws-sdk/client-dynamodb';
import { TABLES, tableName, type TableKey } from '@orbit/lib';
import { describe, expect, it } from 'vitest';
import { StackError } from '../stack/errors.js';
import { createTableInput, provisionTables } from './tables.js';

const suffixes = { ORBIT_DEV_TABLE_SUFFIX: '-t', ORBIT_TEST_TABLE_SUFFIX: '-t', ORBIT_STAGING_TABLE_SUFFIX: '-t', ORBIT_PRODUCTION_TABLE_SUFFIX: '-t' };
const EVENT_LOG = tableName('userEventLog', suffixes);
const quick = { maxMs: 200, pollMs: 5 };

/** A table as DynamoDB describes one made from its CreateTable input, in `status` with its indexes in `indexStatus`. */
function describedAs(key: TableKey, status: TableDescription['TableStatus'] = 'ACTIVE', indexStatus: 'ACTIVE' | 'CREATING' = status === 'ACTIVE' ? 'ACTIVE' : 'CREATING'): TableDescription {
  const input = createTableInput(tableName(key, suffixes), TABLES[key]);
  return {
    TableName: input.TableName, TableStatus: status, KeySchema: input.KeySchema, AttributeDefinitions: input.AttributeDefinitions,
    ...(input.GlobalSecondaryIndexes ? { GlobalSecondaryIndexes: input.GlobalSecondaryIndexes.map((index) => ({ ...index, IndexStatus: indexStatus })) } : {}),
  };
}

/** DynamoDB with `tables` in it (by name); `describe` may answer otherwise for one table, `create` refuse. */
function fakeDynamo(tables: Map<string, TableDescription>, hooks: { describe?: (name: string, count: number) => TableDescription | undefined; create?: (name: string) => void } = {}) {
  const described = new Map<string, number>();
  const created: string[] = [];
  const send = async (command: DescribeTableCommand | CreateTableCommand) => {
    const name = command.input.TableName ?? '';
    if (command instanceof CreateTableCommand) {
      hooks.create?.(name);
      created.push(name);
      const key = (Object.keys(TABLES) as TableKey[]).find((each) => tableName(each, suffixes) === name);
      if (key) tables.set(name, describedAs(key));
      return {};
    }
    const count = (described.get(name) ?? 0) + 1;
    described.set(name, count);
    const table = hooks.describe?.(name, count) ?? tables.get(name);
    if (!table) throw new ResourceNotFoundException({ message: `Requested resource not found: Table: ${name} not found`, $metadata: {} });
    return { Table: table };
  };
  return { client: { send } as unknown as DynamoDBClient, created, described };
}

const allTables = (): Map<string, TableDescription> => new Map((Object.keys(TABLES) as TableKey[]).map((key) => [tableName(key, suffixes), describedAs(key)]));

describe('provisionTables', () => {
  it('creates what is missing and finds what is there as TABLES defines it', async () => {
    const tables = allTables();
    tables.delete(EVENT_LOG);
    const dynamo = fakeDynamo(tables);
    const steps = await provisionTables(dynamo.client, suffixes, quick);
    expect(steps.filter((step) => step.action === 'created').map((step) => step.name)).toEqual([EVENT_LOG]);
    expect(steps).toHaveLength(Object.keys(TABLES).length);
  });

  it('refuses a table of the right name with other keys or indexes, naming each difference (it answered "found" and the gateway\'s timeline read failed)', async () => {
    const tables = allTables();
    const wrong = describedAs('userEventLog');
    tables.set(EVENT_LOG, {
      ...wrong,
      KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
      GlobalSecondaryIndexes: [
        { IndexName: 'byImageUID', KeySchema: [{ AttributeName: 'imageUID', KeyType: 'HASH' }], Projection: { ProjectionType: 'ALL' }, IndexStatus: 'ACTIVE' },
        { IndexName: 'byUsername', KeySchema: [{ AttributeName: 'username', KeyType: 'HASH' }, { AttributeName: 'eventKey', KeyType: 'RANGE' }], Projection: { ProjectionType: 'KEYS_ONLY' }, IndexStatus: 'ACTIVE' },
        { IndexName: 'ownIndex', KeySchema: [{ AttributeName: 'topic', KeyType: 'HASH' }], Projection: { ProjectionType: 'ALL' }, IndexStatus: 'ACTIVE' },
      ],
    });
    const failure = await provisionTables(fakeDynamo(tables).client, suffixes, quick).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(StackError);
    expect(failure).toMatchObject({ code: 'ORBIT_ERR_STACK_PROVISION' });
    const message = (failure as StackError).message;
    expect(message).toContain(`table ${EVENT_LOG} is not the one Orbit needs`);
    expect(message).toContain('its key is id (HASH), not pid (HASH), eventKey (RANGE)');
    expect(message).toContain('index byCorrelationId (correlationId (HASH), eventKey (RANGE)) is missing');
    expect(message).toContain('index byImageUID is keyed imageUID (HASH), not imageUID (HASH), eventKey (RANGE)');
    expect(message).toContain('index byUsername projects KEYS_ONLY, not ALL');
    expect(message).not.toContain('ownIndex');
  });

  it('finds a table another provisioner created between its look and its own create, instead of failing', async () => {
    const tables = allTables();
    tables.delete(EVENT_LOG);
    const dynamo = fakeDynamo(tables, {
      create: (name) => {
        tables.set(name, describedAs('userEventLog', 'CREATING'));
        throw new ResourceInUseException({ message: 'Cannot create preexisting table', $metadata: {} });
      },
      describe: (name, count) => (name === EVENT_LOG && count >= 4 ? describedAs('userEventLog') : undefined),
    });
    const steps = await provisionTables(dynamo.client, suffixes, quick);
    expect(steps.find((step) => step.name === EVENT_LOG)).toEqual({ kind: 'table', name: EVENT_LOG, action: 'found' });
    expect(dynamo.described.get(EVENT_LOG)).toBe(4);
  });

  it('answers only once a table still being created, and its indexes, are ACTIVE', async () => {
    const tables = allTables();
    // The table is ACTIVE before its indexes are.
    const dynamo = fakeDynamo(tables, {
      describe: (name, count) => (name !== EVENT_LOG ? undefined : count < 3 ? describedAs('userEventLog', 'CREATING') : count < 5 ? describedAs('userEventLog', 'ACTIVE', 'CREATING') : undefined),
    });
    const steps = await provisionTables(dynamo.client, suffixes, quick);
    expect(steps.find((step) => step.name === EVENT_LOG)?.action).toBe('found');
    expect(dynamo.described.get(EVENT_LOG)).toBe(5);
  });

  it('gives up on a table that does not become ACTIVE in time, saying what it waited for', async () => {
    const dynamo = fakeDynamo(allTables(), { describe: (name) => (name === EVENT_LOG ? describedAs('userEventLog', 'ACTIVE', 'CREATING') : undefined) });
    const started = Date.now();
    await expect(provisionTables(dynamo.client, suffixes, quick)).rejects.toThrow(
      `table ${EVENT_LOG} was not ACTIVE after 0 s (index byUsername CREATING, index byImageUID CREATING, index byCorrelationId CREATING)`);
    expect(Date.now() - started).toBeLessThan(2_000);
  });
});
