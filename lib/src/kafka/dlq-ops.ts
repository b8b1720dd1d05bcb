import { OrbitError } from '../errors.js';
import type { Kafka } from './client.js';
import { orbitProducer } from './client.js';
import { holdGroup } from './group-offsets.js';
import { HEADER, headerBytes, headersToStrings } from './headers.js';
import { readTopicToEnd } from './read-to-end.js';

/** One dead letter as ops see it: where it failed, why, and its original bytes. */
export interface DeadLetterEntry {
  readonly dlqTopic: string;
  readonly dlqPartition: number;
  readonly dlqOffset: string;
  readonly originalTopic: string;
  readonly originalPartition: string;
  readonly originalOffset: string;
  readonly errorCode: string;
  readonly errorMessage: string;
  readonly attempts: string;
  readonly consumerGroup: string;
  readonly failedAt: string;
  readonly key: Buffer | null;
  readonly value: Buffer | null;
  /** The message's own headers, without the orbit-dlq-* ones: every value of each, as the bytes it was written with. */
  readonly originalHeaders: Record<string, Buffer[]>;
  /** Dealt with already, by a `dlq:redrive` without offsets (sent or set aside) or one naming its offset: what the next one without offsets leaves alone. */
  readonly redriven: boolean;
  /** Re-driven on purpose by a `dlq:redrive --offset` naming it (recorded, see `redrivenByOffsetGroupOf`). */
  readonly redrivenByOffset: boolean;
  /** The letter this one was re-driven from (`<dlq>/<partition>@<offset>`; older messages wrote `<dlq>/<partition>/<offset>`, read so too) when it failed again after a re-drive. */
  readonly redrivenFrom: string | null;
  /** The value's length when the letter could not keep the message (too large for the DLQ); null when it did. */
  readonly omittedValueBytes: number | null;
}

/** A letter a re-drive leaves where it is, and why. */
export interface SetAsideLetter {
  readonly letter: DeadLetterEntry;
  readonly reason: string;
}

export interface RedriveOutcome {
  /** Put back on their topics, each for the consumer group that failed on it. */
  readonly redriven: DeadLetterEntry[];
  readonly setAside: SetAsideLetter[];
}

/**
 * Why a re-drive should leave `letter` alone, if it should. Bytes that could
 * not be decoded fail again in every group (unless named on purpose, say
 * after the schema they need was registered); a letter that kept no message
 * has nothing to send.
 */
export function whyNotRedriven(letter: DeadLetterEntry, named: boolean): string | undefined {
  if (letter.omittedValueBytes !== null) {
    return `the message (${letter.omittedValueBytes} bytes) was too large to keep in the letter; it is on ${letter.originalTopic}/${letter.originalPartition}@${letter.originalOffset}`;
  }
  if (letter.errorCode === 'ORBIT_ERR_DECODE' && !named) return 'it could not be decoded, and would fail again; name its offset to re-drive it anyway';
  return undefined;
}

/**
 * How a list shows a letter: `pending` (the next re-drive without offsets
 * takes it), `re-driven` (sent back already) or `set aside` (passed over by a
 * re-drive, which said why).
 */
export function letterState(letter: DeadLetterEntry): 'pending' | 're-driven' | 'set aside' {
  if (!letter.redriven) return 'pending';
  // A re-drive passes over what it sets aside: past it, such a letter was not sent. One named by --offset was, unless nothing could be.
  return whyNotRedriven(letter, letter.redrivenByOffset) === undefined ? 're-driven' : 'set aside';
}

/** The header a re-driven message carries: where it was a dead letter before. */
const REDRIVEN_FROM = 'orbit-redriven-from';

/** A letter's position as every dlq command prints it: `<dlq>/<partition>@<offset>`. */
const positionOf = (letter: Pick<DeadLetterEntry, 'dlqTopic' | 'dlqPartition' | 'dlqOffset'>): string => `${letter.dlqTopic}/${letter.dlqPartition}@${letter.dlqOffset}`;

