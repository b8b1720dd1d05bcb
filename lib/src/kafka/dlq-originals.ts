/**
 * A dead letter is only a claim: anyone who may write to a DLQ can write one, naming any topic, partition, offset and
 * group in its headers. A re-drive publishes what letters hold as the operator running it, into lifecycle topics that
 * keep every message: so it sends a letter only when the message at the position it names is the one it holds.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { Kafka, KafkaMessage } from './client.js';
import { headerBytes } from './headers.js';
import { TopicReadIncompleteError, READ_IDLE_TIMEOUT_MS } from './read-to-end.js';

/** What a message is made of, as digests: a lot's originals are compared by them, not kept. */
export interface MessageDigest {
  readonly key: string;
  readonly value: string;
  readonly headers: string;
}

const digestOfBytes = (bytes: Buffer | null): string => (bytes === null ? 'null' : createHash('sha256').update(bytes).digest('hex'));

/** The digests of a message's key, value and headers (every value of each, in order; names sorted, as an object's order is no part of them). */
export function messageDigestOf(key: Buffer | null, value: Buffer | null, headers: Readonly<Record<string, readonly Buffer[]>>): MessageDigest {
  const hash = createHash('sha256');
  for (const name of Object.keys(headers).sort()) {
    const values = headers[name] ?? [];
    hash.update(`${Buffer.byteLength(name)}:${name}:${values.length}:`);
    for (const one of values) hash.update(`${one.length}:`).update(one);
  }
  return { key: digestOfBytes(key), value: digestOfBytes(value), headers: hash.digest('hex') };
}

/** What a re-drive compares of a letter with the message it names. */
export interface ClaimingLetter {
  readonly originalTopic: string;
  readonly originalPartition: string;
  readonly originalOffset: string;
  readonly key: Buffer | null;
  readonly value: Buffer | null;
  /** The message's headers as the letter keeps them: without those the DLQ writer adds or drops. */
  readonly originalHeaders: Readonly<Record<string, readonly Buffer[]>>;
}

/** `<topic> <partition>@<offset>`: the position a letter names. */
export const claimedPositionOf = (letter: Pick<ClaimingLetter, 'originalTopic' | 'originalPartition' | 'originalOffset'>): string =>
  `${letter.originalTopic} ${letter.originalPartition}@${letter.originalOffset}`;

/**
 * Why a letter may not be re-driven given `original`, the digests of the message at the position it names (undefined:
 * none there, read_committed: none, deleted, or never written): its key, value and headers must be that message's.
 * The DLQ writer only adds its `orbit-dlq-*` headers and leaves out headers without a value, which the letter's
 * `originalHeaders` and the original's (as `ownHeadersOf` gives them) both lack.
 */
export function whyNotTheOriginal(letter: ClaimingLetter, original: MessageDigest | undefined): string | undefined {
  if (original === undefined) return `no message at ${claimedPositionOf(letter)}: the letter cannot be checked against it`;
  const held = messageDigestOf(letter.key, letter.value, letter.originalHeaders);
  const differ = (['key', 'value', 'headers'] as const).filter((part) => held[part] !== original[part]);
  if (differ.length === 0) return undefined;
  return `letter does not match the message at ${claimedPositionOf(letter)} (different ${differ.join(', ')}): forged or altered, not re-driven`;
}

/** `<partition>@<offset>`, the key of a position in one topic. */
export const positionKey = (partition: number | string, offset: bigint | string): string => `${partition}@${offset}`;

/** Offsets still to be read in one partition, lowest first. */
class Wanted {
  constructor(private readonly offsets: bigint[]) {}

  get next(): bigint | undefined {
    return this.offsets[0];
  }

  /** Drops the offsets below `offset` (none there: skipped by the log) and says whether `offset` itself was wanted. */
  reach(offset: bigint): boolean {
    while (this.offsets[0] !== undefined && this.offsets[0] < offset) this.offsets.shift();
    if (this.offsets[0] !== offset) return false;
    this.offsets.shift();
    return true;
  }

  /** Drops the offsets up to `offset` included: a fetch passed them with no message (markers, aborted records). */
  passed(offset: bigint): void {
    while (this.offsets[0] !== undefined && this.offsets[0] <= offset) this.offsets.shift();
  }
}

