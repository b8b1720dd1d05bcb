import { QueryCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { EventLogReader, EventPage, EventPosition, TimelineEntry } from '../ports.js';

type Item = Record<string, unknown>;

const entryOf = (item: Item): TimelineEntry => ({
  pid: String(item['pid']), eventType: String(item['eventType']), at: String(item['occurredAt']), correlationId: String(item['correlationId']),
  payload: JSON.parse(String(item['payload'] ?? 'null')) as unknown,
});

/** Rows come by time then Kafka position; the steps one message stands for share its time and go in PID order. */
function inOrder(entries: readonly TimelineEntry[]): TimelineEntry[] {
  const order = (pid: string): number => Number(/-e(\d+)$/.exec(pid)?.[1] ?? 1000);
  return entries
    .map((entry, index) => ({ entry, index }))
    .sort((a, b) => (a.entry.at === b.entry.at ? order(a.entry.pid) - order(b.entry.pid) || a.index - b.index : a.index - b.index))
    .map(({ entry }) => entry);
}

/** Timelines from the user event log's GSIs; the sort key orders rows by time, then offset. */
export function dynamoEventLog(dynamo: DynamoDBDocumentClient, table: string): EventLogReader {
  /** Up to `limit` rows of one GSI key from `start` on, and the key to go on from when there may be more. */
  async function query(index: string, attribute: string, value: string, limit = Number.POSITIVE_INFINITY, start?: Item): Promise<{ items: Item[]; last?: Item }> {
    const items: Item[] = [];
    let from = start;
    do {
      const page = await dynamo.send(new QueryCommand({
        TableName: table, IndexName: index, KeyConditionExpression: '#k = :v',
        ExpressionAttributeNames: { '#k': attribute }, ExpressionAttributeValues: { ':v': value }, ExclusiveStartKey: from,
        ...(Number.isFinite(limit) ? { Limit: limit - items.length } : {}),
      }));
      items.push(...(page.Items ?? []));
      from = page.LastEvaluatedKey;
    } while (from && items.length < limit);
    return { items, ...(from ? { last: from } : {}) };
  }
  return {
    byCorrelationId: async (correlationId) => inOrder((await query('byCorrelationId', 'correlationId', correlationId)).items.map(entryOf)),
    async byImageUID(imageUID, page): Promise<EventPage> {
      // The start key is built here from the route's UID: a cursor cannot point into another image's rows.
      const start = page.after ? { imageUID, eventKey: page.after.eventKey, pid: page.after.pid } : undefined;
      const { items, last } = await query('byImageUID', 'imageUID', imageUID, page.limit, start);
      const next: EventPosition | undefined = last ? { eventKey: String(last['eventKey']), pid: String(last['pid']) } : undefined;
      return { entries: inOrder(items.map(entryOf)), ...(next ? { next } : {}) };
    },
  };
}
