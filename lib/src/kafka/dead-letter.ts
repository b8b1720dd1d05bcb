import { OrbitError, RetryExhaustedError } from '../errors.js';
import { describeError, errorCodeOf } from '../error-description.js';
import type { Producer } from './client.js';
import { dlqTopicOf } from '../topics.js';
import { HEADER } from './headers.js';
import type { KafkaMessage } from './client.js';

export interface DeadLetter {
  readonly topic: string;
  readonly partition: number;
  readonly message: KafkaMessage;
  readonly error: unknown;
  readonly attempts: number;
  readonly groupId: string;
}

/**
 * Writes the original bytes (key, value, headers) of a message that cannot be
 * processed to `<topic>.dlq`, with headers saying why, where it came from and
 * after how many attempts. Ops list and re-drive them from there.
 */
export function deadLetterRecord(letter: DeadLetter, now: Date = new Date()): { key: Buffer | null; value: Buffer | null; headers: Record<string, string | Buffer> } {
  const attempts = letter.error instanceof RetryExhaustedError ? letter.error.attempts : letter.attempts;
  const original: Record<string, string | Buffer> = {};
  for (const [name, value] of Object.entries(letter.message.headers ?? {})) {
    if (value === undefined) continue;
    const last = Array.isArray(value) ? value[value.length - 1] : value;
    if (last !== undefined) original[name] = last;
  }
  return {
    key: letter.message.key,
    value: letter.message.value,
    headers: {
      ...original,
      [HEADER.dlqError]: errorCodeOf(letter.error),
      [HEADER.dlqMessage]: describeError(letter.error),
      [HEADER.dlqRetriable]: String(letter.error instanceof OrbitError ? letter.error.retriable : false),
      [HEADER.dlqAttempts]: String(attempts),
      [HEADER.dlqTopic]: letter.topic,
      [HEADER.dlqPartition]: String(letter.partition),
      [HEADER.dlqOffset]: letter.message.offset,
      [HEADER.dlqGroup]: letter.groupId,
      [HEADER.dlqFailedAt]: now.toISOString(),
    },
  };
}

export async function sendToDeadLetterQueue(producer: Producer, letter: DeadLetter): Promise<void> {
  await producer.send({ topic: dlqTopicOf(letter.topic), acks: -1, messages: [deadLetterRecord(letter)] });
}
