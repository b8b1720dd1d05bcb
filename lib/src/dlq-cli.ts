/**
 * `npm run dlq:list [-- <topic>]` and `npm run dlq:redrive -- <topic> [--offset P@N]... [--undecodable]`:
 * inspect dead letters and put them back on their original topic (the undecodable ones too with `--undecodable`), narrowed by
 * `--group`, `--error-code`, `--key`, `--since`/`--until`, `--pending` and
 * `--limit` (DLQ_USAGE). `<topic>` is the original topic (orbit.image.stored)
 * or its DLQ (orbit.image.stored.dlq).
 */
import { EXIT_ANOTHER_RUN, failPlainly, parseCommandLine, stopOnSignals } from './command-line.js';
import { readCheckedConfig } from './config.js';
import { DLQ_HELP, DLQ_OPTIONS, dlqCommandOf } from './dlq-arguments.js';
import { createKafka, KafkaJSError } from './kafka/client.js';
import { kafkaConnection } from './kafka/connection.js';
import { GroupRunningError } from './kafka/group-offsets.js';
import { DeadLetterNotFoundError, OffsetWithoutPartitionError } from './kafka/dlq-named.js';
import { letterLine, listedJson, listedLine, ListTally } from './dlq-lines.js';
import { forEachDeadLetter, MAYBE_REDRIVEN, redriveDeadLetters, UNDECODABLE_REASON, type LetterSummary } from './kafka/dlq-ops.js';
import { kafkaAnswers } from './kafka/reachable.js';
import { TopicReadIncompleteError } from './kafka/read-to-end.js';
import { createLogger, stderrDestination } from './logger.js';
import { runtimeEnv } from './runtime-config.js';
import { StoreUnavailableError } from './errors.js';
import { sourceTopicOf } from './topics.js';
import { exitIfNotStoppedIn, OPS_RETRIES, opsRequestTimeoutMs, STOP_GRACE_MS } from './dlq-cli-deadlines.js';

failPlainly(`dlq:${process.argv[2] ?? 'ops'}`);

const { positionals, values } = parseCommandLine({ allowPositionals: true, options: DLQ_OPTIONS }, DLQ_HELP);
const command = dlqCommandOf(positionals, values);
if ('refused' in command) {
  process.stderr.write(`${command.refused}\n`);
  process.exit(2);
}
// Kafka's connection variables are checked with the others: every problem in one report, not one round per fix.
const { config, checked } = readCheckedConfig(runtimeEnv, { kafka: (read) => kafkaConnection(read) });
// Its output is for a person: kafkajs's retries stay quiet unless LOG_LEVEL asks for them (warn, debug); what failed is said in one line.
const logger = createLogger({ service: 'dlq', level: config.LOG_LEVEL === 'info' ? 'fatal' : config.LOG_LEVEL, destination: stderrDestination() });
const connection = checked.kafka;
const brokers = connection.brokers.join(',');
// A broker that answered and then fell silent is given up in about --timeout per request, and asked again twice:
// with the services' 30 s and eight retries, dlq:list --timeout 5 took five minutes to fail.
const kafka = createKafka({ clientId: 'orbit-dlq', ...connection, logger, requestTimeoutMs: opsRequestTimeoutMs(command.timeoutMs), retries: OPS_RETRIES });

// Brokers that do not answer are said in seconds (the deadline, or --timeout when given), naming them.
await kafkaAnswers({ clientId: 'orbit-dlq', ...connection, logger }, command.timeoutMs);

/** A read of a DLQ that stalled says what to do about it: the same run fails the same way unless it may wait longer. */
function stalled(error: unknown, done: string): never {
  if (!(error instanceof TopicReadIncompleteError)) throw kafkaUnavailable(error);
  process.stderr.write(`${error.message}; ${done}. Is Kafka answering? \`--timeout <seconds>\` lets a read wait longer for progress\n`);
  process.exit(1);
}

/**
 * kafkajs's own failure (a request timed out, a broker not connected) said as the README says it, "Kafka at <brokers>
 * is unavailable", kafkajs's words after it as the cause: they named no broker, and no store.
 */
function kafkaUnavailable(error: unknown): unknown {
  return error instanceof KafkaJSError ? new StoreUnavailableError(`Kafka at ${brokers}`, error) : error;
}