/**
 * Reads the messages at `offsets` (by partition) of `topic`, as read_committed consumers see them, and hands each to
 * `onMessage`; an offset with no message (past the end, before the start, an aborted record, a marker, compacted
 * away) is passed over unsaid. One throwaway consumer for all of them, that seeks from one wanted offset to the next:
 * a lot of letters costs one group join, and the messages between two wanted ones are not fetched. Commits nothing.
 * Throws TopicReadIncompleteError when the read makes no progress for `timeoutMs`.
 */
export async function readMessagesAt(
  kafka: Kafka, topic: string, offsets: ReadonlyMap<number, readonly bigint[]>, onMessage: (partition: number, message: KafkaMessage) => void,
  options: { groupPrefix: string; timeoutMs?: number },
): Promise<void> {
  const wanted = await wantedWithin(kafka, topic, offsets);
  if (wanted.size === 0) return;
  const idleMs = options.timeoutMs ?? READ_IDLE_TIMEOUT_MS;
  const consumer = kafka.consumer({ groupId: `${options.groupPrefix}-${randomBytes(6).toString('hex')}` });
  let finish: () => void = () => undefined;
  const finished = new Promise<void>((resolve) => { finish = resolve; });
  let lastProgress = Date.now();
  const onwards = (partition: number, lastOffset: bigint): void => {
    lastProgress = Date.now();
    const left = wanted.get(partition);
    if (left === undefined) return;
    left.passed(lastOffset);
    const next = left.next;
    if (next === undefined) wanted.delete(partition);
    else if (next > lastOffset + 1n) consumer.seek({ topic, partition, offset: next.toString() });
    if (wanted.size === 0) finish();
  };
  await consumer.connect();
  try {
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    // A batch of nothing but markers or aborted records is not handed over: its end is heard of here.
    consumer.on(consumer.events.END_BATCH_PROCESS, ({ payload }) => {
      if (payload.topic === topic && payload.batchSize === 0) onwards(payload.partition, BigInt(payload.lastOffset));
    });
    await consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      eachBatch: async ({ batch }) => {
        const left = wanted.get(batch.partition);
        if (left === undefined) return;
        for (const message of batch.messages) if (left.reach(BigInt(message.offset))) onMessage(batch.partition, message);
        onwards(batch.partition, BigInt(batch.lastOffset()));
      },
    });
    for (const [partition, left] of wanted) if (left.next !== undefined) consumer.seek({ topic, partition, offset: left.next.toString() });
    const watch = setInterval(() => { if (Date.now() - lastProgress >= idleMs) finish(); }, Math.max(1, Math.min(idleMs, 250)));
    try {
      await finished;
    } finally {
      clearInterval(watch);
    }
  } finally {
    await consumer.disconnect();
  }
  if (wanted.size > 0) throw new TopicReadIncompleteError(topic, idleMs, [...wanted.keys()]);
}

/** The offsets of `offsets` that the partition holds now (between its start and end), by partition; none of a topic that does not exist. */
async function wantedWithin(kafka: Kafka, topic: string, offsets: ReadonlyMap<number, readonly bigint[]>): Promise<Map<number, Wanted>> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const wanted = new Map<number, Wanted>();
    if (!(await admin.listTopics()).includes(topic)) return wanted;
    for (const { partition, low, high } of await admin.fetchTopicOffsets(topic)) {
      const within = [...new Set(offsets.get(partition) ?? [])].filter((offset) => offset >= BigInt(low) && offset < BigInt(high)).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
      if (within.length > 0) wanted.set(partition, new Wanted(within));
    }
    return wanted;
  } finally {
    await admin.disconnect();
  }
}

/** The digests of the messages at `positions` (`positionKey`s) of `topic`; a position without a message is absent. */
export async function originalsAt(
  kafka: Kafka, topic: string, positions: readonly { partition: number; offset: bigint }[], ownHeadersOf: (headers: Record<string, Buffer[]>) => Record<string, Buffer[]>,
  options: { timeoutMs?: number } = {},
): Promise<Map<string, MessageDigest>> {
  const offsets = new Map<number, bigint[]>();
  for (const { partition, offset } of positions) {
    const inPartition = offsets.get(partition) ?? [];
    offsets.set(partition, inPartition);
    inPartition.push(offset);
  }
  const found = new Map<string, MessageDigest>();
  await readMessagesAt(kafka, topic, offsets, (partition, message) => {
    found.set(positionKey(partition, message.offset), messageDigestOf(message.key, message.value, ownHeadersOf(headerBytes(message.headers))));
  }, { groupPrefix: 'orbit-dlq-redrive-check', ...options });
  return found;
}
