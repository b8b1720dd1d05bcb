import { ALL_TOPICS, dlqTopicOf, isDlqTopic } from './topics.js';

export const DLQ_USAGE = 'npm run dlq:list -- [topic] | npm run dlq:redrive -- <topic> [--offset N]...';

export type DlqCommand =
  | { readonly kind: 'list'; readonly dlqTopics: readonly string[] }
  | { readonly kind: 'redrive'; readonly dlqTopic: string; readonly offsets?: readonly string[] };

/**
 * The dlq command a user's words ask for, or why they do not make one. Checked
 * before anything reaches Kafka: an unknown topic there is a 30-second wait on
 * metadata retries ending in a stack trace, and a malformed offset simply
 * matched no letter ("0 dead letter(s) re-driven").
 */
export function dlqCommandOf(positionals: readonly string[], offsets: readonly string[] | undefined): DlqCommand | { readonly refused: string } {
  const [command, topic, ...extra] = positionals;
  if (command !== 'list' && command !== 'redrive') return { refused: `usage: ${DLQ_USAGE}` };
  if (extra.length > 0) return { refused: `one topic at a time, not ${[topic, ...extra].join(' ')}\nusage: ${DLQ_USAGE}` };
  let dlqTopic: string | undefined;
  if (topic !== undefined) {
    const original = isDlqTopic(topic) ? topic.slice(0, -'.dlq'.length) : topic;
    if (!(ALL_TOPICS as readonly string[]).includes(original)) return { refused: `unknown topic "${topic}"; Orbit's topics are ${ALL_TOPICS.join(', ')} (or their .dlq)` };
    dlqTopic = dlqTopicOf(original);
  }
  const malformed = offsets?.find((offset) => !/^\d+$/.test(offset));
  if (malformed !== undefined) return { refused: `--offset takes a DLQ offset as \`npm run dlq:list\` prints it after @, a whole number, not "${malformed}"` };
  if (command === 'list') {
    if (offsets) return { refused: `--offset goes with redrive only\nusage: ${DLQ_USAGE}` };
    return { kind: 'list', dlqTopics: dlqTopic ? [dlqTopic] : ALL_TOPICS.map(dlqTopicOf) };
  }
  if (!dlqTopic) return { refused: 'dlq:redrive needs the topic whose dead letters to re-drive, e.g. npm run dlq:redrive -- orbit.image.stored' };
  // Offsets are compared as Kafka writes them: "007" is offset 7.
  return { kind: 'redrive', dlqTopic, ...(offsets ? { offsets: offsets.map((offset) => BigInt(offset).toString()) } : {}) };
}

