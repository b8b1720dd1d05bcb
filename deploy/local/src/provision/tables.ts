import {
  CreateTableCommand, DescribeTableCommand, DescribeTimeToLiveCommand, LimitExceededException, ResourceInUseException, ResourceNotFoundException, UpdateTableCommand,
  UpdateTimeToLiveCommand, type AttributeDefinition, type CreateGlobalSecondaryIndexAction, type DynamoDBClient, type GlobalSecondaryIndex, type KeySchemaElement, type TableDescription,
} from '@aws-sdk/client-dynamodb';
import { abortableSleep, TABLES, tableName, TTL_ATTRIBUTE, type TableDefinition, type TableKey, type TableSuffixes } from '@orbit/lib';
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

/** One way a table that is there differs from what Orbit needs that DynamoDB cannot change in place, and how to put it right keeping its rows. */
export interface TableDifference {
  readonly problem: string;
  readonly remedy: string;
}

const NEW_TABLE_REMEDY = 'a table\'s key cannot change in place: choose other names with ORBIT_*_TABLE_SUFFIX, provision (which creates the new table) and copy the rows across';

/** A GSI can be dropped and built again from the table's rows: nothing is lost but the time to build it. */
function rebuildIndexRemedy(table: string, index: string): string {
  return `an index cannot change in place, but the rows are in the table, not in the index: delete index ${index} `
    + `(aws dynamodb update-table --table-name ${table} --global-secondary-index-updates '[{"Delete":{"IndexName":"${index}"}}]') `
    + 'and provision again, which builds it anew from the rows';
}

/** What uses an attribute whose type is not Orbit's: the table's key (a new table) or indexes (rebuilt). */
function attributeTypeRemedy(table: TableDescription, attribute: string): string {
  const name = table.TableName ?? '';
  if ((table.KeySchema ?? []).some((key) => key.AttributeName === attribute)) return NEW_TABLE_REMEDY;
  const users = (table.GlobalSecondaryIndexes ?? []).filter((index) => (index.KeySchema ?? []).some((key) => key.AttributeName === attribute));
  return users.map((index) => rebuildIndexRemedy(name, index.IndexName ?? '')).join('; ') || NEW_TABLE_REMEDY;
}

/**
 * How a table that is there differs from what Orbit writes and queries in
 * ways DynamoDB cannot change in place: its keys, its key attributes' types,
 * and each of Orbit's indexes it has under another key or projection. An
 * index it lacks is not among them: provisioning adds it (missingIndexes).
 * Indexes of its own beside Orbit's are left alone: nothing Orbit does reads them.
 */
export function tableDifferences(wanted: CreateTableInput, table: TableDescription): TableDifference[] {
  const name = table.TableName ?? wanted.TableName ?? '';
  const differences: TableDifference[] = [];
  if (keysOf(table.KeySchema) !== keysOf(wanted.KeySchema)) {
    differences.push({ problem: `its key is ${keysOf(table.KeySchema)}, not ${keysOf(wanted.KeySchema)}`, remedy: NEW_TABLE_REMEDY });
  }
  const types = new Map((table.AttributeDefinitions ?? []).map((attribute) => [attribute.AttributeName, attribute.AttributeType]));
  for (const attribute of wanted.AttributeDefinitions ?? []) {
    const type = types.get(attribute.AttributeName);
    if (type !== undefined && type !== attribute.AttributeType) {
      differences.push({ problem: `key attribute ${attribute.AttributeName} is of type ${type}, not ${attribute.AttributeType}`, remedy: attributeTypeRemedy(table, attribute.AttributeName ?? '') });
    }
  }
  const indexes = new Map((table.GlobalSecondaryIndexes ?? []).map((index) => [index.IndexName, index]));
  for (const index of wanted.GlobalSecondaryIndexes ?? []) {
    const there = indexes.get(index.IndexName);
    if (!there) continue;
    if (keysOf(there.KeySchema) !== keysOf(index.KeySchema)) {
      differences.push({ problem: `index ${index.IndexName} is keyed ${keysOf(there.KeySchema)}, not ${keysOf(index.KeySchema)}`, remedy: rebuildIndexRemedy(name, index.IndexName ?? '') });
    } else if (there.Projection?.ProjectionType !== index.Projection?.ProjectionType) {
      differences.push({
        problem: `index ${index.IndexName} projects ${there.Projection?.ProjectionType ?? 'nothing'}, not ${index.Projection?.ProjectionType ?? 'nothing'}`,
        remedy: rebuildIndexRemedy(name, index.IndexName ?? ''),
      });
    }
  }
  return differences;
}