/** An `orbit-redriven-from` value as printed: messages re-driven before it took the `@` form say `<dlq>/<partition>/<offset>`. */
export function redrivenFromOf(header: string | undefined): string | null {
  if (header === undefined) return null;
  // Topic names cannot hold a `/`, so a second one can only be the old form's.
  return header.replace(/^([^/]+)\/(\d+)\/(\d+)$/, '$1/$2@$3');
}

/** The consumer group whose committed offsets on a DLQ marked what was re-driven already, for every DLQ at once (before per-topic groups). */
export const REDRIVE_GROUP = 'orbit-dlq-redrive';

/**
 * The group a re-drive of `dlqTopic` holds while it runs and commits to: one
 * per DLQ, so that re-drives of two topics neither wait for nor refuse each other.
 */
export const redriveGroupOf = (dlqTopic: string): string => `${REDRIVE_GROUP}.${dlqTopic}`;

/**
 * The group whose commits record which letters of `dlqTopic` a re-drive named
 * by offset sent (or set aside), so that a list shows them as re-driven and a
 * re-drive without offsets does not send them again. The record is each DLQ
 * partition's offset commit metadata (`v1 0-2,7`: offsets and ranges); the
 * group has no other use and is only joined by a re-drive holding
 * `redriveGroupOf(dlqTopic)`. A group of its own since the re-drive group's
 * commits carry no metadata and would wipe it.
 */
export const redrivenByOffsetGroupOf = (dlqTopic: string): string => `${REDRIVE_GROUP}-by-offset.${dlqTopic}`;

/**
 * Longest record kept for one partition, in characters: brokers refuse a
 * commit whose metadata is longer than offset.metadata.max.bytes (4096 by
 * default). Past it, the oldest ranges below the re-drive group's offset go
 * first (they only make a list show those letters `set aside` again, as a
 * re-drive without offsets left them); when the ranges above it do not fit
 * either, a re-drive by offset refuses before sending anything.
 */
export const MAX_REDRIVE_RECORD_CHARACTERS = 2048;

const RECORD_VERSION = 'v1';

/** Inclusive ranges of offsets, sorted, apart, and not adjacent. */
export type OffsetRanges = readonly (readonly [bigint, bigint])[];

/** `offsets` (in any order, repeated or not) as ranges. */
export function offsetRangesOf(offsets: Iterable<bigint>): OffsetRanges {
  const sorted = [...new Set(offsets)].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const ranges: [bigint, bigint][] = [];
  for (const offset of sorted) {
    const last = ranges.at(-1);
    if (last && offset === last[1] + 1n) last[1] = offset;
    else ranges.push([offset, offset]);
  }
  return ranges;
}

export const inRanges = (ranges: OffsetRanges, offset: bigint): boolean => ranges.some(([from, to]) => offset >= from && offset <= to);

/** `ranges` and `more` together. */
export function mergedRanges(ranges: OffsetRanges, more: Iterable<bigint>): OffsetRanges {
  const all = [...ranges.map(([from, to]) => [from, to] as [bigint, bigint]), ...offsetRangesOf(more)].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  const merged: [bigint, bigint][] = [];
  for (const [from, to] of all) {
    const last = merged.at(-1);
    if (last && from <= last[1] + 1n) last[1] = to > last[1] ? to : last[1];
    else merged.push([from, to]);
  }
  return merged;
}

/** A partition's record as its commit metadata carries it; anything else (none, another format) records nothing. */
export function parseRedriveRecord(metadata: string | null | undefined): OffsetRanges {
  const match = /^v1 ([\d,-]*)$/.exec(metadata ?? '');
  if (!match?.[1]) return [];
  const ranges: [bigint, bigint][] = [];
  for (const part of match[1].split(',')) {
    const bounds = /^(\d+)(?:-(\d+))?$/.exec(part);
    if (!bounds?.[1]) return [];
    ranges.push([BigInt(bounds[1]), BigInt(bounds[2] ?? bounds[1])]);
  }
  return mergedRanges(ranges, []);
}

/**
 * `ranges` as commit metadata, at most `maxCharacters` long: the lowest ranges
 * wholly below `upTo` (the re-drive group's offset) left out while it is
 * longer; undefined when those at or above it do not fit.
 */
