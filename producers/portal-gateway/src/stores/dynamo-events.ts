import { QueryCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { EventLogReader, TimelineEntry } from '../ports.js';

/** Timelines from the user event log's GSIs; the sort key orders rows by time, then offset. */
export function dynamoEventLog(dynamo: DynamoDBDocumentClient, table: string): EventLogReader {
  async function query(index: string, attribute: string, value: string): Promise<TimelineEntry[]> {
    const entries: TimelineEntry[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const page = await dynamo.send(new QueryCommand({
        TableName: table, IndexName: index, KeyConditionExpression: '#k = :v',
        ExpressionAttributeNames: { '#k': attribute }, ExpressionAttributeValues: { ':v': value }, ExclusiveStartKey: start,
      }));
      for (const item of page.Items ?? []) {
        entries.push({ pid: String(item['pid']), eventType: String(item['eventType']), at: String(item['occurredAt']), correlationId: String(item['correlationId']), payload: JSON.parse(String(item['payload'] ?? 'null')) as unknown });
      }
      start = page.LastEvaluatedKey;
    } while (start);
    // Rows come by time then Kafka position; the steps one message stands for share its time and go in PID order.
    const order = (pid: string): number => Number(/-e(\d+)$/.exec(pid)?.[1] ?? 1000);
    return entries
      .map((entry, index) => ({ entry, index }))
      .sort((a, b) => (a.entry.at === b.entry.at ? order(a.entry.pid) - order(b.entry.pid) || a.index - b.index : a.index - b.index))
      .map(({ entry }) => entry);
  }
  return {
    byCorrelationId: (correlationId) => query('byCorrelationId', 'correlationId', correlationId),
    byImageUID: (imageUID) => query('byImageUID', 'imageUID', imageUID),
  };
}