/** Orbit's indexes the table lacks, in TABLES' order: each is added in place (UpdateTable), the rows kept. */
export function missingIndexes(wanted: CreateTableInput, table: TableDescription): GlobalSecondaryIndex[] {
  const there = new Set((table.GlobalSecondaryIndexes ?? []).map((index) => index.IndexName));
  return (wanted.GlobalSecondaryIndexes ?? []).filter((index) => !there.has(index.IndexName));
}

/** Longest provisioning waits for a table and its indexes to become usable: a new table's GSIs take a while on AWS. */
const ACTIVE_WAIT_MS = 180_000;
const ACTIVE_POLL_MS = 1_000;

interface ActiveWait {
  readonly maxMs?: number;
  readonly pollMs?: number;
}

async function described(client: DynamoDBClient, name: string): Promise<TableDescription | undefined> {
  try {
    return (await client.send(new DescribeTableCommand({ TableName: name }))).Table;
  } catch (error) {
    if (error instanceof ResourceNotFoundException) return undefined;
    throw error;
  }
}

/**
 * Creates missing tables, adds the indexes a table of an earlier Orbit lacks,
 * and waits until each table, and each of its indexes, is ACTIVE: a service
 * started right after provisioning finds them usable. A table already there
 * (or made meanwhile by another provisioner, such as `npm start` beside
 * `npm run provision`) is found; one whose keys or indexes differ from TABLES
 * in a way DynamoDB cannot change in place fails provisioning, naming each
 * difference and how to put it right keeping the rows, instead of failing
 * every write or timeline read later.
 */
export async function provisionTables(client: DynamoDBClient, suffixes: TableSuffixes, wait: ActiveWait = {}): Promise<ProvisionStep[]> {
  const steps: ProvisionStep[] = [];
  for (const key of Object.keys(TABLES) as TableKey[]) {
    const table: TableDefinition = TABLES[key];
    steps.push(await provisionTable(client, createTableInput(tableName(key, suffixes), table), wait, table.ttlAttribute !== undefined));
  }
  return steps;
}

async function provisionTable(client: DynamoDBClient, wanted: CreateTableInput, wait: ActiveWait, expiring: boolean): Promise<ProvisionStep> {
  const name = wanted.TableName ?? '';
  let created = false;
  if (!(await described(client, name))) {
    try {
      await client.send(new CreateTableCommand(wanted));
      created = true;
    } catch (error) {
      if (!(error instanceof ResourceInUseException)) throw error;
    }
  }
  const added = await addMissingIndexes(client, wanted, wait);
  const ttl = expiring ? await ensureTimeToLive(client, name) : { enabled: false };
  if (created) return { kind: 'table', name, action: 'created', ...(ttl.enabled ? { detail: `TTL on ${TTL_ATTRIBUTE}` } : {}) };
  const changes = [
    ...(added.length > 0 ? [`${added.length === 1 ? 'index' : 'indexes'} ${added.join(', ')} added`] : []),
    ...(ttl.enabled ? [`TTL on ${TTL_ATTRIBUTE} enabled`] : []),
  ];
  const detail = [...changes, ...(ttl.note ? [ttl.note] : [])].join('; ');
  if (changes.length > 0) return { kind: 'table', name, action: 'updated', detail };
  return { kind: 'table', name, action: 'found', ...(detail ? { detail } : {}) };
}

async function timeToLiveOf(client: DynamoDBClient, name: string): Promise<{ status: string; attribute?: string }> {
  const answer = (await client.send(new DescribeTimeToLiveCommand({ TableName: name }))).TimeToLiveDescription;
  return { status: answer?.TimeToLiveStatus ?? 'DISABLED', ...(answer?.AttributeName ? { attribute: answer.AttributeName } : {}) };
}

