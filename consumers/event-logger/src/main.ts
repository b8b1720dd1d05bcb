/** Writes every orbit.* message into the user event log, keyed by PID. */
import { ALL_TOPICS, createDynamo, runMain, startConsumerService, tableName, type EventEnvelope } from '@orbit/lib';
import { loadSchemas } from '@orbit/schemas';
import { eventLoggerHandler } from './handle.js';

runMain(() =>
  startConsumerService<EventEnvelope, Record<string, never>>({
    service: 'event-logger',
    topics: ALL_TOPICS,
    schemas: loadSchemas(),
    createHandler: ({ config }) =>
      eventLoggerHandler({
        dynamo: createDynamo(config),
        eventLogTable: tableName('userEventLog', config),
        errorLogTable: tableName('userErrorLog', config),
      }),
  }),
);
