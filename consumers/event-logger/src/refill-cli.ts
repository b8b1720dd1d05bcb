/**
 * `npm run events:refill -- --since <ISO time> [--until <ISO time>] [--topic <t>]... [--dry-run]`: writes the user
 * event log (and error log) again from Kafka, from a time on: after a DynamoDB point-in-time restore, from the restore
 * time. Rows are keyed by position, so a row still there is found and left as it is, never doubled. The live
 * event-logger's group is left as it is; the command's own groups commit nothing and are deleted at the end. Progress
 * goes to stderr, the summary to stdout; exit 0 once done, 1 on a failure (the rows written so far stay, and a second
 * run rewrites them), 2 on a bad command line.
 */
import {
  createDynamo, createKafka, createLogger, describeError, EventCodec, failPlainly, kafkaAnswers, kafkaConnection, OrbitError, parseCommandLine, readCheckedConfig, runtimeEnv, stderrDestination, StoreUnavailableError, tableName,
} from '@orbit/lib';
import { loadSchemas } from '@orbit/schemas';
import { eventLoggerEnv } from './config.js';
import { REFILL_USAGE, refillEventLog, refillOptionsOf, refillSummary } from './refill.js';

failPlainly('events:refill');

const { values } = parseCommandLine({
  options: { since: { type: 'string' }, until: { type: 'string' }, topic: { type: 'string', multiple: true }, 'dry-run': { type: 'boolean' } },
}, `${REFILL_USAGE}   (writes the user event log again from the lifecycle topics, from --since on: after a DynamoDB point-in-time restore, from the restore time; rows still there are left as they are, none doubled; the event-logger's consumer group is not touched; --dry-run counts the rows, and how many are missing, without writing)`);
const options = refillOptionsOf(values);
if ('refused' in options) {
  process.stderr.write(`${options.refused}\nusage: ${REFILL_USAGE}\n`);
  process.exit(2);
}
// The service's variables too: ORBIT_EVENT_LOG_RETENTION_DAYS gives refilled rows the expiry the live ones get.
const { config, checked } = readCheckedConfig({ ...runtimeEnv, ...eventLoggerEnv }, { kafka: (read) => kafkaConnection(read) });
// Its output is for a person: kafkajs's retries stay quiet unless asked for (LOG_LEVEL=debug).
const logger = createLogger({ service: 'events-refill', level: config.LOG_LEVEL === 'debug' ? 'debug' : 'fatal', destination: stderrDestination() });

/**
 * Ends the command on an Orbit error with failPlainly's line and the error's code in it (`events:refill failed:
 * ORBIT_ERR_NOT_PROVISIONED: …`), for a script to tell a missing table from Kafka away; anything else goes on to
 * failPlainly as it is.
 */
const refuse = (error: unknown): never => {
  if (!(error instanceof OrbitError)) throw error;
  process.stderr.write(`events:refill failed: ${error.code}: ${describeError(error, 1000).replace(/\s*\n\s*/g, ' ')}\n`);
  process.exit(1);
};

// A broker that is down or silent is said in seconds, before anything is read or written.
await kafkaAnswers({ clientId: 'orbit-events-refill', ...checked.kafka, logger }).catch((error: unknown) => {
  refuse(error instanceof StoreUnavailableError ? error : new StoreUnavailableError(`Kafka at ${config.KAFKA_BROKERS.join(',')}`, error));
});
const report = await refillEventLog({
  kafka: createKafka({ clientId: 'orbit-events-refill', ...checked.kafka, logger }),
  codec: new EventCodec(config.SCHEMA_REGISTRY_URL, loadSchemas()),
  dynamo: createDynamo(config),
  eventLogTable: tableName('userEventLog', config),
  errorLogTable: tableName('userErrorLog', config),
  retentionDays: config.ORBIT_EVENT_LOG_RETENTION_DAYS,
  progress: (line) => process.stderr.write(`${line}\n`),
}, options).catch(refuse);
process.stdout.write(`${refillSummary(report)}\n`);
// kafkajs and the AWS SDK may keep sockets open for a while: the work is done.
process.exit(0);
