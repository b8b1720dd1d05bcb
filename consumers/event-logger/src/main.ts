/**
 * Writes every orbit.* message into the user event log, keyed by PID, in batches. A `dlq:redrive` copy re-driven for
 * another group is passed over (by the consume loop): this service logged the original, and its rows are keyed by
 * position, not eventId, so logging the copy would show the step twice. One re-driven for this group is logged: the
 * original was not.
 */
import { createDynamo, dynamoCheck, SERVICE_KAFKA_USE, runMain, startConsumerService, tableName, type EventEnvelope } from '@orbit/lib';
import { loadSchemas } from '@orbit/schemas';
import { eventLoggerEnv } from './config.js';
import { eventLoggerBatchHandler, eventLoggerHandler, type EventLoggerDeps } from './handle.js';

let deps: EventLoggerDeps | undefined;
// One DynamoDB client for both handler forms.
const depsOf = (config: Parameters<typeof createDynamo>[0] & Parameters<typeof tableName>[1] & { readonly ORBIT_EVENT_LOG_RETENTION_DAYS: number }): EventLoggerDeps =>
  (deps ??= {
    dynamo: createDynamo(config), eventLogTable: tableName('userEventLog', config), errorLogTable: tableName('userErrorLog', config),
    retentionDays: config.ORBIT_EVENT_LOG_RETENTION_DAYS,
  });

runMain(() =>
  startConsumerService<EventEnvelope, typeof eventLoggerEnv>({
    service: 'event-logger',
    env: eventLoggerEnv,
    topics: SERVICE_KAFKA_USE['event-logger'].reads,
    schemas: loadSchemas(),
    createHandler: ({ config }) => eventLoggerHandler(depsOf(config)),
    createBatchHandler: ({ config }) => eventLoggerBatchHandler(depsOf(config)),
    // Shown in /readyz and orbit_dependency_up, not gating (see DependencyCheck): the table every event is written to.
    dependencies: ({ config }) => [dynamoCheck(depsOf(config).dynamo, depsOf(config).eventLogTable)],
  }),
);
