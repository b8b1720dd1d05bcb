import {
  CreateTableCommand, DescribeTableCommand, DescribeTimeToLiveCommand, LimitExceededException, ResourceInUseException, ResourceNotFoundException, UpdateTableCommand,
  UpdateTimeToLiveCommand, type DynamoDBClient, type TableDescription, type TimeToLiveDescription, type UpdateTableCommandInput,
} from '@aws-sdk/client-dynamodb';
import { TABLES, tableName, TTL_ATTRIBUTE, type TableKey } from '@orbit/lib';
import { describe, expect, it } from 'vitest';
import { StackError } from '../stack/errors.js';
import { createTableInput, provisionTables } from './tables.js';

const suffixes = { ORBIT_DEV_TABLE_SUFFIX: '-t', ORBIT_TEST_TABLE_SUFFIX: '-t', ORBIT_STAGING_TABLE_SUFFIX: '-t', ORBIT_PRODUCTION_TABLE_SUFFIX: '-t' };
const EVENT_LOG = tableName('userEventLog', suffixes);
const ERROR_LOG = tableName('userErrorLog', suffixes);
const LOG_TABLES = (Object.keys(TABLES) as TableKey[]).filter((key) => key === 'userEventLog' || key === 'userErrorLog').map((key) => tableName(key, suffixes));
const quick = { maxMs: 200, pollMs: 5 };

/** A table as DynamoDB describes one made from its CreateTable input, in `status` with its indexes in `indexStatus`. */
function describedAs(key: TableKey, status: TableDescription['TableStatus'] = 'ACTIVE', indexStatus: 'ACTIVE' | 'CREATING' = status === 'ACTIVE' ? 'ACTIVE' : 'CREATING'): TableDescription {
  const input = createTableInput(tableName(key, suffixes), TABLES[key]);
  return {
    TableName: input.TableName, TableStatus: status, KeySchema: input.KeySchema, AttributeDefinitions: input.AttributeDefinitions,
    ...(input.GlobalSecondaryIndexes ? { GlobalSecondaryIndexes: input.GlobalSecondaryIndexes.map((index) => ({ ...index, IndexStatus: indexStatus })) } : {}),
  };
}

/**
 * DynamoDB with `tables` in it (by name); `describe` may answer otherwise for one table, `create` refuse. An index
 * UpdateTable adds is CREATING for `buildDescribes` descriptions, then ACTIVE; like DynamoDB, it refuses a second
 * index while one is being built.
 */
