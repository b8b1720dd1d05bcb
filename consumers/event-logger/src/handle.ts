import { PutCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { TOPICS, type ConsumedMessage, type EventEnvelope } from '@orbit/lib';
import { eventLogRow } from './event-row.js';

export interface EventLoggerDeps {
  readonly dynamo: DynamoDBDocumentClient;
  readonly eventLogTable: string;
  readonly errorLogTable: string;
}

const ERROR_TOPICS: ReadonlySet<string> = new Set([TOPICS.imageRejected, TOPICS.pipelineFailed]);

/**
 * Writes every Orbit message to the user event log (and failures to the error
 * log too). A plain put keyed by the message's own position: a redelivered or
 * replayed message overwrites its row instead of adding one.
 */
export function eventLoggerHandler(deps: EventLoggerDeps) {
  return async (message: ConsumedMessage<EventEnvelope>): Promise<void> => {
    const row = eventLogRow(message.event, message);
    await deps.dynamo.send(new PutCommand({ TableName: deps.eventLogTable, Item: row }));
    if (ERROR_TOPICS.has(message.topic)) {
      await deps.dynamo.send(new PutCommand({ TableName: deps.errorLogTable, Item: row }));
    }
    message.log.debug({ eventType: row.eventType }, 'event logged');
  };
}