export function redriveRecordOf(ranges: OffsetRanges, upTo: bigint, maxCharacters = MAX_REDRIVE_RECORD_CHARACTERS): string | undefined {
  const text = (kept: OffsetRanges): string => `${RECORD_VERSION} ${kept.map(([from, to]) => (from === to ? `${from}` : `${from}-${to}`)).join(',')}`;
  let kept = ranges;
  while (text(kept).length > maxCharacters) {
    if (kept[0] === undefined || kept[0][1] >= upTo) return undefined;
    kept = kept.slice(1);
  }
  return text(kept);
}

/** A re-drive named offsets no letter of the DLQ has: it sends nothing. */
export class DeadLetterNotFoundError extends OrbitError {
  constructor(readonly dlqTopic: string, readonly offsets: readonly string[]) {
    super('ORBIT_ERR_NO_DEAD_LETTER', `no dead letter at offset ${offsets.join(', ')} of ${dlqTopic}; nothing was re-driven`);
  }
}

/** The record of letters re-driven by offset has no room left: it sends nothing. */
export class RedriveRecordFullError extends OrbitError {
  constructor(dlqTopic: string, partition: number) {
    super('ORBIT_ERR_REDRIVE_RECORD_FULL', `the record of letters re-driven by offset on ${dlqTopic}/${partition} has no room for more (${MAX_REDRIVE_RECORD_CHARACTERS} characters of offset metadata); nothing was re-driven: a re-drive without offsets first moves past the pending letters`);
  }
}

const DLQ_HEADERS: ReadonlySet<string> = new Set([
  HEADER.dlqError, HEADER.dlqMessage, HEADER.dlqRetriable, HEADER.dlqAttempts, HEADER.dlqTopic, HEADER.dlqPartition, HEADER.dlqOffset, HEADER.dlqGroup, HEADER.dlqFailedAt,
  HEADER.dlqOmitted, HEADER.dlqOmittedSha256,
]);

/**
 * Every dead letter on `dlqTopic`, read from the beginning up to its end now,
 * without committing anything (a throwaway group that never commits).
 */
export async function listDeadLetters(kafka: Kafka, dlqTopic: string, timeoutMs = 30_000): Promise<DeadLetterEntry[]> {
  return (await readDeadLetters(kafka, dlqTopic, timeoutMs)).letters;
}

/** The letters, and what the re-drive groups recorded of them. */
async function readDeadLetters(kafka: Kafka, dlqTopic: string, timeoutMs = 30_000): Promise<{ letters: DeadLetterEntry[]; record: RedriveRecord }> {
  const letters: DeadLetterEntry[] = [];
  const record = await redriveRecord(kafka, dlqTopic);
  await readTopicToEnd(kafka, dlqTopic, (message, partition) => {
    const headers = headersToStrings(message.headers);
    const offset = BigInt(message.offset);
    const byOffset = inRanges(record.byOffset.get(partition) ?? [], offset);
    letters.push({
      redriven: offset < (record.upTo.get(partition) ?? 0n) || byOffset, redrivenByOffset: byOffset, redrivenFrom: redrivenFromOf(headers[REDRIVEN_FROM]),
      dlqTopic, dlqPartition: partition, dlqOffset: message.offset,
      originalTopic: headers[HEADER.dlqTopic] ?? '', originalPartition: headers[HEADER.dlqPartition] ?? '', originalOffset: headers[HEADER.dlqOffset] ?? '',
      errorCode: headers[HEADER.dlqError] ?? '', errorMessage: headers[HEADER.dlqMessage] ?? '', attempts: headers[HEADER.dlqAttempts] ?? '',
      consumerGroup: headers[HEADER.dlqGroup] ?? '', failedAt: headers[HEADER.dlqFailedAt] ?? '',
      key: message.key, value: message.value,
      omittedValueBytes: headers[HEADER.dlqOmitted] === undefined ? null : Number(headers[HEADER.dlqOmitted]),
      originalHeaders: Object.fromEntries(Object.entries(headerBytes(message.headers)).filter(([name]) => !DLQ_HEADERS.has(name))),
    });
  }, { groupPrefix: 'orbit-dlq-list', timeoutMs });
  letters.sort((a, b) => a.dlqPartition - b.dlqPartition || Number(BigInt(a.dlqOffset) - BigInt(b.dlqOffset)));
  return { letters, record };
}

