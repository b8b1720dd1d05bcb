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
  /** Re-driven on purpose by a `dlq:redrive --offset` naming it (recorded in the DLQ, see `REDRIVE_RECORD_HEADER`). */
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
  /** Stopped by its signal before every letter was dealt with: those left stay pending, for the next re-drive. */
  readonly stopped: boolean;
}

/**
 * Letters sent, with the record of their progress, in one Kafka transaction:
 * the letters and the record become visible together or not at all (to
 * read_committed readers: Orbit's consumers, and the DLQ reads here), so a
 * re-drive stopped at any moment, SIGKILL included, sends nothing twice. It
 * sent every letter first and recorded after, and one stopped in between sent
 * them all again on the next run.
 */
const LETTERS_PER_TRANSACTION = 200;

/**
 * The most bytes of letters (keys, values, headers) one lot holds. kafkajs writes a partition's share of a lot as
 * one record batch, and the broker holds the whole batch to the topic's max.message.bytes (1 MiB for the lifecycle
 * topics): three letters of 400 KB for one partition were refused together, and the re-drive failed at that lot on
 * every run. A letter larger than this goes in a lot of its own.
 */
const LOT_BYTES = 768 * 1024;

/** The bytes a letter adds to a record batch, near enough: its key, value and headers. */
function letterBytes(letter: DeadLetterEntry): number {
  const headers = Object.entries(letter.originalHeaders).reduce((sum, [name, values]) => sum + values.reduce((total, value) => total + name.length + value.length + 16, 0), 0);
  return (letter.key?.length ?? 0) + (letter.value?.length ?? 0) + headers + 256;
}

/** `letters` in order, cut into lots of at most LETTERS_PER_TRANSACTION letters and LOT_BYTES bytes (one letter at least each). */
export function lotsOf<T>(letters: readonly T[], bytesOf: (letter: T) => number): T[][] {
  const lots: T[][] = [];
  let lot: T[] = [];
  let bytes = 0;
  for (const letter of letters) {
    const size = bytesOf(letter);
    if (lot.length > 0 && (lot.length >= LETTERS_PER_TRANSACTION || bytes + size > LOT_BYTES)) {
      lots.push(lot);
      lot = [];
      bytes = 0;
    }
    lot.push(letter);
    bytes += size;
  }
  if (lot.length > 0) lots.push(lot);
  return lots;
}

/**
 * How long the broker lets a re-drive's transaction stay open. One killed in
 * the middle of a transaction holds back read_committed consumers of the
 * partitions it wrote to until the broker aborts it (or the next re-drive,
 * taking the same transactional id, does): seconds, not kafkajs's minute.
 * A transaction of `LETTERS_PER_TRANSACTION` letters takes milliseconds.
 */
const REDRIVE_TRANSACTION_TIMEOUT_MS = 10_000;

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
 * The group a re-drive of `dlqTopic` holds while it runs (one per DLQ, so that
 * re-drives of two topics neither wait for nor refuse each other); re-drives
 * before 2026-12-06 recorded their progress in its offsets, still read.
 */
export const redriveGroupOf = (dlqTopic: string): string => `${REDRIVE_GROUP}.${dlqTopic}`;

/**
 * The header of a re-drive's record: a message a re-drive appends to each DLQ
 * partition it dealt with, holding the partition's whole state: how far
 * re-drives without offsets got (`upTo`) and which letters were re-driven by
 * offset (`byOffset`). It lives beside the letters and as long as they do.
 * Consumer-group offsets, which held it before, are deleted by the broker once
 * a group has had no member for `offsets.retention.minutes` (7 days by
 * default), and a re-drive group has none between runs: a re-drive after a
 * quiet week would have sent every letter ever written again. Lists pass
 * records over.
 */
export const REDRIVE_RECORD_HEADER = 'orbit-dlq-redrive-record';

/** Inclusive ranges of offsets, sorted, apart, and not adjacent. */
export type OffsetRanges = readonly (readonly [bigint, bigint])[];

