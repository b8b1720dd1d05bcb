import { deadLetterRecord, DecodeError, namedLetterAt, readTopicToEnd, writtenPositionOf, type Kafka, type KafkaMessage, type NamedLetter } from '@orbit/lib';

/** The letters `texts` name (`<partition>@<offset>` or an offset alone), as dlqCommandOf reads them from --offset. */
export function lettersAt(...texts: string[]): NamedLetter[] {
  return texts.map((text) => {
    const position = writtenPositionOf(text);
    if (position === undefined) throw new Error(`${text} is no letter's position`);
    return namedLetterAt(position);
  });
}

/** What a test sends to a topic: a key, a value and headers, as kafkajs takes them. */
export interface MessageToSend {
  readonly key: string | Buffer | null;
  readonly value: string | Buffer | null;
  readonly headers?: Record<string, string | Buffer | Buffer[]>;
}

/** Sends `messages` to `topic` with every replica's acknowledgement, on a producer of its own. */
export async function sendMessages(kafka: Kafka, topic: string, messages: readonly MessageToSend[]): Promise<void> {
  const producer = kafka.producer();
  await producer.connect();
  try {
    await producer.send({ topic, acks: -1, messages: [...messages] });
  } finally {
    await producer.disconnect();
  }
}

/** The messages on `topic` now, in order: the originals, then the copies re-drives sent (`orbit-redriven-from`). */
export async function messagesOn(kafka: Kafka, topic: string): Promise<KafkaMessage[]> {
  const all: KafkaMessage[] = [];
  await readTopicToEnd(kafka, topic, (message) => void all.push(message), { groupPrefix: 'test-messages-on', wholeOrNothing: true });
  return all;
}

/** The letter an old harbor-writer writes for a new event it cannot decode (its schema added an enum symbol): a genuine one. */
export const undecodableLetter = (topic: string, message: KafkaMessage): ReturnType<typeof deadLetterRecord> =>
  deadLetterRecord({ topic, partition: 0, message, error: new DecodeError(topic, new Error('no enum symbol ZSTD')), attempts: 1, groupId: 'harbor-writer' });