interface RedriveRecord {
  /** Offsets (per DLQ partition) below which letters were dealt with by re-drives without offsets: by the topic's own group, or earlier by the shared one. */
  readonly upTo: ReadonlyMap<number, bigint>;
  /** Letters (per DLQ partition) re-driven by offset. */
  readonly byOffset: ReadonlyMap<number, OffsetRanges>;
}

async function redriveRecord(kafka: Kafka, dlqTopic: string): Promise<RedriveRecord> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const upTo = new Map<number, bigint>();
    for (const groupId of [REDRIVE_GROUP, redriveGroupOf(dlqTopic)]) {
      const [topic] = await admin.fetchOffsets({ groupId, topics: [dlqTopic] });
      for (const { partition, offset } of topic?.partitions ?? []) {
        if (Number(offset) >= 0 && BigInt(offset) > (upTo.get(partition) ?? 0n)) upTo.set(partition, BigInt(offset));
      }
    }
    const byOffset = new Map<number, OffsetRanges>();
    const [named] = await admin.fetchOffsets({ groupId: redrivenByOffsetGroupOf(dlqTopic), topics: [dlqTopic] });
    for (const { partition, metadata } of named?.partitions ?? []) byOffset.set(partition, parseRedriveRecord(metadata));
    return { upTo, byOffset };
  } finally {
    await admin.disconnect();
  }
}

/**
 * Commits each partition's record to the by-offset group, joined alone for
 * the purpose (its caller holds the re-drive group, which keeps other
 * re-drives of the DLQ away from both).
 */
async function commitRedriveRecord(kafka: Kafka, dlqTopic: string, entries: readonly { partition: number; offset: string; metadata: string }[]): Promise<void> {
  if (entries.length === 0) return;
  const consumer = kafka.consumer({ groupId: redrivenByOffsetGroupOf(dlqTopic), maxWaitTimeInMs: 50, allowAutoTopicCreation: false });
  await consumer.connect();
  try {
    await consumer.subscribe({ topics: [dlqTopic], fromBeginning: true });
    const joined = new Promise<void>((resolve) => { consumer.on(consumer.events.GROUP_JOIN, () => resolve()); });
    const running = consumer.run({ autoCommit: false, eachBatchAutoResolve: false, eachBatch: async () => undefined });
    consumer.pause([{ topic: dlqTopic }]);
    await Promise.race([joined, running.then(() => joined)]);
    // kafkajs drops a commit, saying nothing, until run() has resolved (the member counts as running only then).
    await running;
    await consumer.commitOffsets(entries.map((entry) => ({ topic: dlqTopic, ...entry })));
  } finally {
    await consumer.disconnect();
  }
  // Read back, since a dropped commit says nothing: a record missing would let a re-drive without offsets send the letters again.
  const admin = kafka.admin();
  await admin.connect();
  try {
    const [topic] = await admin.fetchOffsets({ groupId: redrivenByOffsetGroupOf(dlqTopic), topics: [dlqTopic] });
    const lost = entries.filter((entry) => !topic?.partitions.some(({ partition, metadata }) => partition === entry.partition && metadata === entry.metadata));
    if (lost.length > 0) throw new OrbitError('ORBIT_ERR_REDRIVE_NOT_RECORDED', `the letters re-driven by offset on ${dlqTopic} were sent but could not be recorded (group ${redrivenByOffsetGroupOf(dlqTopic)}); a re-drive without offsets would send them again`);
  } finally {
    await admin.disconnect();
  }
}

