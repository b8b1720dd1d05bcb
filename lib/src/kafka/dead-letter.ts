import { createHash } from 'node:crypto';
import { OrbitError, RetryExhaustedError } from '../errors.js';
import { describeError, errorCodeOf } from '../error-description.js';
import type { Producer } from './client.js';
import { dlqTopicOf } from '../topics.js';
import { HEADER, headerBytes, valuelessHeaderNames } from './headers.js';
import type { KafkaMessage } from './client.js';

export interface DeadLetter {
  readonly topic: string;
  readonly partition: number;
  readonly message: KafkaMessage;
  readonly error: unknown;
  readonly attempts: number;
  readonly groupId: string;
}

type DeadLetterRecord = { key: Buffer | null; value: Buffer | null; headers: Record<string, string | Buffer | Buffer[]> };

/** The longest key a letter keeps once the message itself was too large to keep. */
const KEPT_KEY_BYTES = 1024;

function whyAndWhereFrom(letter: DeadLetter, now: Date): Record<string, string> {
  const attempts = letter.error instanceof RetryExhaustedError ? letter.error.attempts : letter.attempts;
  return {
    [HEADER.dlqError]: errorCodeOf(letter.error),
    [HEADER.dlqMessage]: describeError(letter.error),
    [HEADER.dlqRetriable]: String(letter.error instanceof OrbitError ? letter.error.retriable : false),
    [HEADER.dlqAttempts]: String(attempts),
    [HEADER.dlqTopic]: letter.topic,
    [HEADER.dlqPartition]: String(letter.partition),
    [HEADER.dlqOffset]: letter.message.offset,
    [HEADER.dlqGroup]: letter.groupId,
    [HEADER.dlqFailedAt]: now.toISOString(),
    [HEADER.dlqOriginalTimestamp]: letter.message.timestamp,
    ...droppedHeadersOf(letter),
  };
}

/** The names of the message's headers without a value, which the letter cannot keep (kafkajs writes none): said, not dropped unsaid. */
function droppedHeadersOf(letter: DeadLetter): Record<string, string> {
  const names = valuelessHeaderNames(letter.message.headers);
  return names.length > 0 ? { [HEADER.dlqDroppedHeaders]: JSON.stringify(names) } : {};
}

/**
 * Writes the original bytes (key, value, every header's values) of a message that cannot be
 * processed to `<topic>.dlq`, with headers saying why, where it came from and
 * after how many attempts. Ops list and re-drive them from there.
 */
export function deadLetterRecord(letter: DeadLetter, now: Date = new Date()): DeadLetterRecord {
  // Every value of a repeated header, as bytes: a re-drive puts back what the producer wrote, not its last value.
  return { key: letter.message.key, value: letter.message.value, headers: { ...headerBytes(letter.message.headers), ...whyAndWhereFrom(letter, now) } };
}

/**
 * The letter of a message too large to travel again with the DLQ's headers:
 * why and where from, the value's size and SHA-256, and no bytes of the value
 * or of its headers. The message itself stays on its topic at that offset.
 */
export function oversizedDeadLetterRecord(letter: DeadLetter, now: Date = new Date()): DeadLetterRecord {
  const value = letter.message.value;
  const key = letter.message.key;
  return {
    key: key !== null && key.length <= KEPT_KEY_BYTES ? key : null,
    value: null,
    headers: {
      ...whyAndWhereFrom(letter, now),
      [HEADER.dlqOmitted]: String(value?.length ?? 0),
      ...(value ? { [HEADER.dlqOmittedSha256]: createHash('sha256').update(value).digest('hex') } : {}),
    },
  };
}

/** Whether the broker refused a send as larger than the topic takes (kafkajs wraps the protocol error). */
function refusedAsTooLarge(error: unknown): boolean {
  for (let cause: unknown = error, depth = 0; cause instanceof Error && depth < 5; cause = cause.cause, depth += 1) {
    const type = (cause as Error & { type?: unknown }).type;
    if (type === 'MESSAGE_TOO_LARGE' || type === 'RECORD_LIST_TOO_LARGE') return true;
  }
  return false;
}

/**
 * A message just under its topic's size limit does not fit again with the
 * DLQ's headers when the DLQ takes no more (a DLQ provisioned by hand): the
 * letter then goes without its value rather than holding the partition for ever.
 */
export async function sendToDeadLetterQueue(producer: Producer, letter: DeadLetter): Promise<'whole' | 'value omitted'> {
  const topic = dlqTopicOf(letter.topic);
  try {
    await producer.send({ topic, acks: -1, messages: [deadLetterRecord(letter)] });
    return 'whole';
  } catch (error) {
    if (!refusedAsTooLarge(error)) throw error;
    await producer.send({ topic, acks: -1, messages: [oversizedDeadLetterRecord(letter)] });
    return 'value omitted';
  }
}