/** What re-drives recorded of one DLQ partition. */
export interface PartitionRecord {
  /** Letters below this offset were dealt with by a re-drive without offsets (sent, or set aside). */
  readonly upTo: bigint;
  /** Letters re-driven by offset. */
  readonly byOffset: OffsetRanges;
}

/** `ranges` and `more` together, as ranges. */
export function mergedRanges(ranges: OffsetRanges, more: Iterable<bigint>): OffsetRanges {
  const all = [...ranges.map(([from, to]): [bigint, bigint] => [from, to]), ...[...more].map((offset): [bigint, bigint] => [offset, offset])]
    .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  const merged: [bigint, bigint][] = [];
  for (const [from, to] of all) {
    const last = merged.at(-1);
    if (last && from <= last[1] + 1n) last[1] = to > last[1] ? to : last[1];
    else merged.push([from, to]);
  }
  return merged;
}

export const inRanges = (ranges: OffsetRanges, offset: bigint): boolean => ranges.some(([from, to]) => offset >= from && offset <= to);

/** A record as its message's value holds it: JSON, offsets as decimal strings (Kafka's are 64-bit). */
export function recordValueOf(record: PartitionRecord): string {
  return JSON.stringify({ v: 1, upTo: record.upTo.toString(), byOffset: record.byOffset.map(([from, to]) => [from.toString(), to.toString()]) });
}

const isDecimal = (text: unknown): text is string => typeof text === 'string' && /^\d+$/.test(text);

/** The record a value holds; undefined for a value no re-drive of this kind wrote, which then records nothing. */
export function recordOf(value: Buffer | null): PartitionRecord | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(value?.toString() ?? '');
  } catch {
    return undefined;
  }
  if (typeof parsed !== 'object' || parsed === null) return undefined;
  const { v, upTo, byOffset } = parsed as { v?: unknown; upTo?: unknown; byOffset?: unknown };
  if (v !== 1 || !isDecimal(upTo) || !Array.isArray(byOffset)) return undefined;
  const ranges: [bigint, bigint][] = [];
  for (const range of byOffset as unknown[]) {
    if (!Array.isArray(range) || range.length !== 2 || !isDecimal(range[0]) || !isDecimal(range[1])) return undefined;
    ranges.push([BigInt(range[0]), BigInt(range[1])]);
  }
  return { upTo: BigInt(upTo), byOffset: mergedRanges(ranges, []) };
}