/**
 * Puts dead letters back on their original topics with their original key,
 * value and headers, each marked for the consumer group that failed on it:
 * the other groups of the topic handled the original already and pass it over
 * (re-sent to all, each failing group wrote a letter of its own, 3 → 9 → 27).
 * Letters for the same message and group go once. Without `offsets` it
 * re-drives every letter not re-driven yet, save those `whyNotRedriven` sets
 * aside, and records how far it got, so running it twice sends nothing twice.
 * With `offsets` it re-drives the letters at those offsets, re-driven before
 * or not, and records them (`redrivenByOffsetGroupOf`): one without offsets
 * leaves them alone. An offset no letter has refuses the whole re-drive
 * (DeadLetterNotFoundError) before sending anything. Each record is committed
 * once its letters are sent: a re-drive stopped in between sends them again
 * next time. It holds the re-drive group meanwhile: a second re-drive of the
 * topic started before this one ends refuses (GroupRunningError) before sending anything.
 */
export async function redriveDeadLetters(kafka: Kafka, dlqTopic: string, options: { offsets?: readonly string[] } = {}): Promise<RedriveOutcome> {
  const group = await holdGroup(kafka, redriveGroupOf(dlqTopic), [dlqTopic]);
  try {
    const { letters, record } = await readDeadLetters(kafka, dlqTopic);
    const missing = [...new Set(options.offsets?.filter((offset) => !letters.some((letter) => letter.dlqOffset === offset)))];
    if (missing.length > 0) throw new DeadLetterNotFoundError(dlqTopic, missing);
    const chosen = options.offsets ? letters.filter((letter) => options.offsets?.includes(letter.dlqOffset)) : letters.filter((letter) => !letter.redriven);
    const redriven: DeadLetterEntry[] = [];
    const setAside: SetAsideLetter[] = [];
    const sentFor = new Map<string, DeadLetterEntry>();
    for (const letter of chosen) {
      const reason = whyNotRedriven(letter, options.offsets !== undefined);
      const messageForGroup = `${letter.consumerGroup}|${letter.originalTopic}/${letter.originalPartition}@${letter.originalOffset}`;
      const same = sentFor.get(messageForGroup);
      if (reason !== undefined) setAside.push({ letter, reason });
      else if (same) setAside.push({ letter, reason: `the same message for ${letter.consumerGroup || 'its group'} goes with ${positionOf(same)}` });
      else {
        sentFor.set(messageForGroup, letter);
        redriven.push(letter);
      }
    }
    if (chosen.length === 0) return { redriven, setAside };
    // Worked out before sending: a record that cannot be kept refuses the re-drive while nothing has gone.
    const records: { partition: number; offset: string; metadata: string }[] = [];
    if (options.offsets) {
      const partitions = new Map<number, bigint[]>();
      for (const letter of chosen) partitions.set(letter.dlqPartition, [...(partitions.get(letter.dlqPartition) ?? []), BigInt(letter.dlqOffset)]);
      for (const [partition, offsets] of partitions) {
        const ranges = mergedRanges(record.byOffset.get(partition) ?? [], offsets);
        const metadata = redriveRecordOf(ranges, record.upTo.get(partition) ?? 0n);
        if (metadata === undefined) throw new RedriveRecordFullError(dlqTopic, partition);
        // The offset says nothing here (the metadata does): one past the last letter recorded.
        records.push({ partition, offset: ((ranges.at(-1)?.[1] ?? 0n) + 1n).toString(), metadata });
      }
    }
    if (redriven.length > 0) {
      const producer = orbitProducer(kafka);
      await producer.connect();
      try {
        for (const letter of redriven) {
          await producer.send({
            topic: letter.originalTopic, acks: -1,
            messages: [{
              key: letter.key, value: letter.value,
              headers: {
                ...letter.originalHeaders, [REDRIVEN_FROM]: positionOf(letter),
                ...(letter.consumerGroup !== '' ? { [HEADER.redriveGroup]: letter.consumerGroup } : {}),
              },
            }],
          });
        }
      } finally {
        await producer.disconnect();
      }
    }
    if (options.offsets) await commitRedriveRecord(kafka, dlqTopic, records);
    else {
      const next = new Map<number, bigint>();
      for (const letter of chosen) next.set(letter.dlqPartition, BigInt(letter.dlqOffset) + 1n);
      await group.commit([...next].map(([partition, offset]) => ({ topic: dlqTopic, partition, offset: offset.toString() })));
    }
    return { redriven, setAside };
  } finally {
    await group.release();
  }
}
