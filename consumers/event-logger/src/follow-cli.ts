/**
 * `npm run events:follow`: a subscriber to the lifecycle topics, for people.
 * Prints each event as one JSON line (where it lies on Kafka, then the event
 * as its schema decodes it), new ones as they come, or from the beginning.
 * Its consumer group is its own and commits nothing, so it never takes
 * messages from a service, and leaves no position behind.
 */
import { randomUUID } from 'node:crypto';
import { answerWithin, failPlainly, createKafka, createLogger, describeError, kafkaAnswers, kafkaConnection, registryEndpoint, EventCodec, isRetriable, parseCommandLine, readCheckedConfig, runtimeEnv, stderrDestination, StoreUnavailableError } from '@orbit/lib';
import { loadSchemas } from '@orbit/schemas';
import { FOLLOW_USAGE, followLine, followOptionsOf, wanted } from './follow.js';

failPlainly('events:follow');

const { positionals, values } = parseCommandLine({
  allowPositionals: true,
  options: { 'from-beginning': { type: 'boolean' }, image: { type: 'string' }, request: { type: 'string' }, count: { type: 'string' } },
}, `${FOLLOW_USAGE}   (prints the lifecycle events as they come, or from the beginning, one JSON line each, optionally only one image's or one request's; takes no messages from the services)`);
const options = followOptionsOf(positionals, values);
if ('refused' in options) {
  process.stderr.write(`${options.refused}\nusage: ${FOLLOW_USAGE}\n`);
  process.exit(2);
}
// Kafka's connection variables are checked with the others: every problem in one report, not one round per fix.
const { config, checked } = readCheckedConfig(runtimeEnv, { kafka: (read) => kafkaConnection(read) });
// Its output is for a person: kafkajs's retries stay quiet unless asked for (LOG_LEVEL=debug); what failed is said in one line.
const logger = createLogger({ service: 'events-follow', level: config.LOG_LEVEL === 'debug' ? 'debug' : 'fatal', destination: stderrDestination() });
const kafka = createKafka({ clientId: 'orbit-events-follow', ...checked.kafka, logger });
const codec = new EventCodec(config.SCHEMA_REGISTRY_URL, loadSchemas());
const consumer = kafka.consumer({ groupId: `orbit-events-follow-${randomUUID()}`, maxWaitTimeInMs: 500 });

/**
 * How long a stop waits for the consumer to leave its group politely. kafkajs's disconnect waits out its request
 * timeout (30 s) on a silent broker: Ctrl-C took 31 s to end the command. The group is the command's own and
 * commits nothing, so leaving it unannounced costs nothing but its session timeout on the broker.
 */
const DISCONNECT_WAIT_MS = 2_000;
/** How long fetches may go unanswered before the person following is told Kafka has gone quiet (once an outage). */
const SILENCE_WARNING_MS = 15_000;

const disconnected = (): Promise<void> =>
  answerWithin(consumer.disconnect(), DISCONNECT_WAIT_MS, () => new Error('Kafka did not see the consumer out in time')).catch(() => undefined);

let printed = 0;
const stop = async (code: number): Promise<never> => {
  await disconnected();
  process.exit(code);
};
/**
 * Ends the command as every ops command ends on an error: failPlainly's one line, `events:follow failed: …`, and
 * exit 1. The error is thrown on, not printed here: a rejection nothing handles reaches failPlainly as an
 * uncaught exception, from the top level and from a message handler alike.
 */
const fail = async (error: unknown): Promise<never> => {
  await disconnected();
  throw error;
};
process.once('SIGINT', () => void stop(0));
process.once('SIGTERM', () => void stop(0));

try {
  // A broker that is down or silent is said in seconds: the consumer's own eight retries took 33-39 s to give up.
  await kafkaAnswers({ clientId: 'orbit-events-follow', ...checked.kafka, logger });
  await consumer.connect();
  await consumer.subscribe({ topics: [...options.topics], fromBeginning: options.fromBeginning });
} catch (error) {
  // A person ran this: one line saying what it could not reach, not kafkajs's stack.
  await fail(error instanceof StoreUnavailableError ? error : new StoreUnavailableError(`Kafka at ${config.KAFKA_BROKERS.join(',')}`, error));
}
consumer.on(consumer.events.GROUP_JOIN, () => {
  process.stderr.write(`following ${options.topics.join(', ')} (${options.fromBeginning ? 'from the beginning' : 'new events only'}); Ctrl-C stops\n`);
});
watchForSilence();

/**
 * Says once on stderr when Kafka has answered no fetch for SILENCE_WARNING_MS, and once when it answers again: a
 * follower of quiet topics printed nothing either way, so an outage looked like a calm pipeline.
 */
function watchForSilence(): void {
  const brokers = config.KAFKA_BROKERS.join(',');
  let lastAnswer = Date.now();
  let warned = false;
  const answered = (): void => {
    lastAnswer = Date.now();
    if (!warned) return;
    warned = false;
    process.stderr.write(`Kafka at ${brokers} answers again; following on\n`);
  };
  consumer.on(consumer.events.GROUP_JOIN, answered);
  consumer.on(consumer.events.FETCH, answered);
  setInterval(() => {
    if (warned || Date.now() - lastAnswer < SILENCE_WARNING_MS) return;
    warned = true;
    process.stderr.write(`Kafka at ${brokers} has answered nothing for ${SILENCE_WARNING_MS / 1000} s; still waiting, and what comes meanwhile is printed once it answers (Ctrl-C stops)\n`);
  }, 1_000).unref();
}
await consumer.run({
  autoCommit: false,
  eachMessage: async ({ topic, partition, message }) => {
    if (options.count !== undefined && printed >= options.count) return;
    let event: unknown;
    try {
      event = await codec.decode(topic, message.value);
    } catch (error) {
      if (isRetriable(error)) {
        // The registry is away: every event would be skipped, so say so once and stop (not awaited: see below).
        void fail(new StoreUnavailableError(`the schema registry at ${registryEndpoint(config.SCHEMA_REGISTRY_URL).host}`, error));
        return;
      }
      process.stderr.write(`${topic}/${partition}@${message.offset}: not decodable: ${describeError(error, 300)}\n`);
      return;
    }
    if (!wanted(event, options)) return;
    const traceparent = message.headers?.['traceparent'];
    process.stdout.write(`${followLine({ topic, partition, offset: message.offset, key: message.key?.toString('utf8') ?? null, traceparent: traceparent ? String(traceparent) : null }, event)}\n`);
    printed += 1;
    // Not awaited: disconnect waits for this handler to return.
    if (options.count !== undefined && printed >= options.count) void stop(0);
  },
});
