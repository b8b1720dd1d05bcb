import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { createDynamo, newImageUID, tableName, TOPICS } from '@orbit/lib';
import { sampleEvents } from '@orbit/schemas';
import { describe, expect, it } from 'vitest';
import { eventLogRows } from '../../../../consumers/event-logger/src/event-row.js';
import { testConfig, uniqueSuffix } from '../../../../test/helpers/index.js';
import type { EventPosition } from '../ports.js';
import { dynamoEventLog } from './dynamo-events.js';

const dynamo = createDynamo(testConfig);
const table = tableName('userEventLog', testConfig);

describe('the event log reader against DynamoDB Local', () => {
  it('pages through an image\'s events in order, each once, and never into another image\'s', async () => {
    const imageUID = newImageUID();
    const other = newImageUID();
    const events = sampleEvents(imageUID, `req-${uniqueSuffix()}`);
    // Five messages of the image, a second apart, written as the event-logger writes them; and one of another image in between.
    const topics = [TOPICS.uploadRequested, TOPICS.imageValidated, TOPICS.imageStored, TOPICS.chartGenerated, TOPICS.viewportUpdated] as const;
    const written = topics.map((topic, index) => ({ ...events[topic], occurredAt: Date.UTC(2026, 11, 1, 12, 0, index) }));
    const rows = written.flatMap((event, index) => eventLogRows(event, { topic: topics[index] ?? '', partition: 0, offset: String(index) }));
    for (const row of rows) await dynamo.send(new PutCommand({ TableName: table, Item: { ...row } }));
    const stranger = { ...events[TOPICS.imageStored], imageUID: other, occurredAt: Date.UTC(2026, 11, 1, 12, 0, 2) };
    for (const row of eventLogRows(stranger, { topic: TOPICS.imageStored, partition: 1, offset: '9' })) await dynamo.send(new PutCommand({ TableName: table, Item: { ...row } }));

    const log = dynamoEventLog(dynamo, table);
    const pages: string[][] = [];
    let after: EventPosition | undefined;
    do {
      const page = await log.byImageUID(imageUID, { limit: 2, after });
      pages.push(page.entries.map((entry) => entry.eventType));
      after = page.next;
    } while (after);
    const all = (await log.byImageUID(imageUID, { limit: 100 })).entries.map((entry) => entry.eventType);
    // A message's rows in step order: the upload's submission (e05) before the gateway's request (e10).
    expect(all.slice(0, 3)).toEqual(['upload-submitted', 'upload-requested', 'image-validated']);
    expect([...all].sort()).toEqual(rows.map((row) => row.eventType).sort());
    expect(pages.flat()).toEqual(all);
    expect(pages.length).toBeGreaterThanOrEqual(3);
    expect(pages.every((page) => page.length <= 2)).toBe(true);
  });

  it('gives a message\'s steps in one order whatever the page size: a page never ends inside a message (found by a probe)', async () => {
    const imageUID = newImageUID();
    const events = sampleEvents(imageUID, `req-${uniqueSuffix()}`);
    // A transfer: three messages of two steps each (their rows share one sort key), then ViewPort's one.
    const topics = [TOPICS.transferRequested, TOPICS.imageCopied, TOPICS.chartPromoted, TOPICS.viewportUpdated] as const;
    const rows = topics.flatMap((topic, index) => eventLogRows({ ...events[topic], occurredAt: Date.UTC(2026, 11, 1, 12, 0, index) }, { topic, partition: 0, offset: String(index) }));
    for (const row of rows) await dynamo.send(new PutCommand({ TableName: table, Item: { ...row } }));
    const log = dynamoEventLog(dynamo, table);
    const whole = (await log.byImageUID(imageUID, { limit: 100 })).entries.map((entry) => entry.eventType);
    expect(whole).toEqual(['transfer-requested', 'transfer-initiated', 'image-retrieved', 'image-uploaded', 'helm-chart-retrieved', 'helm-chart-uploaded', 'viewport-updated']);
    for (const limit of [1, 2, 3, 4, 5, 6]) {
      const pages: string[][] = [];
      let after: EventPosition | undefined;
      do {
        const page = await log.byImageUID(imageUID, { limit, after });
        pages.push(page.entries.map((entry) => entry.eventType));
        after = page.next;
      } while (after);
      expect(pages.flat(), `limit ${limit}`).toEqual(whole);
      // The last page says it is the last: no cursor to an empty page after it.
      expect(pages.every((page) => page.length > 0), `limit ${limit}: ${JSON.stringify(pages)}`).toBe(true);
      // Cut before a message, or (a limit below its two steps) past its end: never more than one message over the limit.
      expect(pages.every((page) => page.length <= Math.max(limit, 2)), `limit ${limit}: ${JSON.stringify(pages)}`).toBe(true);
    }
  });
});