/**
 * Turns TTL on for TTL_ATTRIBUTE when the table has none, so DynamoDB deletes each row once its `expiresAt` is past.
 * Read first, so a second run changes nothing (DynamoDB also refuses to enable it twice). A table whose TTL an
 * operator put on another attribute is left as it is, said in the step's note: DynamoDB allows one TTL attribute per
 * table, and changing it would override their retention. `enabled`: this run turned it on.
 */
async function ensureTimeToLive(client: DynamoDBClient, name: string): Promise<{ enabled: boolean; note?: string }> {
  const before = await timeToLiveOf(client, name);
  const on = (ttl: { status: string }): boolean => ttl.status === 'ENABLED' || ttl.status === 'ENABLING';
  const otherAttribute = (ttl: { attribute?: string }): { enabled: false; note: string } => ({
    enabled: false,
    note: `TTL is on attribute ${ttl.attribute ?? '(none)'}, not ${TTL_ATTRIBUTE}: rows expire by it, not by ORBIT_EVENT_LOG_RETENTION_DAYS; `
      + `to use Orbit's, disable it (aws dynamodb update-time-to-live --table-name ${name} --time-to-live-specification Enabled=false,AttributeName=${ttl.attribute ?? ''}) and provision again`,
  });
  if (on(before)) return before.attribute === TTL_ATTRIBUTE ? { enabled: false } : otherAttribute(before);
  try {
    await client.send(new UpdateTimeToLiveCommand({ TableName: name, TimeToLiveSpecification: { AttributeName: TTL_ATTRIBUTE, Enabled: true } }));
    return { enabled: true };
  } catch (error) {
    // Refused as already enabled: another provisioner turned it on meanwhile (found, as a table made meanwhile is).
    const now = await timeToLiveOf(client, name);
    if (on(now)) return now.attribute === TTL_ATTRIBUTE ? { enabled: false } : otherAttribute(now);
    throw new StackError('ORBIT_ERR_STACK_PROVISION', 'dynamodb', `table ${name}: TTL on ${TTL_ATTRIBUTE} could not be turned on (TTL ${now.status}): `
      + `${error instanceof Error ? error.message : String(error)}; provision again once the table's TTL is no longer changing`, { cause: error });
  }
}

/**
 * DynamoDB builds one new index of a table at a time (a second UpdateTable
 * meanwhile is refused with LimitExceededException), so each missing index is
 * added once the one before it is ACTIVE. An UpdateTable refused because
 * another provisioner is changing the table is waited out and tried again,
 * a bounded number of times. Returns the names of the indexes this run added.
 */
async function addMissingIndexes(client: DynamoDBClient, wanted: CreateTableInput, wait: ActiveWait): Promise<string[]> {
  const added: string[] = [];
  const attempts = (wanted.GlobalSecondaryIndexes ?? []).length * 2 + 1;
  let building: string | undefined;
  for (let attempt = 0; ; attempt += 1) {
    const table = await untilActive(client, wanted, wait, building);
    const next = missingIndexes(wanted, table)[0];
    if (!next) return added;
    if (attempt >= attempts) {
      throw new StackError('ORBIT_ERR_STACK_PROVISION', 'dynamodb', `table ${wanted.TableName ?? ''}: index ${next.IndexName ?? ''} could not be added after ${attempts} tries, each refused as the table was being changed: provision again once nothing else changes it`);
    }
    if (await addIndex(client, table, wanted, next)) {
      added.push(next.IndexName ?? '');
      building = next.IndexName;
    } else {
      building = undefined;
    }
  }
}

/** A new index's throughput: none on an on-demand table, the table's own on a provisioned one (DynamoDB requires it there). */
function indexThroughput(table: TableDescription): Pick<CreateGlobalSecondaryIndexAction, 'ProvisionedThroughput'> {
  if (table.BillingModeSummary?.BillingMode === 'PAY_PER_REQUEST') return {};
  // A table without a billing summary predates on-demand billing: it is provisioned.
  const units = (value: number | undefined): number => Math.max(1, value ?? 1);
  return { ProvisionedThroughput: { ReadCapacityUnits: units(table.ProvisionedThroughput?.ReadCapacityUnits), WriteCapacityUnits: units(table.ProvisionedThroughput?.WriteCapacityUnits) } };
}

