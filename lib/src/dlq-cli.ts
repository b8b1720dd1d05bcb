/**
 * `npm run dlq:list [-- <topic>]` and `npm run dlq:redrive -- <topic> [--offset N]...`:
 * inspect dead letters and put them back on their original topic.
 * `<topic>` is the original topic (orbit.image.stored) or its DLQ (orbit.image.stored.dlq).
 */
import { parseCommandLine } from './command-line.js';
import { readConfig } from './config.js';
import { createKafka } from './kafka/client.js';
import { listDeadLetters, redriveDeadLetters, type DeadLetterEntry } from './kafka/dlq-ops.js';
import { createLogger } from './logger.js';
import { runtimeEnv } from './runtime-config.js';
import { ALL_TOPICS, dlqTopicOf, isDlqTopic } from './topics.js';

const USAGE = 'dlq list [topic] | dlq redrive <topic> [--offset N]...';
const { positionals, values } = parseCommandLine({ allowPositionals: true, options: { offset: { type: 'string', multiple: true } } }, USAGE);
const [command, topicArgument] = positionals;
if (command !== 'list' && command !== 'redrive') {
  process.stderr.write(`usage: ${USAGE}\n`);
  process.exit(2);
}
if (command === 'redrive' && !topicArgument) {
  process.stderr.write('dlq:redrive needs the topic whose dead letters to re-drive, e.g. npm run dlq:redrive -- orbit.image.stored\n');
  process.exit(2);
}
const config = readConfig(runtimeEnv);
const logger = createLogger({ service: 'dlq', level: 'warn' });
const kafka = createKafka({ clientId: 'orbit-dlq', brokers: config.KAFKA_BROKERS, logger });
const dlqOf = (topic: string): string => (isDlqTopic(topic) ? topic : dlqTopicOf(topic));

function line(letter: DeadLetterEntry): string {
  return [
    `${letter.dlqTopic}/${letter.dlqPartition}@${letter.dlqOffset}`,
    `from ${letter.originalTopic}/${letter.originalPartition}@${letter.originalOffset}`,
    `key=${letter.key?.toString('utf8') ?? '-'}`,
    `group=${letter.consumerGroup}`, `attempts=${letter.attempts}`, `at=${letter.failedAt}`,
    `${letter.errorCode}: ${letter.errorMessage}`,
  ].join('  ');
}

if (command === 'list') {
  const topics = topicArgument ? [dlqOf(topicArgument)] : ALL_TOPICS.map(dlqTopicOf);
  let total = 0;
  for (const topic of topics) {
    const letters = await listDeadLetters(kafka, topic);
    total += letters.length;
    for (const letter of letters) process.stdout.write(`${line(letter)}\n`);
  }
  process.stdout.write(`${total} dead letter(s) in ${topics.length} DLQ topic(s)\n`);
} else {
  const redriven = await redriveDeadLetters(kafka, dlqOf(topicArgument ?? ''), values.offset ? { offsets: values.offset } : {});
  for (const letter of redriven) process.stdout.write(`re-driven ${line(letter)}\n`);
  process.stdout.write(`${redriven.length} dead letter(s) re-driven${values.offset ? '' : ' (earlier re-drives are not repeated)'}\n`);
}
