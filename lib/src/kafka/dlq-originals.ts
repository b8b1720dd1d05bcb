/**
 * A dead letter is only a claim: anyone who may write to a DLQ can write one, naming any topic, partition, offset and
 * group in its headers. A re-drive publishes what letters hold as the operator running it, into lifecycle topics that
 * keep every message: so it sends a letter only when the message at the position it names is the one it holds.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { Admin, Consumer, Kafka, KafkaMessage } from './client.js';
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

/** How whyNotTheOriginal's reason starts when no message is at the position a letter names (it may be genuine). */
const NO_MESSAGE_AT = 'no message at ';

/** Whether `why` (whyNotTheOriginal's) says the letter's position holds no message, rather than another message. */
export const namesNoMessage = (why: string): boolean => why.startsWith(NO_MESSAGE_AT);

/**
 * Why a letter may not be re-driven given `original`, the digests of the message at the position it names (undefined:
 * none there, read_committed: none, deleted, or never written): its key, value and headers must be that message's.
 * The DLQ writer only adds its `orbit-dlq-*` headers and leaves out headers without a value, which the letter's
 * `originalHeaders` and the original's (as `ownHeadersOf` gives them) both lack.
 */
export function whyNotTheOriginal(letter: ClaimingLetter, original: MessageDigest | undefined): string | undefined {
  if (original === undefined) return `${NO_MESSAGE_AT}${claimedPositionOf(letter)}: the letter cannot be checked against it`;
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

/** The prefix of the group of the consumer that reads back the messages letters name (a random suffix each). */
export const ORIGINALS_GROUP_PREFIX = 'orbit-dlq-redrive-check';

/**
 * How long the reader's fetch waits for bytes, and sleeps with every partition paused: kafkajs's 5 s default would be
 * the wait of each lot after the first, which finds its partitions paused. The offsets a lot wants are below the
 * partition's end, so a fetch of them is answered at once.
 */
const ORIGINALS_FETCH_WAIT_MS = 10;

/** One read in progress: what is still wanted, by partition, and who is told of what is found. */
interface LotRead {
  readonly wanted: Map<number, Wanted>;
  readonly onMessage: (partition: number, message: KafkaMessage) => void;
  readonly finish: () => void;
  lastProgress: number;
}

/**
 * Reads the messages at given offsets of one topic, lot after lot, as read_committed consumers see them, with one
 * consumer for all the lots of a run: its group is joined at the first lot, its partitions stay paused between lots,
 * and each lot seeks from one wanted offset to the next (the messages between two are not fetched). A group joined per
 * lot cost a broker's group.initial.rebalance.delay.ms (3 s by default) every lot of 200 letters. kafkajs has no
 * consumer without a group (no manual assignment) and its admin client does not fetch. Commits nothing; `close` leaves
 * the group.
 */
export class MessagesAtReader {
  private consumer: Consumer | undefined;
  private admin: Admin | undefined;
  private lot: LotRead | undefined;
  private joins = 0;
  /** The topic's partitions, as the last lot found them. */
  private partitions: readonly number[] = [];

  constructor(private readonly kafka: Kafka, private readonly topic: string, private readonly groupPrefix: string = ORIGINALS_GROUP_PREFIX) {}

  /**
   * Hands each message at `offsets` (by partition) to `onMessage`; an offset with no message (past the end, before the
   * start, an aborted record, a marker, compacted away) is passed over unsaid. Resolves false when the topic does not
   * exist (nothing is read), true otherwise. Throws TopicReadIncompleteError when the read makes no progress for
   * `timeoutMs`; the next read starts over with a new consumer.
   */
  async read(offsets: ReadonlyMap<number, readonly bigint[]>, onMessage: (partition: number, message: KafkaMessage) => void, timeoutMs = READ_IDLE_TIMEOUT_MS): Promise<boolean> {
    const within = await this.wantedWithin(offsets);
    if (within === undefined) return false;
    if (within.wanted.size === 0) return true;
    this.partitions = within.partitions;
    const consumer = await this.started();
    let finish: () => void = () => undefined;
    const finished = new Promise<void>((resolve) => { finish = resolve; });
    const lot: LotRead = { wanted: within.wanted, onMessage, finish, lastProgress: Date.now() };
    // In one tick: a batch of an earlier position handled after it is stale (a seek pending), and dropped.
    this.lot = lot;
    const wantedPartitions = [...lot.wanted.keys()];
    this.positioned(consumer);
    const watch = setInterval(() => { if (Date.now() - lot.lastProgress >= timeoutMs) finish(); }, Math.max(1, Math.min(timeoutMs, 250)));
    try {
      await finished;
    } finally {
      clearInterval(watch);
      this.lot = undefined;
      consumer.pause([{ topic: this.topic, partitions: wantedPartitions }]);
    }
    if (lot.wanted.size > 0) {
      // Where its partitions are is no longer known: the next lot starts with a consumer of its own.
      await this.stopConsumer();
      throw new TopicReadIncompleteError(this.topic, timeoutMs, [...lot.wanted.keys()]);
    }
    return true;
  }

  async close(): Promise<void> {
    try {
      await this.stopConsumer();
    } finally {
      const admin = this.admin;
      this.admin = undefined;
      await admin?.disconnect();
    }
  }

  private async stopConsumer(): Promise<void> {
    const consumer = this.consumer;
    this.consumer = undefined;
    await consumer?.disconnect();
  }

  /**
   * Every partition paused but those the lot being read wants, each at its next wanted offset. Pausing some partitions
   * by number unpauses the others (kafkajs): every partition is paused by number.
   */
  private positioned(consumer: Consumer): void {
    const wanted = this.lot?.wanted ?? new Map<number, Wanted>();
    consumer.pause([{ topic: this.topic, partitions: this.partitions.filter((partition) => !wanted.has(partition)) }]);
    for (const [partition, left] of wanted) if (left.next !== undefined) consumer.seek({ topic: this.topic, partition, offset: left.next.toString() });
    consumer.resume([{ topic: this.topic, partitions: [...wanted.keys()] }]);
  }

  /** The consumer, joined and running with every partition paused: made at the first lot. */
  private async started(): Promise<Consumer> {
    if (this.consumer) return this.consumer;
    const consumer = this.kafka.consumer({ groupId: `${this.groupPrefix}-${randomBytes(6).toString('hex')}`, maxWaitTimeInMs: ORIGINALS_FETCH_WAIT_MS });
    this.consumer = consumer;
    this.joins = 0;
    try {
      await consumer.connect();
      await consumer.subscribe({ topics: [this.topic], fromBeginning: true });
      // A batch of nothing but markers or aborted records is not handed over: its end is heard of here. It cannot be
      // one of an earlier lot: a partition is paused while its own last batch is handled, before kafkajs fetches again.
      consumer.on(consumer.events.END_BATCH_PROCESS, ({ payload }) => {
        if (payload.topic === this.topic && payload.batchSize === 0) this.onwards(consumer, payload.partition, BigInt(payload.lastOffset));
      });
      // A group joined again (a coordinator moved, or kafkajs restarted the consumer, forgetting what was paused) starts
      // its partitions over: they are paused again, and the lot being read seeks back to where it was.
      consumer.on(consumer.events.GROUP_JOIN, () => {
        this.joins += 1;
        if (this.joins > 1) this.positioned(consumer);
      });
      await consumer.run({
        autoCommit: false,
        eachBatchAutoResolve: false,
        eachBatch: async ({ batch, isStale }) => this.take(consumer, batch.partition, batch.messages, BigInt(batch.lastOffset()), isStale()),
      });
      this.positioned(consumer);
    } catch (error) {
      await this.stopConsumer().catch(() => undefined);
      throw error;
    }
    return consumer;
  }

  private async take(consumer: Consumer, partition: number, messages: readonly KafkaMessage[], lastOffset: bigint, stale: boolean): Promise<void> {
    const left = this.lot?.wanted.get(partition);
    if (left === undefined || stale) return;
    for (const message of messages) if (left.reach(BigInt(message.offset))) this.lot?.onMessage(partition, message);
    this.onwards(consumer, partition, lastOffset);
  }

  /** After a batch of `partition` up to `lastOffset`: on to its next wanted offset, or, none left, the partition paused. */
  private onwards(consumer: Consumer, partition: number, lastOffset: bigint): void {
    const lot = this.lot;
    const left = lot?.wanted.get(partition);
    if (lot === undefined || left === undefined) return;
    lot.lastProgress = Date.now();
    left.passed(lastOffset);
    const next = left.next;
    if (next === undefined) {
      lot.wanted.delete(partition);
      consumer.pause([{ topic: this.topic, partitions: [partition] }]);
    } else {
      // A seek, even to the offset after the batch: nothing is resolved, so without one the batch is fetched again.
      consumer.seek({ topic: this.topic, partition, offset: next.toString() });
    }
    if (lot.wanted.size === 0) lot.finish();
  }

  /** The offsets of `offsets` that the topic holds now (between each partition's start and end), and its partitions; undefined for a topic that does not exist. */
  private async wantedWithin(offsets: ReadonlyMap<number, readonly bigint[]>): Promise<{ wanted: Map<number, Wanted>; partitions: number[] } | undefined> {
    if (!this.admin) {
      const admin = this.kafka.admin();
      await admin.connect();
      this.admin = admin;
    }
    if (!(await this.admin.listTopics()).includes(this.topic)) return undefined;
    const wanted = new Map<number, Wanted>();
    const partitions: number[] = [];
    for (const { partition, low, high } of await this.admin.fetchTopicOffsets(this.topic)) {
      partitions.push(partition);
      const within = [...new Set(offsets.get(partition) ?? [])].filter((offset) => offset >= BigInt(low) && offset < BigInt(high)).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
      if (within.length > 0) wanted.set(partition, new Wanted(within));
    }
    return { wanted, partitions };
  }
}

/** A position of a topic a letter names. */
export interface Position {
  readonly partition: number;
  readonly offset: bigint;
}

/**
 * The digests of the messages at the positions letters name, a lot at a time, read with one MessagesAtReader: only a
 * lot's digests are held, never a message.
 */
export class OriginalsReader {
  private readonly reader: MessagesAtReader;

  constructor(kafka: Kafka, topic: string, private readonly ownHeadersOf: (headers: Record<string, Buffer[]>) => Record<string, Buffer[]>) {
    this.reader = new MessagesAtReader(kafka, topic);
  }

  /** The digests of the messages at `positions` (by `positionKey`); a position without a message is absent. Undefined when the topic does not exist. */
  async digestsAt(positions: readonly Position[], timeoutMs?: number): Promise<Map<string, MessageDigest> | undefined> {
    const offsets = new Map<number, bigint[]>();
    for (const { partition, offset } of positions) {
      const inPartition = offsets.get(partition) ?? [];
      offsets.set(partition, inPartition);
      inPartition.push(offset);
    }
    const found = new Map<string, MessageDigest>();
    const exists = await this.reader.read(offsets, (partition, message) => {
      found.set(positionKey(partition, message.offset), messageDigestOf(message.key, message.value, this.ownHeadersOf(headerBytes(message.headers))));
    }, timeoutMs);
    return exists ? found : undefined;
  }

  async close(): Promise<void> {
    await this.reader.close();
  }
}
