import { randomBytes } from 'node:crypto';
import { OrbitError } from '../errors.js';
import type { Kafka, KafkaMessage } from './client.js';

/** A read that had to reach a topic's end did not within its time: what it read is only part of the topic. */
export class TopicReadIncompleteError extends OrbitError {
  constructor(topic: string, timeoutMs: number, partitions: readonly number[]) {
    super('ORBIT_ERR_READ_INCOMPLETE', `${topic} was not read to its end within ${Math.round(timeoutMs / 1000)} s (partition ${partitions.join(', ')} not reached); nothing was decided from part of it: run it again`, { retriable: true });
  }
}

/**
 * Hands every message of `topic`, from the beginning up to its end now, to
 * `onMessage` (in order within a partition), without committing anything: a
 * throwaway group that never commits. A topic that does not exist, or holds
 * nothing, reads as empty. Gives up after `timeoutMs` with what it has read, or,
 * given `wholeOrNothing`, throws TopicReadIncompleteError: a caller that acts on
 * the last message of a partition must not take an earlier one for it.
 */
export async function readTopicToEnd(
  kafka: Kafka, topic: string, onMessage: (message: KafkaMessage, partition: number) => void | Promise<void>,
  options: { groupPrefix: string; timeoutMs?: number; wholeOrNothing?: boolean },
): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  const ends = new Map<number, bigint>();
  try {
    if (!(await admin.listTopics()).includes(topic)) return;
    for (const { partition, high, low } of await admin.fetchTopicOffsets(topic)) if (BigInt(high) > BigInt(low)) ends.set(partition, BigInt(high));
  } finally {
    await admin.disconnect();
  }
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
  // A transactional writer's commit or abort marker, or aborted records, can be a partition's last offsets: no message
  // is handed over for them, so a partition ending so never looked done and the read waited its whole timeout. kafkajs
  // reports each fetched batch's last offset, markers included (also of a batch holding nothing but them).
  const reached = (partition: number, lastOffset: bigint): void => {
    if (settled) return;
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
      if (end === undefined || BigInt(message.offset) >= end || failure !== undefined) return;
      try {
        await onMessage(message, partition);
      } catch (error) {
        failure = error;
        finish();
        return;
      }
      reached(partition, BigInt(message.offset));
    },
  });
  const timer = setTimeout(finish, options.timeoutMs ?? 30_000);
  try {
    await finished;
  } finally {
    clearTimeout(timer);
    await consumer.disconnect();
  }
  if (failure !== undefined) throw failure;
  if (options.wholeOrNothing && done.size < ends.size) {
    throw new TopicReadIncompleteError(topic, options.timeoutMs ?? 30_000, [...ends.keys()].filter((partition) => !done.has(partition)));
  }
}
