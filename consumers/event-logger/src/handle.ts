import { BatchWriteCommand, PutCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { abortableSleep, StoreUnavailableError, TOPICS, type ConsumedMessage, type EventEnvelope } from '@orbit/lib';
import { eventLogRows, type EventLogRow } from './event-row.js';

export interface EventLoggerDeps {
  readonly dynamo: DynamoDBDocumentClient;
  readonly eventLogTable: string;
  readonly errorLogTable: string;
  /** ORBIT_EVENT_LOG_RETENTION_DAYS: rows of both logs expire this many days after their event; 0 keeps them for ever. */
  readonly retentionDays: number;
}

const ERROR_TOPICS: ReadonlySet<string> = new Set([TOPICS.imageRejected, TOPICS.pipelineFailed]);
/** DynamoDB's BatchWriteItem limit. */
const BATCH_WRITE_LIMIT = 25;

/** One row to put, and the table it goes to. */
export interface EventLogWrite {
  readonly table: string;
  readonly row: EventLogRow;
}

/**
 * The rows one message stands for, each with its table: the live handlers and `events:refill` both write these, so a
 * refilled row has the key the live one had.
 */
export function writesOf(deps: EventLoggerDeps, message: Pick<ConsumedMessage<EventEnvelope>, 'event' | 'topic' | 'partition' | 'offset'>): EventLogWrite[] {
  // The error log's row is the message's own: it expires with it.
  const rows = eventLogRows(message.event, message, new Date(), deps.retentionDays);
  const logged = rows.map((row) => ({ table: deps.eventLogTable, row }));
  const first = rows[0];
  return ERROR_TOPICS.has(message.topic) && first ? [...logged, { table: deps.errorLogTable, row: first }] : logged;
}

/**
 * Writes every Orbit message to the user event log (and failures to the error
 * log too). Plain puts keyed by the message's own position: a redelivered or
 * replayed message overwrites its row instead of adding one.
 */
export function eventLoggerHandler(deps: EventLoggerDeps) {
  return async (message: ConsumedMessage<EventEnvelope>): Promise<void> => {
    for (const { table, row } of writesOf(deps, message)) await deps.dynamo.send(new PutCommand({ TableName: table, Item: row }));
    message.log.debug('event logged');
  };
}

/** The batched form: BatchWriteItem in groups of 25, re-sending what DynamoDB left unprocessed. */
export function eventLoggerBatchHandler(deps: EventLoggerDeps) {
  return (messages: readonly ConsumedMessage<EventEnvelope>[]): Promise<void> => writeRows(deps, messages.flatMap((message) => writesOf(deps, message)));
}

/** Puts `writes` with BatchWriteItem in groups of 25, re-sending what DynamoDB left unprocessed. */
export async function writeRows(deps: Pick<EventLoggerDeps, 'dynamo'>, writes: readonly EventLogWrite[]): Promise<void> {
  for (let start = 0; start < writes.length; start += BATCH_WRITE_LIMIT) {
    let pending: Record<string, { PutRequest: { Item: Record<string, unknown> } }[]> = {};
    for (const { table, row } of writes.slice(start, start + BATCH_WRITE_LIMIT)) {
      (pending[table] ??= []).push({ PutRequest: { Item: { ...row } } });
    }
    for (let attempt = 0; Object.keys(pending).length > 0; attempt++) {
      if (attempt === 8) throw new StoreUnavailableError('dynamodb', 'BatchWriteItem kept leaving items unprocessed');
      if (attempt > 0) await abortableSleep(50 * 2 ** attempt);
      const answer = await deps.dynamo.send(new BatchWriteCommand({ RequestItems: pending }));
      pending = (answer.UnprocessedItems ?? {}) as typeof pending;
    }
  }
}
