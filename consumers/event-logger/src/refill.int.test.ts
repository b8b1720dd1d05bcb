import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BatchWriteCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { childSpan, createDynamo, newImageUID, tableName, TOPICS, type ConsumedMessage, type EventEnvelope, type Producer } from '@orbit/lib';
import { sampleEvents } from '@orbit/schemas';
import { quietLogger, testConfig, uniqueSuffix } from '../../../test/helpers/index.js';
import { privateLifecycleTopics, type PrivateTopics } from '../../../test/helpers/lifecycle-topics.js';
import { eventLoggerBatchHandler } from './handle.js';
import { refillEventLog, type RefillDeps } from './refill.js';
import { runSourceCli } from '../../../test/helpers/source-cli.js';
import { fileURLToPath } from 'node:url';

const cli = fileURLToPath(new URL('./refill-cli.ts', import.meta.url));

const logDeps = { dynamo: createDynamo(testConfig), eventLogTable: tableName('userEventLog', testConfig), errorLogTable: tableName('userErrorLog', testConfig), retentionDays: 400 };
const LOGGED = [TOPICS.uploadRequested, TOPICS.imageStored, TOPICS.imageRejected] as const;

let topics: PrivateTopics;
let producer: Producer;
beforeAll(async () => {
  topics = await privateLifecycleTopics('s45rf', LOGGED);
  producer = topics.kafka.producer();
  await producer.connect();
});
afterAll(async () => { await producer.disconnect(); });

const refillDeps = (): RefillDeps => ({ ...logDeps, kafka: topics.kafka, codec: topics.codec, lifecycleTopicOf: topics.lifecycleTopicOf, readIdleMs: 20_000 });

/** The keys of a request's rows in both logs, sorted. */
async function keysOf(correlationId: string): Promise<{ events: string[]; errors: string[] }> {
  const keys = async (table: string): Promise<string[]> => {
    const answer = await logDeps.dynamo.send(new QueryCommand({
      TableName: table, IndexName: 'byCorrelationId', KeyConditionExpression: 'correlationId = :c', ExpressionAttributeValues: { ':c': correlationId }, ConsistentRead: false,
    }));
    return (answer.Items ?? []).map((row) => `${String(row['pid'])} ${String(row['eventKey'])}`).sort();
  };
  return { events: await keys(logDeps.eventLogTable), errors: await keys(logDeps.errorLogTable) };
}

/** When each of a request's event-log rows says it was written, by key. */
async function writtenAt(correlationId: string): Promise<Map<string, string>> {
  const answer = await logDeps.dynamo.send(new QueryCommand({
    TableName: logDeps.eventLogTable, IndexName: 'byCorrelationId', KeyConditionExpression: 'correlationId = :c', ExpressionAttributeValues: { ':c': correlationId }, ConsistentRead: false,
  }));
  return new Map((answer.Items ?? []).map((row) => [`${String(row['pid'])} ${String(row['eventKey'])}`, String(row['createdTimestampUTC'])]));
}

