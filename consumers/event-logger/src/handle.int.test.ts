import { describe, expect, it } from 'vitest';
import { GetCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { childSpan, createDynamo, newImageUID, tableName, TOPICS, type ConsumedMessage, type EventEnvelope } from '@orbit/lib';
import { sampleEvents } from '@orbit/schemas';
import { quietLogger, testConfig, uniqueSuffix } from '../../../test/helpers/index.js';
import { eventKeyOf } from './event-row.js';
import { eventLoggerBatchHandler, eventLoggerHandler } from './handle.js';

const deps = { dynamo: createDynamo(testConfig), eventLogTable: tableName('userEventLog', testConfig), errorLogTable: tableName('userErrorLog', testConfig), retentionDays: 400 };

async function rowsOf(table: string, correlationId: string): Promise<Record<string, unknown>[]> {
  const answer = await deps.dynamo.send(new QueryCommand({ TableName: table, IndexName: 'byCorrelationId', KeyConditionExpression: 'correlationId = :c', ExpressionAttributeValues: { ':c': correlationId } }));
  return answer.Items ?? [];
}

describe('event-logger against DynamoDB Local', () => {
  it('writes one row per message in batches, failures to the error log too, and a replay overwrites instead of adding', async () => {
    const correlationId = `req-${uniqueSuffix()}`;
    const events = sampleEvents(newImageUID(), correlationId);
    const topics = Object.keys(events) as (keyof typeof events)[];
    const messages: ConsumedMessage<EventEnvelope>[] = topics.map((topic, offset) => ({
      topic, partition: 0, offset: String(offset), key: events[topic].imageUID, event: events[topic], headers: {}, trace: childSpan(undefined), log: quietLogger, signal: new AbortController().signal,
    }));
    const batch = eventLoggerBatchHandler(deps);
    await batch(messages);
    await batch(messages); // replayed
    await eventLoggerHandler(deps)(messages[0]!); // redelivered one by one
    const all = (await rowsOf(deps.eventLogTable, correlationId)).filter((row) => row['correlationId'] === correlationId);
    // Transfer messages add the document steps they stand for; those are `step` rows, never a second message row.
    const rows = all.filter((row) => row['rowKind'] === 'message');
    // sampleEvents uses one correlation id for the upload events and req-t-1 for transfer ones
    const uploadTopics = topics.filter((topic) => events[topic].correlationId === correlationId);
    expect(rows).toHaveLength(uploadTopics.length);
    expect(rows.map((row) => row['eventKey'])).toEqual([...rows.map((row) => row['eventKey'])].sort());
    const errors = await rowsOf(deps.errorLogTable, correlationId);
    expect(errors.map((row) => row['topic']).sort()).toEqual([TOPICS.imageRejected, TOPICS.pipelineFailed].sort());
  });

  it('writes the row of an event too big for a DynamoDB item, trimmed, instead of dead-lettering it and losing the step', async () => {
    const correlationId = `req-${uniqueSuffix()}`;
    const upload = sampleEvents(newImageUID(), correlationId)['orbit.upload.requested'];
    const big = { ...upload, metadata: { ...upload.metadata, envVars: Array.from({ length: 16 }, (_, i) => ({ key: `K${i}`, value: 'x'.repeat(32_000) })) } };
    const message: ConsumedMessage<EventEnvelope> = {
      topic: TOPICS.uploadRequested, partition: 0, offset: '0', key: big.imageUID, event: big, headers: {}, trace: childSpan(undefined), log: quietLogger, signal: new AbortController().signal,
    };
    await eventLoggerBatchHandler(deps)([message]);
    const row = (await rowsOf(deps.eventLogTable, correlationId)).find((each) => each['eventType'] === 'upload-requested');
    expect(row).toMatchObject({ eventType: 'upload-requested', payloadTrimmedFrom: Buffer.byteLength(JSON.stringify(big)) });
    expect(JSON.parse(String(row?.['payload']))).toMatchObject({ requestId: upload.requestId, metadata: { imageVersion: upload.metadata.imageVersion } });
  });

  it('writes a row for every event the envelope check lets through, even those whose fields DynamoDB refuses as index keys', async () => {
    const base = sampleEvents(newImageUID(), `req-${uniqueSuffix()}`)['orbit.image.stored'];
    // Each was dead-lettered without a row before (found by a probe against DynamoDB Local).
    const odd: EventEnvelope[] = [
      { ...base, actor: { ...base.actor, username: '' } },
      { ...base, actor: { ...base.actor, username: 'u'.repeat(2100) } },
      { ...base, correlationId: 'c'.repeat(2100) },
      { ...base, eventId: 'e'.repeat(405 * 1024) },
      { ...base, occurredAt: 9e15 },
    ];
    const messages: ConsumedMessage<EventEnvelope>[] = odd.map((event, offset) => ({
      topic: TOPICS.imageStored, partition: 0, offset: String(offset), key: event.imageUID, event, headers: {}, trace: childSpan(undefined), log: quietLogger, signal: new AbortController().signal,
    }));
    await eventLoggerBatchHandler(deps)(messages.slice(0, 3));
    for (const message of messages.slice(3)) await eventLoggerHandler(deps)(message);
    for (const message of messages) {
      const key = { pid: message.event.pid, eventKey: eventKeyOf(message.event.occurredAt, message.topic, message.partition, message.offset) };
      const row = (await deps.dynamo.send(new GetCommand({ TableName: deps.eventLogTable, Key: key }))).Item;
      expect(row, message.offset).toMatchObject({ ...key, rowKind: 'message' });
    }
  });
});
