import { randomBytes } from 'node:crypto';
import { OrbitError } from '../errors.js';
import type { Kafka, KafkaMessage } from './client.js';

/** A read that had to reach a topic's end stalled on the way: what it read is only part of the topic. */
export class TopicReadIncompleteError extends OrbitError {
  constructor(readonly topic: string, readonly idleMs: number, readonly partitions: readonly number[]) {
    super('ORBIT_ERR_READ_INCOMPLETE', `${topic} was not read to its end: nothing came for ${idleMs < 1000 ? `${idleMs} ms` : `${Math.round(idleMs / 1000)} s`} (partition ${partitions.join(', ')} not reached); nothing was decided from part of it`, { retriable: true });
  }
}

/** How long a read may go without a message or a fetched batch before it gives up, by default. */
export const READ_IDLE_TIMEOUT_MS = 30_000;

/**
 * Hands every message of `topic`, from the beginning (or, for a partition in
 * `from`, that offset) up to its end now, to `onMessage` (in order within a
 * partition), without committing anything: a throwaway group that never
 * commits. A topic that does not exist, or holds nothing, reads as empty.
 * `timeoutMs` bounds the time without progress, not the whole read: a topic
 * of a million messages read steadily is not cut short at a fixed total (it
 * was, at 30 s, on every run), while a broker that stops answering still is.
 * The time `onMessage` takes is not counted against it. A read that gives up
 * keeps what it had read, or, given `wholeOrNothing`, throws
 * TopicReadIncompleteError: a caller that acts on the last message of a
 * partition must not take an earlier one for it. A throw from `onMessage`
 * ends the read and is thrown.
 */
export async function readTopicToEnd(
  kafka: Kafka, topic: string, onMessage: (message: KafkaMessage, partition: number) => void | Promise<void>,
  options: { groupPrefix: string; timeoutMs?: number; wholeOrNothing?: boolean; from?: ReadonlyMap<number, bigint> },
): Promise<void> {
  const idleMs = options.timeoutMs ?? READ_IDLE_TIMEOUT_MS;
  const { ends, highs } = await partitionsToRead(kafka, topic, options.from);
  if (ends.size === 0) return;
  const done = new Set<number>();
  const consumer = kafka.consumer({ groupId: `${options.groupPrefix}-${randomBytes(6).toString('hex')}` });
  await consumer.connect();
  await consumer.subscribe({ topics: [topic], fromBeginning: true });
  let finish: () => void = () => undefined;
  // Once finished (the end reached, a failure, or the time up), nothing more counts: kafkajs still reports the batch it
  // was in, with the batch's last offset, when a disconnect stopped it half way through handing its messages over.
  let settled = false;
  const finished = new Promise<void>((resolve) => {
    finish = () => {
      settled = true;
      resolve();
    };
  });
  let failure: unknown;
  let lastProgress = Date.now();
  let handing = false;
  // A transactional writer's commit or abort marker, or aborted records, can be a partition's last offsets: no message
  // is handed over for them, so a partition ending so never looked done and the read waited its whole timeout. kafkajs
  // reports each fetched batch's last offset, markers included (also of a batch holding nothing but them).
  const reached = (partition: number, lastOffset: bigint): void => {
    if (settled) return;
    lastProgress = Date.now();
    const end = ends.get(partition);
    if (end !== undefined && lastOffset + 1n >= end) done.add(partition);
    if (done.size >= ends.size) finish();
  };
  consumer.on(consumer.events.END_BATCH_PROCESS, ({ payload }) => {
    if (payload.topic === topic && failure === undefined) reached(payload.partition, BigInt(payload.lastOffset));
  });
  await consumer.run({
    autoCommit: false,
    eachMessage: async ({ partition, message }) => {
      const end = ends.get(partition);
      const offset = BigInt(message.offset);
      if (end === undefined || offset >= end || offset < (options.from?.get(partition) ?? 0n) || failure !== undefined || settled) return;
      handing = true;
      try {
        await onMessage(message, partition);
      } catch (error) {
        failure = error;
        finish();
        return;
      } finally {
        handing = false;
        lastProgress = Date.now();
      }
      reached(partition, BigInt(message.offset));
    },
  });
  for (const [partition, offset] of options.from ?? []) if (ends.has(partition)) consumer.seek({ topic, partition, offset: offset.toString() });
  // A partition with nothing to read starts at its end: from the beginning, the whole of it was fetched and dropped
  // while the others were read (events:refill over a day of a long history read every partition's history).
  for (const [partition, high] of highs) if (!ends.has(partition)) consumer.seek({ topic, partition, offset: high.toString() });
  const watch = setInterval(() => {
    if (!handing && Date.now() - lastProgress >= idleMs) finish();
  }, Math.max(1, Math.min(idleMs, 250)));
  try {
    await finished;
  } finally {
    clearInterval(watch);
    await consumer.disconnect();
  }
  if (failure !== undefined) throw failure;
  if (options.wholeOrNothing && done.size < ends.size) {
    throw new TopicReadIncompleteError(topic, idleMs, [...ends.keys()].filter((partition) => !done.has(partition)));
  }
}

/**
 * The end offset of each partition of `topic` that holds something to read past its start (`from`, or its first
 * offset), and every partition's end.
 */
async function partitionsToRead(kafka: Kafka, topic: string, from: ReadonlyMap<number, bigint> | undefined): Promise<{ ends: Map<number, bigint>; highs: Map<number, bigint> }> {
  const admin = kafka.admin();
  await admin.connect();
  const ends = new Map<number, bigint>();
  const highs = new Map<number, bigint>();
  try {
    if (!(await admin.listTopics()).includes(topic)) return { ends, highs };
    for (const { partition, high, low } of await admin.fetchTopicOffsets(topic)) {
      const start = from?.get(partition) ?? BigInt(low);
      highs.set(partition, BigInt(high));
      if (BigInt(high) > (start > BigInt(low) ? start : BigInt(low))) ends.set(partition, BigInt(high));
    }
    return { ends, highs };
  } finally {
    await admin.disconnect();
  }
}