const timeout = command.timeoutMs !== undefined ? { timeoutMs: command.timeoutMs } : {};
if (command.kind === 'list') {
  let total = 0;
  const tally = new ListTally();
  for (const topic of command.dlqTopics) {
    const left = command.filter.limit === undefined ? {} : { limit: command.filter.limit - total };
    // Lines go out a lot at a time, once the messages pending letters name are read back: a DLQ of any size lists in the memory of a lot.
    total += await forEachDeadLetter(kafka, topic, (letter) => {
      tally.count(letter);
      process.stdout.write(`${command.json ? listedJson(letter) : listedLine(letter)}\n`);
    }, { filter: { ...command.filter, ...left }, ...timeout }).catch((error: unknown) => stalled(error, 'the list above is not the whole DLQ'));
    if (command.filter.limit !== undefined && total >= command.filter.limit) break;
  }
  const summary = `${tally.summary(command.dlqTopics.length)}\n`;
  // One object a line on stdout, for a script: the count goes to stderr.
  (command.json ? process.stderr : process.stdout).write(summary);
} else {
  const { dlqTopic, offsets, undecodable } = command;
  // Ctrl-C or a SIGTERM stops it between two lots (each sent with its record in one transaction); a second one at once.
  const stop = stopOnSignals((signal) => `${signal}: stopping after the letters being sent now (again to stop at once; nothing is sent twice either way)`);
  exitIfNotStoppedIn(stop, STOP_GRACE_MS);
  let redriven = 0;
  let setAside = 0;
  let setAsideUndecodable = 0;
  // Each letter is said as its lot is committed, and not kept: a re-drive of a million letters holds one lot.
  const onDealt = (letter: LetterSummary, reason: string | undefined): void => {
    if (reason === undefined) redriven += 1;
    else setAside += 1;
    if (reason === UNDECODABLE_REASON) setAsideUndecodable += 1;
    process.stdout.write(reason === undefined ? `re-driven for ${letter.consumerGroup || 'every group'} ${letterLine(letter)}\n` : `set aside (${reason}) ${letterLine(letter)}\n`);
  };
  const { stopped, maybeRedrivenLeft } = await redriveDeadLetters(kafka, dlqTopic, { ...(offsets ? { offsets } : {}), ...(undecodable ? { undecodable } : {}), filter: command.filter, signal: stop.signal, onDealt, ...timeout }).catch((error: unknown) => {
    if (error instanceof GroupRunningError) {
      // A re-drive killed a moment ago is still a member until its session times out (10 s).
      process.stderr.write(`another dlq:redrive of ${dlqTopic} is running, or one was stopped less than 10 s ago; nothing was re-driven by this one: run it again once that one has finished\n`);
      process.exit(EXIT_ANOTHER_RUN);
    } else if (error instanceof DeadLetterNotFoundError) {
      process.stderr.write(`${error.message}; \`npm run dlq:list -- ${dlqTopic}\` lists them\n`);
    } else if (error instanceof OffsetWithoutPartitionError) {
      // The words name no one letter, as a malformed --offset does: a usage mistake, told apart from a failure.
      process.stderr.write(`${error.message}\n`);
      process.exit(2);
    } else {
      stalled(error, 'the lots this run sent are recorded, and the next run goes on after them');
    }
    process.exit(1);
  });
  process.stdout.write(`${redriven} dead letter(s) re-driven, ${setAside} set aside${offsets ? '' : ' (earlier re-drives are not repeated)'}\n`);
  // After an upgrade done in another order these can be hundreds: the way to send them all is said once, not only per letter.
  if (setAsideUndecodable > 0) {
    process.stdout.write(`${setAsideUndecodable} of them could not be decoded (ORBIT_ERR_DECODE): once every consumer runs a release that decodes them, \`npm run dlq:redrive -- ${sourceTopicOf(dlqTopic) ?? dlqTopic} --undecodable\` re-drives them\n`);
  }
  // Found by a bug reread: --undecodable sent these again after a release before 2026-12-04 had sent them once.
  if (maybeRedrivenLeft !== undefined) {
    process.stdout.write(`${maybeRedrivenLeft} undecodable letter(s) left: a re-drive of a release before 2026-12-06 dealt with them and kept only a committed offset, so whether it sent them (before 2026-12-04 it did) is not known (\`dlq:list\` shows them ${MAYBE_REDRIVEN}); \`npm run dlq:redrive -- ${sourceTopicOf(dlqTopic) ?? dlqTopic} --offset <partition>@<offset>\` sends one on purpose, once its consumer group is found not to have had the message\n`);
  }
  if (stopped) {
    process.stdout.write(`stopped by ${stop.stoppedBy() ?? 'a signal'} before the rest: they stay pending for the next dlq:redrive\n`);
    process.exit(stop.exitCode());
  }
}