/** A re-drive named offsets no letter of the DLQ has: it sends nothing. */
export class DeadLetterNotFoundError extends OrbitError {
  constructor(readonly dlqTopic: string, readonly offsets: readonly string[]) {
    super('ORBIT_ERR_NO_DEAD_LETTER', `no dead letter at offset ${offsets.join(', ')} of ${dlqTopic}; nothing was re-driven`);
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

/**
 * The letters, each partition's record (the last one written to it, raised to what older re-drives committed), and
 * the partitions whose committed progress no record holds yet (`unrecorded`): the broker will delete it.
 */
async function readDeadLetters(kafka: Kafka, dlqTopic: string, timeoutMs = 30_000): Promise<{ letters: DeadLetterEntry[]; records: Map<number, PartitionRecord>; unrecorded: number[] }> {
  const read: (Omit<DeadLetterEntry, 'redriven' | 'redrivenByOffset'>)[] = [];
  const records = new Map<number, PartitionRecord>();
  const committed = await committedUpTo(kafka, dlqTopic);
  for (const [partition, upTo] of committed) records.set(partition, { upTo, byOffset: [] });
  const recordedUpTo = new Map<number, bigint>();
  await readTopicToEnd(kafka, dlqTopic, (message, partition) => {
    const headers = headersToStrings(message.headers);
    if (headers[REDRIVE_RECORD_HEADER] !== undefined) {
      // Records come in order within a partition: the last is the partition's state.
      const record = recordOf(message.value);
      const before = records.get(partition)?.upTo ?? 0n;
      if (record) {
        records.set(partition, { upTo: record.upTo > before ? record.upTo : before, byOffset: record.byOffset });
        recordedUpTo.set(partition, record.upTo);
      }
      return;
    }
    read.push({
      redrivenFrom: redrivenFromOf(headers[REDRIVEN_FROM]),
      dlqTopic, dlqPartition: partition, dlqOffset: message.offset,
      originalTopic: headers[HEADER.dlqTopic] ?? '', originalPartition: headers[HEADER.dlqPartition] ?? '', originalOffset: headers[HEADER.dlqOffset] ?? '',
      errorCode: headers[HEADER.dlqError] ?? '', errorMessage: headers[HEADER.dlqMessage] ?? '', attempts: headers[HEADER.dlqAttempts] ?? '',
      consumerGroup: headers[HEADER.dlqGroup] ?? '', failedAt: headers[HEADER.dlqFailedAt] ?? '',
      key: message.key, value: message.value,
      omittedValueBytes: headers[HEADER.dlqOmitted] === undefined ? null : Number(headers[HEADER.dlqOmitted]),
      originalHeaders: Object.fromEntries(Object.entries(headerBytes(message.headers)).filter(([name]) => !DLQ_HEADERS.has(name))),
    });
  }, { groupPrefix: 'orbit-dlq-list', timeoutMs, wholeOrNothing: true });
  const letters = read.map((letter): DeadLetterEntry => {
    const record = records.get(letter.dlqPartition);
    const offset = BigInt(letter.dlqOffset);
    const byOffset = inRanges(record?.byOffset ?? [], offset);
    return { ...letter, redriven: offset < (record?.upTo ?? 0n) || byOffset, redrivenByOffset: byOffset };
  });
  letters.sort((a, b) => a.dlqPartition - b.dlqPartition || Number(BigInt(a.dlqOffset) - BigInt(b.dlqOffset)));
  const unrecorded = [...committed].filter(([partition, upTo]) => upTo > (recordedUpTo.get(partition) ?? 0n)).map(([partition]) => partition);
  return { letters, records, unrecorded };
}

/** Offsets (per DLQ partition) below which re-drives before 2026-12-06 committed they had dealt with the letters: the topic's own group, or the shared one before it. */
async function committedUpTo(kafka: Kafka, dlqTopic: string): Promise<Map<number, bigint>> {
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
    return upTo;
  } finally {
    await admin.disconnect();
  }
}

/**
 * Re-sends dead letters to their original topics, with their original key,
 * bytes and headers, each for the consumer group that failed on it alone
 * (re-sent to all, each failing group wrote a letter of its own, 3 → 9 → 27).
 * Letters for the same message and group go once. Without `offsets` it
 * re-drives every letter not re-driven yet, save those `whyNotRedriven` sets
 * aside, and records how far it got, so running it twice sends nothing twice.
 * With `offsets` it re-drives the letters at those offsets, re-driven before
 * or not, and records them: one without offsets leaves them alone. An offset
 * no letter has refuses the whole re-drive (DeadLetterNotFoundError) before
 * sending anything. Letters go in lots (`lotsOf`: 200 letters, 768 KiB at most), each lot
 * in one transaction with the record (REDRIVE_RECORD_HEADER) of the progress
 * it makes; `signal` stops it between two lots. It holds the re-drive group
 * meanwhile: a second re-drive of the topic started before this one ends
 * refuses (GroupRunningError) before sending anything.
 */
export async function redriveDeadLetters(kafka: Kafka, dlqTopic: string, options: { offsets?: readonly string[]; signal?: AbortSignal } = {}): Promise<RedriveOutcome> {
  const group = await holdGroup(kafka, redriveGroupOf(dlqTopic), [dlqTopic]);
  try {
    const { letters, records, unrecorded } = await readDeadLetters(kafka, dlqTopic);
    const missing = [...new Set(options.offsets?.filter((offset) => !letters.some((letter) => letter.dlqOffset === offset)))];
    if (missing.length > 0) throw new DeadLetterNotFoundError(dlqTopic, missing);
    const chosen = options.offsets ? letters.filter((letter) => options.offsets?.includes(letter.dlqOffset)) : letters.filter((letter) => !letter.redriven);
    const toSend = new Set<DeadLetterEntry>();
    const setAsideFor = new Map<DeadLetterEntry, string>();
    const sentFor = new Map<string, DeadLetterEntry>();
    for (const letter of chosen) {
      const reason = whyNotRedriven(letter, options.offsets !== undefined);
      const messageForGroup = `${letter.consumerGroup}|${letter.originalTopic}/${letter.originalPartition}@${letter.originalOffset}`;
      const same = sentFor.get(messageForGroup);
      if (reason !== undefined) setAsideFor.set(letter, reason);
      else if (same) setAsideFor.set(letter, `the same message for ${letter.consumerGroup || 'its group'} goes with ${positionOf(same)}`);
      else {
        sentFor.set(messageForGroup, letter);
        toSend.add(letter);
      }
    }
    const redriven: DeadLetterEntry[] = [];
    const setAside: SetAsideLetter[] = [];
    // Progress only older re-drives committed is recorded now, even with nothing to send: the broker deletes it.
    if (chosen.length === 0 && unrecorded.length === 0) return { redriven, setAside, stopped: false };
    const producer = orbitProducer(kafka, { transactionalId: redriveGroupOf(dlqTopic), transactionTimeoutMs: REDRIVE_TRANSACTION_TIMEOUT_MS });
    await producer.connect();
    try {
      // Set-aside letters are sent nowhere: only those sent count towards a lot's bytes.
      const lots = chosen.length === 0 ? [[]] : lotsOf(chosen, (letter) => (toSend.has(letter) ? letterBytes(letter) : 0));
      for (const [index, lot] of lots.entries()) {
        if (options.signal?.aborted) return { redriven, setAside, stopped: true };
        const sent = lot.filter((letter) => toSend.has(letter));
        // Each partition dealt with gets its new state, whole: the last record is all a later list reads.
        const partitions = new Map<number, bigint[]>(index === 0 ? unrecorded.map((partition) => [partition, []]) : []);
        for (const letter of lot) partitions.set(letter.dlqPartition, [...(partitions.get(letter.dlqPartition) ?? []), BigInt(letter.dlqOffset)]);
        const recorded = new Map([...partitions].map(([partition, offsets]) => {
          const before = records.get(partition) ?? { upTo: 0n, byOffset: [] };
          const next = offsets.reduce((highest, offset) => (offset + 1n > highest ? offset + 1n : highest), before.upTo);
          const record: PartitionRecord = options.offsets ? { upTo: before.upTo, byOffset: mergedRanges(before.byOffset, offsets) } : { upTo: next, byOffset: before.byOffset };
          return [partition, record] as const;
        }));
        const transaction = await producer.transaction();
        try {
          await transaction.sendBatch({
            acks: -1,
            topicMessages: [
              ...sent.map((letter) => ({
                topic: letter.originalTopic,
                messages: [{
                  key: letter.key, value: letter.value,
                  headers: {
                    ...letter.originalHeaders, [REDRIVEN_FROM]: positionOf(letter),
                    ...(letter.consumerGroup !== '' ? { [HEADER.redriveGroup]: letter.consumerGroup } : {}),
                  },
                }],
              })),
              {
                topic: dlqTopic,
                messages: [...recorded].map(([partition, record]) => ({ partition, key: null, value: recordValueOf(record), headers: { [REDRIVE_RECORD_HEADER]: '1' } })),
              },
            ],
          });
          await transaction.commit();
        } catch (error) {
          await transaction.abort().catch(() => undefined);
          throw error;
        }
        for (const [partition, record] of recorded) records.set(partition, record);
        redriven.push(...sent);
        for (const letter of lot) {
          const reason = setAsideFor.get(letter);
          if (reason !== undefined) setAside.push({ letter, reason });
        }
      }
    } finally {
      await producer.disconnect();
    }
    return { redriven, setAside, stopped: false };
  } finally {
    await group.release();
  }
}
