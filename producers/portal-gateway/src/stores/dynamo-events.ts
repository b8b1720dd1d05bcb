import { QueryCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { EventLogReader, EventPage, EventPosition, TimelineEntry } from '../ports.js';

type Item = Record<string, unknown>;

/**
 * What a timeline entry is made of; a row's other attributes (its own copies of
 * ids, Kafka position, write times) are not read: a long poll reads a request's
 * rows many times over.
 */
const ENTRY_ATTRIBUTES = ['pid', 'eventType', 'occurredAt', 'correlationId', 'payload'] as const;
/** An image's pages also need where each row stands. */
const PAGE_ATTRIBUTES = [...ENTRY_ATTRIBUTES, 'eventKey'] as const;

function entryOf(item: Item): TimelineEntry {
  const payload = JSON.parse(String(item['payload'] ?? 'null')) as unknown;
  // The event-logger leaves out a correlation id DynamoDB would refuse as an index key; the event still names it.
  const named = typeof payload === 'object' && payload !== null ? (payload as Record<string, unknown>)['correlationId'] : undefined;
  const correlationId = item['correlationId'] ?? (typeof named === 'string' ? named : '');
  return { pid: String(item['pid']), eventType: String(item['eventType']), at: String(item['occurredAt']), correlationId: String(correlationId), payload };
}

/** Rows come by time then Kafka position; the steps one message stands for share its time and go in PID order. */
function inOrder(entries: readonly TimelineEntry[]): TimelineEntry[] {
  const order = (pid: string): number => Number(/-e(\d+)$/.exec(pid)?.[1] ?? 1000);
  return entries
    .map((entry, index) => ({ entry, index }))
    .sort((a, b) => (a.entry.at === b.entry.at ? order(a.entry.pid) - order(b.entry.pid) || a.index - b.index : a.index - b.index))
    .map(({ entry }) => entry);
}

/** Rows read at a time while finishing a message a page ended in: a message is a few steps. */
const MESSAGE_ROWS_STEP = 8;

/** Timelines from the user event log's GSIs; the sort key orders rows by time, then offset. */
export function dynamoEventLog(dynamo: DynamoDBDocumentClient, table: string): EventLogReader {
  /** Up to `limit` rows of one GSI key from `start` on, and the key to go on from when there may be more. */
  async function query(
    index: string, attribute: string, value: string, wanted: readonly string[], limit = Number.POSITIVE_INFINITY, start?: Item,
  ): Promise<{ items: Item[]; last?: Item }> {
    const items: Item[] = [];
    const names = Object.fromEntries(wanted.map((name, at) => [`#a${at}`, name]));
    let from = start;
    do {
      const page = await dynamo.send(new QueryCommand({
        TableName: table, IndexName: index, KeyConditionExpression: '#k = :v', ProjectionExpression: Object.keys(names).join(', '),
        ExpressionAttributeNames: { '#k': attribute, ...names }, ExpressionAttributeValues: { ':v': value }, ExclusiveStartKey: from,
        ...(Number.isFinite(limit) ? { Limit: limit - items.length } : {}),
      }));
      items.push(...(page.Items ?? []));
      from = page.LastEvaluatedKey;
    } while (from && items.length < limit);
    return { items, ...(from ? { last: from } : {}) };
  }
  return {
    byCorrelationId: async (correlationId) => inOrder((await query('byCorrelationId', 'correlationId', correlationId, ENTRY_ATTRIBUTES)).items.map(entryOf)),
    async byImageUID(imageUID, page): Promise<EventPage> {
      // The start key is built here from the route's UID: a cursor cannot point into another image's rows.
      const startAt = (position: EventPosition): Item => ({ imageUID, eventKey: position.eventKey, pid: position.pid });
      const positionOf = (item: Item): EventPosition => ({ eventKey: String(item['eventKey']), pid: String(item['pid']) });
      const ending = (kept: readonly Item[], more: boolean): EventPage => {
        const final = kept.at(-1);
        return { entries: inOrder(kept.map(entryOf)), ...(more && final ? { next: positionOf(final) } : {}) };
      };
      // One row more than the page: whether there is a next page, and whether the page would end inside a message.
      const { items } = await query('byImageUID', 'imageUID', imageUID, PAGE_ATTRIBUTES, page.limit + 1, page.after && startAt(page.after));
      if (items.length <= page.limit) return ending(items, false);
      const rows = items.slice(0, page.limit);
      const peek = items[page.limit] as Item;
      const message = rows.at(-1)?.['eventKey'];
      if (peek['eventKey'] !== message) return ending(rows, true);
      // The rows of one message share its eventKey and are put in step order within a page only: a page that ended
      // inside one gave its steps in another order for each page size. It ends before that message instead, or,
      // when the page is nothing but that message (a limit below its steps), takes the rest of its rows too.
      const firstOfMessage = rows.findIndex((item) => item['eventKey'] === message);
      if (firstOfMessage > 0) return ending(rows.slice(0, firstOfMessage), true);
      const kept = [...rows, peek];
      for (let from: Item | undefined = startAt(positionOf(peek)); from;) {
        const rest = await query('byImageUID', 'imageUID', imageUID, PAGE_ATTRIBUTES, MESSAGE_ROWS_STEP, from);
        const other = rest.items.findIndex((item) => item['eventKey'] !== message);
        kept.push(...(other < 0 ? rest.items : rest.items.slice(0, other)));
        if (other >= 0) return ending(kept, true);
        from = rest.last;
      }
      return ending(kept, false);
    },
  };
}