/** Asks DynamoDB to build `index`; false when it refused because someone else is changing the table (or added this index) meanwhile. */
async function addIndex(client: DynamoDBClient, table: TableDescription, wanted: CreateTableInput, index: GlobalSecondaryIndex): Promise<boolean> {
  const name = wanted.TableName ?? '';
  const keyNames = new Set((index.KeySchema ?? []).map((key) => key.AttributeName));
  try {
    await client.send(new UpdateTableCommand({
      TableName: name,
      AttributeDefinitions: (wanted.AttributeDefinitions ?? []).filter((attribute) => keyNames.has(attribute.AttributeName)),
      GlobalSecondaryIndexUpdates: [{ Create: { IndexName: index.IndexName, KeySchema: index.KeySchema, Projection: index.Projection, ...indexThroughput(table) } }],
    }));
    return true;
  } catch (error) {
    if (error instanceof ResourceInUseException || error instanceof LimitExceededException) return false;
    // Refused as a duplicate: another provisioner added it first, and it is waited for like the rest.
    const now = await described(client, name);
    if ((now?.GlobalSecondaryIndexes ?? []).some((each) => each.IndexName === index.IndexName)) return false;
    throw new StackError('ORBIT_ERR_STACK_PROVISION', 'dynamodb', `table ${name}: index ${index.IndexName ?? ''} could not be added: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
}

function refusal(name: string, differences: readonly TableDifference[]): StackError {
  const remedies = [...new Set(differences.map((difference) => difference.remedy))];
  return new StackError('ORBIT_ERR_STACK_PROVISION', 'dynamodb',
    `table ${name} is not the one Orbit needs, and DynamoDB cannot change it into it in place: ${differences.map((difference) => difference.problem).join('; ')}. `
    + `To keep its rows: ${remedies.join('; ')}`);
}

/** Waits until the table and its indexes (with `building` among them once listed) are ACTIVE; returns it as then described. */
async function untilActive(client: DynamoDBClient, wanted: CreateTableInput, wait: ActiveWait, building?: string): Promise<TableDescription> {
  const name = wanted.TableName ?? '';
  const maxMs = wait.maxMs ?? ACTIVE_WAIT_MS;
  const giveUpAt = Date.now() + maxMs;
  for (;;) {
    const table = await described(client, name);
    if (table) {
      const differences = tableDifferences(wanted, table);
      if (differences.length > 0) throw refusal(name, differences);
      if (table.TableStatus === 'DELETING') throw new StackError('ORBIT_ERR_STACK_PROVISION', 'dynamodb', `table ${name} is being deleted: provision again once it is gone`);
    }
    const indexes = table?.GlobalSecondaryIndexes ?? [];
    const waitingFor = !table ? 'not listed yet' : [
      ...(table.TableStatus === 'ACTIVE' ? [] : [`table ${table.TableStatus ?? 'status unknown'}`]),
      ...indexes.filter((index) => index.IndexStatus !== 'ACTIVE').map((index) => `index ${index.IndexName} ${index.IndexStatus ?? 'status unknown'}`),
      // DescribeTable is eventually consistent: right after UpdateTable it may not list the new index yet.
      ...(building !== undefined && !indexes.some((index) => index.IndexName === building) ? [`index ${building} not listed yet`] : []),
    ].join(', ');
    if (table && waitingFor === '') return table;
    if (Date.now() >= giveUpAt) {
      const rows = building === undefined ? '' : `; DynamoDB goes on building index ${building} from the table's rows, which are untouched (on a large table this takes a while)`;
      throw new StackError('ORBIT_ERR_STACK_PROVISION', 'dynamodb', `table ${name} was not ACTIVE after ${Math.round(maxMs / 1000)} s (${waitingFor})${rows}: provision again to go on waiting`);
    }
    await abortableSleep(Math.min(wait.pollMs ?? ACTIVE_POLL_MS, Math.max(0, giveUpAt - Date.now())));
  }
}
