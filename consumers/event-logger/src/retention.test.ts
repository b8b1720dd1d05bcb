import { describe, expect, it } from 'vitest';
import { readConfig, TOPICS, childSpan, type ConsumedMessage, type EventEnvelope } from '@orbit/lib';
import { sampleEvents } from '@orbit/schemas';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { configProblemsOf } from '../../../test/helpers/config-problems.js';
import { quietLogger } from '../../../test/helpers/index.js';
import { eventLoggerEnv, MAX_EVENT_LOG_RETENTION_DAYS } from './config.js';
import { eventLogRows, expiresAtOf } from './event-row.js';
import { eventLoggerBatchHandler, eventLoggerHandler } from './handle.js';

// Found by a storage audit: every row of the event and error logs was kept for ever (no expiry attribute, no TTL).
const DAY = 86_400;
const now = new Date('2026-12-07T12:00:00Z');
const nowSeconds = now.getTime() / 1000;

describe('expiresAtOf', () => {
  it('is the event\'s time plus the retention, in whole epoch seconds', () => {
    const occurredAt = now.getTime() - 3 * DAY * 1000 + 250;
    expect(expiresAtOf(occurredAt, 400, now)).toBe(Math.floor(occurredAt / 1000) + 400 * DAY);
    expect(Number.isInteger(expiresAtOf(occurredAt, 1, now))).toBe(true);
  });

  it('is absent when rows are kept for ever (0 days)', () => {
    expect(expiresAtOf(now.getTime(), 0, now)).toBeUndefined();
  });

  it('counts an event time after the writing as the writing (a clock ahead, or a far-future Avro long, kept the row past its retention)', () => {
    expect(expiresAtOf(now.getTime() + 90 * DAY * 1000, 30, now)).toBe(nowSeconds + 30 * DAY);
    expect(expiresAtOf(9e15, 30, now)).toBe(nowSeconds + 30 * DAY);
  });

  it('expires a row already past its retention now, not years ago (DynamoDB\'s TTL passes over times more than five years gone)', () => {
    expect(expiresAtOf(Date.parse('2016-01-01T00:00:00Z'), 400, now)).toBe(nowSeconds);
  });
});

describe('rows of the event and error logs', () => {
  const position = { topic: TOPICS.pipelineFailed, partition: 0, offset: '7' };
  const event = { ...sampleEvents()['orbit.transfer.requested'], occurredAt: now.getTime() - DAY * 1000 };

  it('each carry expiresAt, the step rows a message stands for as well', () => {
    const rows = eventLogRows(event, position, now, 400);
    expect(rows.length).toBeGreaterThan(1);
    for (const row of rows) expect(row.expiresAt).toBe(nowSeconds - DAY + 400 * DAY);
    expect(eventLogRows(event, position, now, 0).every((row) => !('expiresAt' in row))).toBe(true);
  });

  it('are written by both handler forms with expiresAt, the error log\'s row too', async () => {
    const failed = { ...sampleEvents()['orbit.pipeline.failed'], occurredAt: Date.now() - DAY * 1000 } as EventEnvelope;
    const message: ConsumedMessage<EventEnvelope> = {
      ...position, key: failed.imageUID, event: failed, headers: {}, trace: childSpan(undefined), log: quietLogger, signal: new AbortController().signal,
    };
    const items: { table: string; item: Record<string, unknown> }[] = [];
    const dynamo = {
      send: (command: { input: { TableName?: string; Item?: Record<string, unknown>; RequestItems?: Record<string, { PutRequest: { Item: Record<string, unknown> } }[]> } }) => {
        if (command.input.Item) items.push({ table: command.input.TableName ?? '', item: command.input.Item });
        for (const [table, puts] of Object.entries(command.input.RequestItems ?? {})) for (const put of puts) items.push({ table, item: put.PutRequest.Item });
        return Promise.resolve({});
      },
    } as unknown as DynamoDBDocumentClient;
    const deps = { dynamo, eventLogTable: 'events', errorLogTable: 'errors', retentionDays: 10 };
    await eventLoggerHandler(deps)(message);
    await eventLoggerBatchHandler(deps)([message]);
    const expected = Math.floor(failed.occurredAt / 1000) + 10 * DAY;
    expect(items.map(({ table, item }) => [table, item['expiresAt']])).toEqual([['events', expected], ['errors', expected], ['events', expected], ['errors', expected]]);
  });
});

describe('ORBIT_EVENT_LOG_RETENTION_DAYS', () => {
  it('defaults to 400 days and takes 0 (kept for ever) up to a century', () => {
    expect(readConfig(eventLoggerEnv, {}).ORBIT_EVENT_LOG_RETENTION_DAYS).toBe(400);
    expect(readConfig(eventLoggerEnv, { ORBIT_EVENT_LOG_RETENTION_DAYS: '0' }).ORBIT_EVENT_LOG_RETENTION_DAYS).toBe(0);
    expect(readConfig(eventLoggerEnv, { ORBIT_EVENT_LOG_RETENTION_DAYS: String(MAX_EVENT_LOG_RETENTION_DAYS) }).ORBIT_EVENT_LOG_RETENTION_DAYS).toBe(36_500);
  });

  it('is refused at start, named, when no whole number from 0 to 36500', () => {
    for (const given of ['-1', '36501', '1.5', 'forever']) {
      expect(configProblemsOf(() => readConfig(eventLoggerEnv, { ORBIT_EVENT_LOG_RETENTION_DAYS: given })), given).toEqual([expect.stringMatching(/^ORBIT_EVENT_LOG_RETENTION_DAYS/)]);
    }
  });
});
