import type { DynamoDBDocumentClient, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { describe, expect, it } from 'vitest';
import { dynamoEventLog } from './dynamo-events.js';

type Item = Record<string, unknown>;

/** One GSI of rows as DynamoDB answers a Query: the key's rows, only the attributes a ProjectionExpression names. */
function fakeDynamo(rows: readonly Item[]): { client: DynamoDBDocumentClient; bytesSent: () => number } {
  let bytes = 0;
  const send = async (command: QueryCommand) => {
    const { ExpressionAttributeNames: names = {}, ExpressionAttributeValues: values = {}, ProjectionExpression: projection } = command.input;
    const key = names['#k'] ?? '';
    const wanted = projection?.split(',').map((name) => names[name.trim()] ?? name.trim());
    const items = rows.filter((row) => row[key] === values[':v'])
      .map((row) => (wanted ? Object.fromEntries(Object.entries(row).filter(([name]) => wanted.includes(name))) : row));
    bytes += Buffer.byteLength(JSON.stringify(items));
    return { Items: items };
  };
  return { client: { send } as unknown as DynamoDBDocumentClient, bytesSent: () => bytes };
}

const row = (correlationId: string | undefined, extra: Item = {}): Item => ({
  pid: 'c12bms03-c16bre03-e50', eventKey: '1795348800000#orbit.image.stored#0#00000000000000000007', eventType: 'image-stored', rowKind: 'message',
  ...(correlationId === undefined ? {} : { correlationId }), imageUID: 'U'.repeat(60), username: 'dev1', occurredAt: '2026-11-22T12:00:00.000Z',
  topic: 'orbit.image.stored', partition: 0, offset: '7', createdTimestampUTC: '2026-11-22T12:00:00.000Z', createdTimestampUnix: 1795348800,
  payload: JSON.stringify({ eventId: 'e-1', correlationId: correlationId ?? 'c'.repeat(2100), status: 'succeeded' }), ...extra,
});

describe('dynamoEventLog', () => {
  it('reads of a request\'s rows only what its steps are made of: a long poll reads them again and again', async () => {
    // Rows written before the event-logger capped its copies could carry an eventId of hundreds of KB beside the payload.
    const dynamo = fakeDynamo([row('req-1', { eventId: 'e'.repeat(300 * 1024) })]);
    const steps = await dynamoEventLog(dynamo.client, 'log').byCorrelationId('req-1');
    expect(steps).toEqual([{
      pid: 'c12bms03-c16bre03-e50', eventType: 'image-stored', at: '2026-11-22T12:00:00.000Z', correlationId: 'req-1',
      payload: { eventId: 'e-1', correlationId: 'req-1', status: 'succeeded' },
    }]);
    expect(dynamo.bytesSent()).toBeLessThan(1024);
  });

  it('gives an image\'s events the correlation id their event names when the row could not be indexed by it', async () => {
    const dynamo = fakeDynamo([row(undefined)]);
    const page = await dynamoEventLog(dynamo.client, 'log').byImageUID('U'.repeat(60), { limit: 10 });
    expect(page.entries.map((entry) => entry.correlationId)).toEqual(['c'.repeat(2100)]);
  });
});
