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

/**
 * Deletes `groupId`, its committed offsets with it, as a broker does offsets.retention.minutes (7 days) after the
 * group's last member left; fails unless every partition of `topic` reads back with no offset.
 */
export async function forgetGroup(kafka: Kafka, groupId: string, topic: string): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    await admin.deleteGroups([groupId]);
    const [offsets] = await admin.fetchOffsets({ groupId, topics: [topic] });
    const kept = offsets?.partitions.filter(({ offset }) => offset !== '-1') ?? [];
    if (kept.length > 0) throw new Error(`group ${groupId} still holds offsets on ${topic}: ${JSON.stringify(kept)}`);
  } finally {
    await admin.disconnect();
  }
}
