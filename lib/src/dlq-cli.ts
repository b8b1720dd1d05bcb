/**
 * `npm run dlq:list [-- <topic>]` and `npm run dlq:redrive -- <topic> [--offset N]...`:
 * inspect dead letters and put them back on their original topic.
 * `<topic>` is the original topic (orbit.image.stored) or its DLQ (orbit.image.stored.dlq).
 */
import { EXIT_ANOTHER_RUN, failPlainly, parseCommandLine, stopOnSignals } from './command-line.js';
import { readCheckedConfig } from './config.js';
import { DLQ_USAGE, dlqCommandOf } from './dlq-arguments.js';
import { StoreUnavailableError } from './errors.js';
import { createKafka, type Kafka } from './kafka/client.js';
import { kafkaConnection } from './kafka/connection.js';
import { GroupRunningError } from './kafka/group-offsets.js';
import { DeadLetterNotFoundError, letterState, listDeadLetters, redriveDeadLetters, type DeadLetterEntry } from './kafka/dlq-ops.js';
import { createLogger, stderrDestination } from './logger.js';
import { runtimeEnv } from './runtime-config.js';

failPlainly(`dlq:${process.argv[2] ?? 'ops'}`);

const { positionals, values } = parseCommandLine({ allowPositionals: true, options: { offset: { type: 'string', multiple: true } } }, DLQ_USAGE);
const command = dlqCommandOf(positionals, values.offset);
if ('refused' in command) {
  process.stderr.write(`${command.refused}\n`);
  process.exit(2);
}
// Kafka's connection variables are checked with the others: every problem in one report, not one round per fix.
const { config, checked } = readCheckedConfig(runtimeEnv, { kafka: (read) => kafkaConnection(read) });
// Its output is for a person: kafkajs's retries stay quiet unless LOG_LEVEL asks for them (warn, debug); what failed is said in one line.
const logger = createLogger({ service: 'dlq', level: config.LOG_LEVEL === 'info' ? 'fatal' : config.LOG_LEVEL, destination: stderrDestination() });
const connection = checked.kafka;
const kafka = createKafka({ clientId: 'orbit-dlq', ...connection, logger });

/**
 * Brokers that do not answer are said in seconds, not after the client's
 * eight retries (36 s): a short-lived client with two tries connects first.
 * The work itself keeps the usual retries, for a cluster that is only settling.
 */
async function reachable(probe: Kafka): Promise<void> {
  const admin = probe.admin();
  try {
    await admin.connect();
  } catch (error) {
    throw new StoreUnavailableError(`Kafka at ${config.KAFKA_BROKERS.join(',')}`, error);
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}
await reachable(createKafka({ clientId: 'orbit-dlq', ...connection, logger, retries: 2 }));

function line(letter: DeadLetterEntry): string {
  return [
    `${letter.dlqTopic}/${letter.dlqPartition}@${letter.dlqOffset}`,
    `from ${letter.originalTopic}/${letter.originalPartition}@${letter.originalOffset}`,
    `key=${letter.key?.toString('utf8') ?? '-'}`,
    `group=${letter.consumerGroup}`, `attempts=${letter.attempts}`, `at=${letter.failedAt}`,
    `${letter.errorCode}: ${letter.errorMessage}`,
    ...(letter.omittedValueBytes !== null ? [`(message of ${letter.omittedValueBytes} bytes not kept: too large for the DLQ)`] : []),
  ].join('  ');
}

/** A listed letter with what a person needs to tell it from others: re-driven already, or failing again after a re-drive. */
function listedLine(letter: DeadLetterEntry): string {
  return `${letterState(letter)}  ${line(letter)}${letter.redrivenFrom ? `  (failed again after re-drive of ${letter.redrivenFrom})` : ''}`;
}

if (command.kind === 'list') {
  let total = 0;
  let pending = 0;
  for (const topic of command.dlqTopics) {
    const letters = await listDeadLetters(kafka, topic);
    total += letters.length;
    pending += letters.filter((letter) => !letter.redriven).length;
    for (const letter of letters) process.stdout.write(`${listedLine(letter)}\n`);
  }
  process.stdout.write(`${total} dead letter(s) in ${command.dlqTopics.length} DLQ topic(s), ${pending} pending (not re-driven yet)\n`);
} else {
  const { dlqTopic, offsets } = command;
  // Ctrl-C or a SIGTERM stops it between two lots (each sent with its record in one transaction); a second one at once.
  const stop = stopOnSignals((signal) => `${signal}: stopping after the letters being sent now (again to stop at once; nothing is sent twice either way)`);
  const { redriven, setAside, stopped } = await redriveDeadLetters(kafka, dlqTopic, { ...(offsets ? { offsets } : {}), signal: stop.signal }).catch((error: unknown) => {
    if (error instanceof GroupRunningError) {
      // A re-drive killed a moment ago is still a member until its session times out (10 s).
      process.stderr.write(`another dlq:redrive is running, or one was stopped less than 10 s ago (${error.message}); nothing was re-driven by this one: run it again once that one has finished\n`);
      process.exit(EXIT_ANOTHER_RUN);
    } else if (error instanceof DeadLetterNotFoundError) {
      process.stderr.write(`${error.message}; \`npm run dlq:list -- ${dlqTopic}\` lists them\n`);
    } else {
      throw error;
    }
    process.exit(1);
  });
  for (const letter of redriven) process.stdout.write(`re-driven for ${letter.consumerGroup || 'every group'} ${line(letter)}\n`);
  for (const { letter, reason } of setAside) process.stdout.write(`set aside (${reason}) ${line(letter)}\n`);
  process.stdout.write(`${redriven.length} dead letter(s) re-driven, ${setAside.length} set aside${offsets ? '' : ' (earlier re-drives are not repeated)'}\n`);
  if (stopped) {
    process.stdout.write(`stopped by ${stop.stoppedBy() ?? 'a signal'} before the rest: they stay pending for the next dlq:redrive\n`);
    process.exit(stop.exitCode());
  }
}
