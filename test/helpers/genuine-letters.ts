/**
 * Test support (integration tests only; no service imports it): dead letters that a re-drive takes for genuine. A
 * re-drive sends a letter only if its source topic holds, at the position the letter names, the message the letter
 * holds; tests that make letters by hand put those messages there first.
 */
import { sourceTopicOf } from '../../lib/src/topics.js';
import type { IHeaders, Kafka } from '../../lib/src/kafka/client.js';
import { letterFactsOf, ownHeadersOf } from '../../lib/src/kafka/dlq-letter.js';
import { headerBytes } from '../../lib/src/kafka/headers.js';

/** A letter as `deadLetterRecord` makes it, or by hand. */
export interface LetterToSend {
  readonly key: Buffer | string | null;
  readonly value: Buffer | string | null;
  readonly headers: Record<string, string | Buffer | Buffer[]>;
  readonly partition?: number;
}

/** How many messages, and bytes of values, go in one send at most: the broker refuses a batch past a topic's max.message.bytes. */
const SEND_CHUNK = 2_000;
const SEND_BYTES = 512 * 1024;

/** `messages` in order, cut into sends of SEND_CHUNK messages and SEND_BYTES bytes at most (one message at least each). */
function chunksOf<T extends { readonly value: Buffer | string | null }>(messages: readonly T[]): T[][] {
  const chunks: T[][] = [];
  let chunk: T[] = [];
  let bytes = 0;
  for (const message of messages) {
    const size = message.value?.length ?? 0;
    if (chunk.length > 0 && (chunk.length >= SEND_CHUNK || bytes + size > SEND_BYTES)) {
      chunks.push(chunk);
      chunk = [];
      bytes = 0;
    }
    chunk.push(message);
    bytes += size;
  }
  if (chunk.length > 0) chunks.push(chunk);
  return chunks;
}

/** Sends `letters` to `dlq`, once `putOriginals` has put the messages they hold on its source topic. */
export async function sendGenuineLetters(kafka: Kafka, dlq: string, letters: readonly LetterToSend[]): Promise<void> {
  await putOriginals(kafka, dlq, letters);
  const producer = kafka.producer();
  await producer.connect();
  try {
    for (const chunk of chunksOf(letters)) await producer.send({ topic: dlq, acks: -1, messages: chunk });
  } finally {
    await producer.disconnect();
  }
}

/**
 * Puts on the source topic of `dlq`, at the positions `letters` name, the messages they hold (the first letter naming
 * a position decides it; filler messages before it where the partition is shorter). A position the partition already
 * passed is left as it is; letters naming another topic or keeping no message name no position; a source topic that
 * does not exist is not made.
 */
export async function putOriginals(kafka: Kafka, dlq: string, letters: readonly LetterToSend[]): Promise<void> {
  const source = sourceTopicOf(dlq);
  const originals = new Map<number, Map<bigint, LetterToSend>>();
  for (const letter of letters) {
    const facts = letterFactsOf(letter.headers as IHeaders);
    if (facts.originalTopic !== source || facts.omittedValueBytes !== null || !/^\d+$/.test(facts.originalPartition) || !/^\d+$/.test(facts.originalOffset)) continue;
    const partition = Number(facts.originalPartition);
    const inPartition = originals.get(partition) ?? new Map<bigint, LetterToSend>();
    originals.set(partition, inPartition);
    if (!inPartition.has(BigInt(facts.originalOffset))) inPartition.set(BigInt(facts.originalOffset), letter);
  }
  if (source === undefined || originals.size === 0) return;
  const ends = await partitionEnds(kafka, source);
  if (ends === undefined) return;
  const producer = kafka.producer();
  await producer.connect();
  try {
    for (const [partition, byOffset] of originals) {
      const messages = messagesUpTo(ends.get(partition) ?? 0n, byOffset).map((message) => ({ ...message, partition }));
      for (const chunk of chunksOf(messages)) await producer.send({ topic: source, acks: -1, messages: chunk });
    }
  } finally {
    await producer.disconnect();
  }
}

/** From `end` to the highest offset of `byOffset`: each letter's message at its offset, a filler at the others. */
function messagesUpTo(end: bigint, byOffset: ReadonlyMap<bigint, LetterToSend>): { key: Buffer | string | null; value: Buffer | string | null; headers?: Record<string, Buffer[]> }[] {
  const last = [...byOffset.keys()].reduce((high, offset) => (offset > high ? offset : high), -1n);
  const messages: { key: Buffer | string | null; value: Buffer | string | null; headers?: Record<string, Buffer[]> }[] = [];
  for (let offset = end; offset <= last; offset += 1n) {
    const letter = byOffset.get(offset);
    messages.push(letter ? { key: letter.key, value: letter.value, headers: ownHeadersOf(headerBytes(letter.headers as IHeaders)) } : { key: 'filler', value: 'filler' });
  }
  return messages;
}

/** The end of each partition of `topic`; undefined when there is no such topic. */
async function partitionEnds(kafka: Kafka, topic: string): Promise<Map<number, bigint> | undefined> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    if (!(await admin.listTopics()).includes(topic)) return undefined;
    return new Map((await admin.fetchTopicOffsets(topic)).map(({ partition, high }) => [partition, BigInt(high)]));
  } finally {
    await admin.disconnect();
  }
}
