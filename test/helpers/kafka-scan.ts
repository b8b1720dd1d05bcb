/**
 * Every message on a set of topics whose key matches, read from the beginning
 * up to the end offsets of the moment: the ground truth the event log and the
 * projections are checked against.
 */
import { ALL_TOPICS, dlqTopicOf, type Kafka } from '@orbit/lib';
import { uniqueSuffix, waitFor } from './index.js';

export interface MessagePosition {
  readonly topic: string;
  readonly partition: number;
  readonly offset: string;
}

export async function messagesWithKeys(kafka: Kafka, topics: readonly string[], keys: ReadonlySet<string>, timeoutMs = 60_000): Promise<MessagePosition[]> {
  const admin = kafka.admin();
  await admin.connect();
  const ends = new Map<string, bigint>();
  try {
    for (const topic of topics) {
      for (const { partition, high, low } of await admin.fetchTopicOffsets(topic)) {
        if (BigInt(high) > BigInt(low)) ends.set(`${topic}/${partition}`, BigInt(high));
      }
    }
  } finally {
    await admin.disconnect();
  }
  const found: MessagePosition[] = [];
  if (ends.size === 0) return found;
  const reached = new Set<string>();
  const consumer = kafka.consumer({ groupId: `scan-${uniqueSuffix()}` });
  await consumer.connect();
  await consumer.subscribe({ topics: [...topics], fromBeginning: true });
  await consumer.run({
    autoCommit: false,
    eachMessage: async ({ topic, partition, message }) => {
      const end = ends.get(`${topic}/${partition}`);
      if (end === undefined || BigInt(message.offset) >= end) return;
      if (message.key && keys.has(message.key.toString())) found.push({ topic, partition, offset: message.offset });
      if (BigInt(message.offset) + 1n >= end) reached.add(`${topic}/${partition}`);
    },
  });
  try {
    await waitFor(() => reached.size >= ends.size, { timeoutMs, what: 'the end of every partition' });
    return found;
  } finally {
    await consumer.disconnect();
  }
}

/** Dead letters written so far, over every topic's DLQ: a test that shows nothing was dead-lettered compares two counts. */
export async function deadLetterCount(kafka: Kafka): Promise<number> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    let total = 0;
    for (const topic of ALL_TOPICS) for (const { high, low } of await admin.fetchTopicOffsets(dlqTopicOf(topic))) total += Number(high) - Number(low);
    return total;
  } finally {
    await admin.disconnect();
  }
}