describe('events:refill against Kafka and DynamoDB Local', () => {
  it('gives back the rows a restore lost, each exactly once, without writing in a dry run, and nothing from a --since after the events', async () => {
    const correlationId = randomUUID();
    const events = sampleEvents(newImageUID(), correlationId);
    const since = Date.now();
    // 1. The events on Kafka, and their rows as the live event-logger writes them (keyed by the lifecycle topic).
    const messages: ConsumedMessage<EventEnvelope>[] = [];
    for (const lifecycleTopic of [...LOGGED, TOPICS.imageStored]) {
      const event: EventEnvelope = { ...events[lifecycleTopic], eventId: `${events[lifecycleTopic].eventId}-${messages.length}` };
      const topic = topics.named(lifecycleTopic);
      const [sent] = await producer.send({ topic, messages: [{ key: event.imageUID, value: await topics.codec.encode(topic, event) }] });
      messages.push({
        topic: lifecycleTopic, partition: sent?.partition ?? 0, offset: sent?.baseOffset ?? '', key: event.imageUID, event, headers: {}, trace: childSpan(undefined), log: quietLogger, signal: new AbortController().signal,
      });
    }
    await eventLoggerBatchHandler(logDeps)(messages);
    const before = await keysOf(correlationId);
    // Four messages: each its own row, the upload's step row besides; the rejection in the error log too.
    expect(before.events).toHaveLength(5);
    expect(before.errors).toHaveLength(1);

    // 2. A restore to before some of them: three event rows and the error row gone.
    const lost = before.events.slice(0, 3);
    const keyOf = (key: string): { pid: string; eventKey: string } => ({ pid: key.split(' ')[0] ?? '', eventKey: key.split(' ')[1] ?? '' });
    await logDeps.dynamo.send(new BatchWriteCommand({ RequestItems: {
      [logDeps.eventLogTable]: lost.map((key) => ({ DeleteRequest: { Key: keyOf(key) } })),
      [logDeps.errorLogTable]: before.errors.map((key) => ({ DeleteRequest: { Key: keyOf(key) } })),
    } }));
    expect((await keysOf(correlationId)).events).toHaveLength(2);

    // 3. A dry run counts what is missing and writes nothing.
    const options = { since, until: undefined, topics: topics.topics, dryRun: true };
    const dry = await refillEventLog(refillDeps(), options);
    expect(dry).toMatchObject({ messages: 4, rows: 6, alreadyThere: 2, partitions: 3, undecodable: [], passedOver: 0 });
    expect((await keysOf(correlationId)).events).toHaveLength(2);

    // 4. The refill: every row back, none doubled; the rows still there left as they were (their time of writing too).
    const keptAt = await writtenAt(correlationId);
    const lines: string[] = [];
    const report = await refillEventLog({ ...refillDeps(), progress: (line) => lines.push(line) }, { ...options, dryRun: false });
    expect(report).toMatchObject({ messages: 4, rows: 6, alreadyThere: 2, partitions: 3, dryRun: false });
    expect(await keysOf(correlationId)).toEqual(before);
    const afterAt = await writtenAt(correlationId);
    for (const [key, at] of keptAt) expect(afterAt.get(key), key).toBe(at);
    expect(lines[0]).toMatch(/^refilling from .*: up to 4 message\(s\) in 3 partition\(s\) of 3 topic\(s\)$/);
    // Run again: the same rows, all there, still none doubled.
    expect(await refillEventLog(refillDeps(), { ...options, dryRun: false })).toMatchObject({ rows: 6, alreadyThere: 6 });
    expect(await keysOf(correlationId)).toEqual(before);

    // 5. Its consumer groups are gone; the event-logger's group never had these topics.
    const admin = topics.kafka.admin();
    await admin.connect();
    try {
      expect((await admin.listGroups()).groups.filter(({ groupId }) => groupId.startsWith(report.groupPrefix))).toEqual([]);
      const live = await admin.fetchOffsets({ groupId: 'event-logger', topics: [...topics.topics] });
      expect(live.flatMap(({ partitions }) => partitions.map(({ offset }) => offset))).toEqual(topics.topics.map(() => '-1'));
    } finally {
      await admin.disconnect();
    }

    // 6. From after the events: nothing to read, nothing written.
    await new Promise((resolve) => setTimeout(resolve, 50));
    const later = await refillEventLog(refillDeps(), { ...options, since: Date.now(), dryRun: false });
    expect(later).toMatchObject({ messages: 0, rows: 0, alreadyThere: 0, partitions: 0 });
  }, 120_000);

  it('refuses with ORBIT_ERR_NOT_PROVISIONED when a log table is missing, before reading anything', async () => {
    const missing = `s45rf-missing-${uniqueSuffix()}`;
    await expect(refillEventLog({ ...refillDeps(), eventLogTable: missing }, { since: Date.now() - 60_000, until: undefined, topics: topics.topics, dryRun: false }))
      .rejects.toMatchObject({ code: 'ORBIT_ERR_NOT_PROVISIONED', message: expect.stringContaining(missing) as unknown });
  });

  it('runs as a person runs it: a dry run over the lifecycle topics ends with its summary, a missing table is said with its code', async () => {
    const since = new Date(Date.now() - 2_000).toISOString();
    const dry = await runSourceCli(cli, ['--since', since, '--dry-run'], { LOG_LEVEL: 'info' }, 90_000);
    expect(dry.stderr).toMatch(/^counting from .*: up to \d+ message\(s\) in \d+ partition\(s\) of \d+ topic\(s\)$/m);
    expect(dry.stdout).toMatch(/^would refill \d+ missing row\(s\) of \d+ read from \d+ partition\(s\), \d+ already there \(left as they are\); a dry run writes nothing$/m);
    expect(dry.code).toBe(0);
    const missing = await runSourceCli(cli, ['--since', since], { LOG_LEVEL: 'info', ORBIT_DEV_TABLE_SUFFIX: `-s45rf-none-${uniqueSuffix()}` }, 90_000);
    expect(missing.stderr).toMatch(/^events:refill failed: ORBIT_ERR_NOT_PROVISIONED: EventLogNotProvisionedError: DynamoDB has no table user-event-log-1621-s45rf-none-\S+, user-error-log-1624-s45rf-none-\S+: run `npm run provision`/m);
    expect(missing.code).toBe(1);
  }, 200_000);
});