function fakeDynamo(
  tables: Map<string, TableDescription>,
  hooks: {
    describe?: (name: string, count: number) => TableDescription | undefined; create?: (name: string) => void; update?: (add: (name: string) => void) => void; buildDescribes?: number;
    /** TTL of the tables there at first (by name): by default the logs' on expiresAt, as provisioning leaves them, the others' off. */
    ttl?: ReadonlyMap<string, TimeToLiveDescription>;
    /** Called on UpdateTimeToLive before it is applied: may change the TTL (another provisioner) and throw. */
    updateTtl?: (ttl: Map<string, TimeToLiveDescription>, name: string) => void;
  } = {},
) {
  const described = new Map<string, number>();
  const created: string[] = [];
  const updates: UpdateTableCommandInput[] = [];
  const ttlUpdates: string[] = [];
  const building = new Map<string, number>();
  const ttl = new Map<string, TimeToLiveDescription>(hooks.ttl ?? []);
  // A table this provisioner created has none yet; one made otherwise (there at first, or by another provisioner) is as provisioned.
  const ttlOf = (name: string): TimeToLiveDescription => ttl.get(name)
    ?? (!created.includes(name) && LOG_TABLES.includes(name) ? { TimeToLiveStatus: 'ENABLED', AttributeName: TTL_ATTRIBUTE } : { TimeToLiveStatus: 'DISABLED' });
  const send = async (command: DescribeTableCommand | CreateTableCommand | UpdateTableCommand | DescribeTimeToLiveCommand | UpdateTimeToLiveCommand) => {
    const name = command.input.TableName ?? '';
    if (command instanceof DescribeTimeToLiveCommand) return { TimeToLiveDescription: ttlOf(name) };
    if (command instanceof UpdateTimeToLiveCommand) {
      ttlUpdates.push(name);
      hooks.updateTtl?.(ttl, name);
      // As DynamoDB Local answers: one TTL per table, enabled once.
      if (ttlOf(name).TimeToLiveStatus === 'ENABLED') throw new Error('TimeToLive is already enabled');
      ttl.set(name, { TimeToLiveStatus: 'ENABLED', AttributeName: command.input.TimeToLiveSpecification?.AttributeName ?? '' });
      return {};
    }
    if (command instanceof CreateTableCommand) {
      hooks.create?.(name);
      created.push(name);
      const key = (Object.keys(TABLES) as TableKey[]).find((each) => tableName(each, suffixes) === name);
      if (key) tables.set(name, describedAs(key));
      return {};
    }
    if (command instanceof UpdateTableCommand) return updated(command.input);
    const count = (described.get(name) ?? 0) + 1;
    described.set(name, count);
    const table = hooks.describe?.(name, count) ?? tables.get(name);
    if (!table) throw new ResourceNotFoundException({ message: `Requested resource not found: Table: ${name} not found`, $metadata: {} });
    for (const index of table.GlobalSecondaryIndexes ?? []) {
      const left = building.get(index.IndexName ?? '');
      if (left === undefined) continue;
      if (left <= 0) {
        index.IndexStatus = 'ACTIVE';
        building.delete(index.IndexName ?? '');
      } else building.set(index.IndexName ?? '', left - 1);
    }
    return { Table: structuredClone(table) };
  };
  const updated = (input: UpdateTableCommandInput) => {
    updates.push(input);
    const table = tables.get(input.TableName ?? '');
    const create = input.GlobalSecondaryIndexUpdates?.[0]?.Create;
    if (!table || !create) throw new Error('the fake takes index creations of known tables only');
    const add = (indexName: string): void => {
      const index = describedAs('userEventLog').GlobalSecondaryIndexes?.find((each) => each.IndexName === indexName) ?? { IndexName: indexName, KeySchema: create.KeySchema, Projection: create.Projection };
      building.set(indexName, hooks.buildDescribes ?? 2);
      table.GlobalSecondaryIndexes = [...(table.GlobalSecondaryIndexes ?? []), { ...index, IndexStatus: 'CREATING' }];
    };
    hooks.update?.(add);
    if ((input.GlobalSecondaryIndexUpdates ?? []).length > 1 || building.size > 0) {
      throw new LimitExceededException({ message: 'Subscriber limit exceeded: Only 1 online index can be created or deleted simultaneously per table', $metadata: {} });
    }
    add(create.IndexName ?? '');
    return {};
  };
  return { client: { send } as unknown as DynamoDBClient, created, described, updates, ttl, ttlUpdates };
}

/** The event log as an earlier Orbit made it: without the indexes named. */
function eventLogWithout(...indexNames: string[]): TableDescription {
  const table = describedAs('userEventLog');
  return { ...table, GlobalSecondaryIndexes: (table.GlobalSecondaryIndexes ?? []).filter((index) => !indexNames.includes(index.IndexName ?? '')) };
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

  it('refuses a table of the right name with other keys or indexes, naming each difference and how to keep its rows (it answered "found" and the gateway\'s timeline read failed)', async () => {
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
    const dynamo = fakeDynamo(tables);
    const failure = await provisionTables(dynamo.client, suffixes, quick).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(StackError);
    expect(failure).toMatchObject({ code: 'ORBIT_ERR_STACK_PROVISION' });
    const message = (failure as StackError).message;
    expect(message).toContain(`table ${EVENT_LOG} is not the one Orbit needs, and DynamoDB cannot change it into it in place`);
    expect(message).toContain('its key is id (HASH), not pid (HASH), eventKey (RANGE)');
    expect(message).toContain('index byImageUID is keyed imageUID (HASH), not imageUID (HASH), eventKey (RANGE)');
    expect(message).toContain('index byUsername projects KEYS_ONLY, not ALL');
    expect(message).not.toContain('ownIndex');
    // Advice that keeps the rows: a new table for another key, an index rebuilt from the rows for another index.
    expect(message).not.toContain('Delete it (and its rows)');
    expect(message).toContain('choose other names with ORBIT_*_TABLE_SUFFIX, provision (which creates the new table) and copy the rows across');
    expect(message).toContain(`delete index byUsername (aws dynamodb update-table --table-name ${EVENT_LOG} --global-secondary-index-updates '[{"Delete":{"IndexName":"byUsername"}}]')`);
    expect(message).toContain('the rows are in the table, not in the index');
    // The missing byCorrelationId is not added to a table refused.
    expect(dynamo.updates).toEqual([]);
  });

  it('refuses an index of Orbit\'s name with another projection without adding the one missing beside it', async () => {
    const tables = allTables();
    const table = eventLogWithout('byCorrelationId');
    tables.set(EVENT_LOG, { ...table, GlobalSecondaryIndexes: (table.GlobalSecondaryIndexes ?? []).map((index) => (index.IndexName === 'byUsername' ? { ...index, Projection: { ProjectionType: 'KEYS_ONLY' } } : index)) });
    const dynamo = fakeDynamo(tables);
    await expect(provisionTables(dynamo.client, suffixes, quick)).rejects.toThrow(/index byUsername projects KEYS_ONLY, not ALL\. To keep its rows: an index cannot change in place.*delete index byUsername/);
    expect(dynamo.updates).toEqual([]);
  });

  it('adds an index an earlier Orbit\'s table lacks in place, with its key attributes, on-demand as the table is, and reports the change', async () => {
    const tables = allTables();
    tables.set(EVENT_LOG, { ...eventLogWithout('byCorrelationId'), BillingModeSummary: { BillingMode: 'PAY_PER_REQUEST' } });
    const dynamo = fakeDynamo(tables);
    const steps = await provisionTables(dynamo.client, suffixes, quick);
    expect(steps.find((step) => step.name === EVENT_LOG)).toEqual({ kind: 'table', name: EVENT_LOG, action: 'updated', detail: 'index byCorrelationId added' });
    expect(steps.filter((step) => step.name !== EVENT_LOG).every((step) => step.action === 'found')).toBe(true);
    expect(dynamo.updates).toEqual([{
      TableName: EVENT_LOG,
      AttributeDefinitions: [{ AttributeName: 'eventKey', AttributeType: 'S' }, { AttributeName: 'correlationId', AttributeType: 'S' }],
      GlobalSecondaryIndexUpdates: [{ Create: {
        IndexName: 'byCorrelationId', KeySchema: [{ AttributeName: 'correlationId', KeyType: 'HASH' }, { AttributeName: 'eventKey', KeyType: 'RANGE' }], Projection: { ProjectionType: 'ALL' },
      } }],
    }]);
    // Answered once the index is ACTIVE: a service started next can query it.
    expect(tables.get(EVENT_LOG)?.GlobalSecondaryIndexes?.find((index) => index.IndexName === 'byCorrelationId')?.IndexStatus).toBe('ACTIVE');
    const again = await provisionTables(dynamo.client, suffixes, quick);
    expect(again.every((step) => step.action === 'found')).toBe(true);
    expect(dynamo.updates).toHaveLength(1);
  });

  it('adds several missing indexes one after another, as DynamoDB builds one at a time, each once the one before is ACTIVE', async () => {
    const tables = allTables();
    tables.set(EVENT_LOG, eventLogWithout('byImageUID', 'byCorrelationId'));
    const dynamo = fakeDynamo(tables, { buildDescribes: 3 });
    const steps = await provisionTables(dynamo.client, suffixes, quick);
    expect(steps.find((step) => step.name === EVENT_LOG)).toEqual({ kind: 'table', name: EVENT_LOG, action: 'updated', detail: 'indexes byImageUID, byCorrelationId added' });
    expect(dynamo.updates.map((update) => update.GlobalSecondaryIndexUpdates?.map((each) => each.Create?.IndexName))).toEqual([['byImageUID'], ['byCorrelationId']]);
  });

  it('waits for an index another provisioner began adding between its look and its own UpdateTable, and reports it as found', async () => {
    const tables = allTables();
    tables.set(EVENT_LOG, eventLogWithout('byCorrelationId'));
    let raced = false;
    const dynamo = fakeDynamo(tables, { update: (add) => { if (!raced) add('byCorrelationId'); raced = true; } });
    const steps = await provisionTables(dynamo.client, suffixes, quick);
    expect(steps.find((step) => step.name === EVENT_LOG)).toEqual({ kind: 'table', name: EVENT_LOG, action: 'found' });
    expect(tables.get(EVENT_LOG)?.GlobalSecondaryIndexes?.find((index) => index.IndexName === 'byCorrelationId')?.IndexStatus).toBe('ACTIVE');
    expect(dynamo.updates).toHaveLength(1);
  });

  it('gives a new index of a provisioned table the table\'s own throughput (DynamoDB refuses one without)', async () => {
    const tables = allTables();
    const table = eventLogWithout('byCorrelationId');
    // A provisioned table from before on-demand billing has no billing summary at all.
    tables.set(EVENT_LOG, { ...table, ProvisionedThroughput: { ReadCapacityUnits: 7, WriteCapacityUnits: 3, NumberOfDecreasesToday: 0 } });
    const dynamo = fakeDynamo(tables);
    await provisionTables(dynamo.client, suffixes, quick);
    expect(dynamo.updates[0]?.GlobalSecondaryIndexUpdates?.[0]?.Create?.ProvisionedThroughput).toEqual({ ReadCapacityUnits: 7, WriteCapacityUnits: 3 });
  });

  it('gives up waiting on an index still being built, saying the rows are untouched and that provisioning again goes on waiting', async () => {
    const tables = allTables();
    tables.set(EVENT_LOG, eventLogWithout('byCorrelationId'));
    const dynamo = fakeDynamo(tables, { buildDescribes: 1_000_000 });
    await expect(provisionTables(dynamo.client, suffixes, quick)).rejects.toThrow(
      `table ${EVENT_LOG} was not ACTIVE after 0 s (index byCorrelationId CREATING); DynamoDB goes on building index byCorrelationId from the table's rows, which are untouched (on a large table this takes a while): provision again to go on waiting`);
    // Provisioning again waits for the index being built instead of asking for it twice.
    dynamo.updates.length = 0;
    await expect(provisionTables(dynamo.client, suffixes, quick)).rejects.toThrow('(index byCorrelationId CREATING): provision again');
    expect(dynamo.updates).toEqual([]);
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

describe('provisionTables and the per-request logs\' expiry (found by a storage audit: TTL was off on every table, and the logs grew for ever)', () => {
  it('turns TTL on expiresAt on for the event and error logs it creates, and for no table that holds state', async () => {
    const dynamo = fakeDynamo(new Map());
    const steps = await provisionTables(dynamo.client, suffixes, quick);
    expect([...LOG_TABLES].sort()).toEqual([EVENT_LOG, ERROR_LOG].sort());
    expect(dynamo.ttlUpdates.sort()).toEqual([...LOG_TABLES].sort());
    for (const name of LOG_TABLES) {
      expect(dynamo.ttl.get(name)).toEqual({ TimeToLiveStatus: 'ENABLED', AttributeName: 'expiresAt' });
      expect(steps.find((step) => step.name === name)).toEqual({ kind: 'table', name, action: 'created', detail: 'TTL on expiresAt' });
    }
    const state = steps.filter((step) => !LOG_TABLES.includes(step.name));
    expect(state).toEqual(state.map((step) => ({ kind: 'table', name: step.name, action: 'created' })));
    expect(state).toHaveLength(Object.keys(TABLES).length - 2);
  });

  it('turns it on for logs an earlier Orbit made without it, says so, and finds it the next time, changing nothing', async () => {
    const off = new Map(LOG_TABLES.map((name): [string, TimeToLiveDescription] => [name, { TimeToLiveStatus: 'DISABLED' }]));
    const tables = allTables();
    tables.set(EVENT_LOG, eventLogWithout('byCorrelationId'));
    const dynamo = fakeDynamo(tables, { ttl: off });
    const steps = await provisionTables(dynamo.client, suffixes, quick);
    expect(steps.find((step) => step.name === EVENT_LOG)).toEqual({ kind: 'table', name: EVENT_LOG, action: 'updated', detail: 'index byCorrelationId added; TTL on expiresAt enabled' });
    expect(steps.find((step) => step.name === ERROR_LOG)).toEqual({ kind: 'table', name: ERROR_LOG, action: 'updated', detail: 'TTL on expiresAt enabled' });
    expect(steps.filter((step) => !LOG_TABLES.includes(step.name)).every((step) => step.action === 'found' && step.detail === undefined)).toBe(true);
    const again = await provisionTables(dynamo.client, suffixes, quick);
    expect(again.filter((step) => step.action !== 'found' || step.detail !== undefined)).toEqual([]);
    expect(dynamo.ttlUpdates.sort()).toEqual([...LOG_TABLES].sort());
  });

  it('leaves a TTL an operator put on another attribute alone, saying rows expire by it and how to use Orbit\'s', async () => {
    const dynamo = fakeDynamo(allTables(), { ttl: new Map([[EVENT_LOG, { TimeToLiveStatus: 'ENABLED', AttributeName: 'createdTimestampUnix' }]]) });
    const steps = await provisionTables(dynamo.client, suffixes, quick);
    const step = steps.find((each) => each.name === EVENT_LOG);
    expect(step).toMatchObject({ action: 'found', detail: expect.stringContaining('TTL is on attribute createdTimestampUnix, not expiresAt') as unknown });
    expect(step?.detail).toContain(`aws dynamodb update-time-to-live --table-name ${EVENT_LOG} --time-to-live-specification Enabled=false,AttributeName=createdTimestampUnix`);
    expect(dynamo.ttlUpdates).toEqual([]);
  });

  it('finds TTL another provisioner turned on between its look and its own request, instead of failing', async () => {
    const off = new Map([[ERROR_LOG, { TimeToLiveStatus: 'DISABLED' } as TimeToLiveDescription]]);
    const dynamo = fakeDynamo(allTables(), { ttl: off, updateTtl: (ttl, name) => ttl.set(name, { TimeToLiveStatus: 'ENABLED', AttributeName: TTL_ATTRIBUTE }) });
    const steps = await provisionTables(dynamo.client, suffixes, quick);
    expect(steps.find((step) => step.name === ERROR_LOG)).toEqual({ kind: 'table', name: ERROR_LOG, action: 'found' });
  });

  it('fails naming the table when DynamoDB refuses TTL for another reason (being disabled meanwhile)', async () => {
    const off = new Map([[ERROR_LOG, { TimeToLiveStatus: 'DISABLING' } as TimeToLiveDescription]]);
    const dynamo = fakeDynamo(allTables(), { ttl: off, updateTtl: () => { throw new Error('Time to live has been modified multiple times within a fixed interval'); } });
    await expect(provisionTables(dynamo.client, suffixes, quick)).rejects.toThrow(`table ${ERROR_LOG}: TTL on expiresAt could not be turned on (TTL DISABLING): Time to live has been modified`);
  });
});
