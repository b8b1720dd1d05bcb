/** Reading a DLQ: what earlier re-drives left (the first read), and its letters, a lot at a time, each pending one checked against the message it names (the second). */
import { sourceTopicOf } from '../topics.js';
import type { Kafka, KafkaMessage } from './client.js';
import { letterMatches, type LetterFilter } from './dlq-filter.js';
import type { NamedLetters } from './dlq-named.js';
import {
  isRecord, letterFactsOf, letterOf, letterState, messageForGroupOf, ownHeadersOf, REDRIVE_GROUP, redriveGroupOf, whyNotRedriven, type DeadLetterEntry, type PartitionState,
} from './dlq-letter.js';
import { letterBytes, lotIsFull } from './dlq-lots.js';
import { OriginalsReader, positionKey, whyNotTheOriginal } from './dlq-originals.js';
import { inRanges, recordOf, recordValueOf, type PartitionRecord } from './dlq-record.js';
import { readTopicToEnd } from './read-to-end.js';

/** What earlier re-drives left of a DLQ, read from its start without keeping any letter's bytes. */
export interface DlqHistory {
  /**
   * Each partition's record: the last one written to it, raised to what older re-drives committed, with what they
   * committed as its `commitOnlyUpTo`.
   */
  readonly records: Map<number, PartitionState>;
  /** Partitions whose committed progress no record holds yet: the broker will delete it. */
  readonly unrecorded: number[];
  readonly partitions: Set<number>;
  /** Of the letters a re-drive named (by `asked`), those a letter is, each with where it is (`<partition>@<offset>`, more than one for an offset alone). */
  readonly namedFound: Map<string, string[]>;
  /** Messages (`messageForGroupOf`) re-driven for their group already, each with the letter that took it (`<partition>@<offset>`). */
  readonly sentBefore: Map<string, string>;
}

/**
 * A letter an earlier re-drive may have sent, one `whyNotRedriven` lets go
 * when named: where it is, and whether a re-drive without offsets sends it
 * too. Its record comes after it, so that answer is kept, a few bytes, not the
 * letter's facts.
 */
interface SentCandidate {
  readonly offset: bigint;
  readonly messageForGroup: string;
  readonly goesUnnamed: boolean;
}

/** The candidate a letter is; undefined for one no re-drive sends, named or not. */
function sentCandidateOf(dlqTopic: string, message: KafkaMessage): SentCandidate | undefined {
  const letter = { dlqTopic, ...letterFactsOf(message.headers) };
  if (whyNotRedriven(letter, true) !== undefined) return undefined;
  return { offset: BigInt(message.offset), messageForGroup: messageForGroupOf(letter), goesUnnamed: whyNotRedriven(letter, false) === undefined };
}

/**
 * Moves the messages of the letters of `candidates` that `record` says went into `sentBefore`, each with the first
 * letter that took it: the letters `letterState` shows re-driven, no other.
 */
function addSent(candidates: readonly SentCandidate[], record: PartitionRecord, position: (offset: bigint) => string, sentBefore: Map<string, string>): void {
  for (const letter of candidates) {
    // Named, an undecodable letter went; passed by a re-drive without offsets, it was set aside. One that did not hold
    // the message it named went nowhere: taken for that message, it would have the genuine letter set aside as a duplicate.
    const went = !inRanges(record.unmatched ?? [], letter.offset) && (inRanges(record.byOffset, letter.offset) || (letter.offset < record.upTo && letter.goesUnnamed));
    if (went && !sentBefore.has(letter.messageForGroup)) sentBefore.set(letter.messageForGroup, position(letter.offset));
  }
}

/**
 * The first of the two reads of a DLQ: its records, and, for a re-drive
 * without offsets, which messages earlier re-drives sent for which group: a
 * few dozen bytes a letter are kept for that, never a letter's bytes.
 */
export async function readHistory(kafka: Kafka, dlqTopic: string, options: { timeoutMs?: number; named?: NamedLetters; sentBefore?: boolean }): Promise<DlqHistory> {
  const records = new Map<number, PartitionState>();
  const committed = await committedUpTo(kafka, dlqTopic);
  for (const [partition, upTo] of committed) records.set(partition, { upTo, byOffset: [] });
  const recordedUpTo = new Map<number, bigint>();
  const recordedCommitOnly = new Map<number, bigint>();
  const partitions = new Set<number>();
  const namedFound = new Map<string, string[]>();
  const candidates = new Map<number, SentCandidate[]>();
  const sentBefore = new Map<string, string>();
  await readTopicToEnd(kafka, dlqTopic, (message, partition) => {
    partitions.add(partition);
    if (isRecord(message)) {
      // Records come in order within a partition: the last is the partition's state.
      const record = recordOf(message.value);
      const before = records.get(partition)?.upTo ?? 0n;
      if (record) {
        const commitOnlyUpTo = commitOnlyUpToOf(message.value);
        records.set(partition, { ...record, upTo: record.upTo > before ? record.upTo : before, ...(commitOnlyUpTo !== undefined ? { commitOnlyUpTo } : {}) });
        recordedUpTo.set(partition, record.upTo);
        recordedCommitOnly.set(partition, commitOnlyUpTo ?? 0n);
      }
      return;
    }
    for (const { asked } of options.named?.naming(partition, message.offset) ?? []) namedFound.set(asked, [...(namedFound.get(asked) ?? []), `${partition}@${message.offset}`]);
    const candidate = options.sentBefore ? sentCandidateOf(dlqTopic, message) : undefined;
    if (candidate) {
      const inPartition = candidates.get(partition) ?? [];
      candidates.set(partition, inPartition);
      inPartition.push(candidate);
    }
  }, { groupPrefix: 'orbit-dlq-list', ...(options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {}), wholeOrNothing: true });
  // Only the last record counts: a letter's state is known once the whole partition is read.
  for (const [partition, letters] of candidates) {
    const record = records.get(partition);
    if (record) addSent(letters, record, (offset) => `${partition}@${offset}`, sentBefore);
  }
  // Below what they committed, older re-drives dealt with letters and said no more: one undecodable there may have gone.
  for (const [partition, upTo] of committed) {
    const record = records.get(partition);
    if (record && upTo > (record.commitOnlyUpTo ?? 0n)) records.set(partition, { ...record, commitOnlyUpTo: upTo });
  }
  // A record of a release before the commit-only boundary was kept (00d36bf) may hold the progress but not the boundary:
  // the next run records it, with nothing to send too, before the broker deletes the group's offsets (found by a reread).
  const unrecorded = [...committed]
    .filter(([partition, upTo]) => upTo > (recordedUpTo.get(partition) ?? 0n) || upTo > (recordedCommitOnly.get(partition) ?? 0n))
    .map(([partition]) => partition);
  return { records, unrecorded, partitions, namedFound, sentBefore };
}

/**
 * The key of a record's JSON that keeps `commitOnlyUpTo`: what older re-drives committed outlives the group's offsets,
 * which the broker deletes after `offsets.retention.minutes` without a member. Records before it lack it (read as
 * none), and a reader before it passes it over (`recordOf` reads the keys it knows).
 */
const COMMIT_ONLY_KEY = 'commitOnlyUpTo';

/** The `commitOnlyUpTo` a record's value keeps; undefined for one that keeps none. */
function commitOnlyUpToOf(value: Buffer | null): bigint | undefined {
  try {
    const kept: unknown = (JSON.parse(value?.toString() ?? '') as Record<string, unknown>)[COMMIT_ONLY_KEY];
    return typeof kept === 'string' && /^\d+$/.test(kept) ? BigInt(kept) : undefined;
  } catch {
    return undefined;
  }
}

/** A partition's state as the value of the record a re-drive appends: `recordValueOf`'s, with its `commitOnlyUpTo`. */
export function recordValueWithCommitOnly(state: PartitionState): string {
  const value = recordValueOf(state);
  if ((state.commitOnlyUpTo ?? 0n) === 0n) return value;
  return JSON.stringify({ ...(JSON.parse(value) as Record<string, unknown>), [COMMIT_ONLY_KEY]: (state.commitOnlyUpTo ?? 0n).toString() });
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

/** Thrown through a read to end it early (a limit reached, a signal): not a failure. */
export class ReadEnough {
  constructor(readonly stopped: boolean) {}
}

/** Where each partition's pending letters start: nothing below a record's `upTo` is pending. */
export const pendingFrom = (history: DlqHistory): Map<number, bigint> => new Map([...history.records].map(([partition, record]) => [partition, record.upTo]));

export interface ListOptions {
  readonly filter?: LetterFilter;
  /** How long the read may go without progress before it gives up (ORBIT_ERR_READ_INCOMPLETE). @default 30_000 */
  readonly timeoutMs?: number;
}

/** Whether a list reads back the message a letter names: one the next re-drive takes (named, or not) and checks so. */
const checkedByList = (letter: DeadLetterEntry): boolean => letterState(letter) === 'pending' && whyNotRedriven(letter, true) === undefined;

/**
 * The letters of a list, held a lot at a time (as a re-drive's, at most LETTERS_PER_TRANSACTION letters and LOT_BYTES
 * bytes) while the messages those pending name are read back, then handed over in order, each pending one that does
 * not hold its message with why (`notTheOriginal`). One reader for the whole list: its group is joined once.
 */
class LettersCheckedInLots {
  private lot: DeadLetterEntry[] = [];
  private bytes = 0;

  constructor(
    private readonly originals: OriginalsReader | undefined,
    private readonly onLetter: (letter: DeadLetterEntry) => void | Promise<void>,
    private readonly timeoutMs: number | undefined,
  ) {}

  async add(letter: DeadLetterEntry): Promise<void> {
    const size = letterBytes(letter);
    if (lotIsFull(this.lot.length, this.bytes, size)) await this.handOver();
    this.lot.push(letter);
    this.bytes += size;
  }

  async handOver(): Promise<void> {
    const lot = this.lot;
    this.lot = [];
    this.bytes = 0;
    const claims = lot.filter(checkedByList).map((letter) => ({ partition: Number(letter.originalPartition), offset: BigInt(letter.originalOffset) }));
    // Its topic gone, a letter cannot be checked, and the next re-drive leaves it pending: so does the list.
    const found = claims.length > 0 ? await this.originals?.digestsAt(claims, this.timeoutMs) : undefined;
    for (const letter of lot) {
      const why = found !== undefined && checkedByList(letter) ? whyNotTheOriginal(letter, found.get(positionKey(Number(letter.originalPartition), BigInt(letter.originalOffset)))) : undefined;
      await this.onLetter(why === undefined ? letter : { ...letter, notTheOriginal: why });
    }
  }
}

/**
 * Hands each dead letter on `dlqTopic` that `filter` lets through to
 * `onLetter`, in order within each partition: no more than a lot of letters
 * (200, 768 KiB) is held at once, so a DLQ of a million letters, or of large
 * ones, costs what a lot does. A pending letter is handed over once the
 * message at the position it names is read back, as a re-drive does: one
 * that does not hold it (forged, or altered) comes `set aside`, with why in
 * `notTheOriginal`, before any re-drive ran. It reads the DLQ twice (records
 * come after the letters they cover: the first read learns each letter's
 * state), without committing anything. With `pending` the second read starts
 * where the last re-drive without offsets stopped. Resolves with how many
 * letters it handed over.
 */
export async function forEachDeadLetter(kafka: Kafka, dlqTopic: string, onLetter: (letter: DeadLetterEntry) => void | Promise<void>, options: ListOptions = {}): Promise<number> {
  const filter = options.filter ?? {};
  const timeout = options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {};
  if (filter.limit === 0) return 0;
  const history = await readHistory(kafka, dlqTopic, timeout);
  const source = sourceTopicOf(dlqTopic);
  const originals = source === undefined ? undefined : new OriginalsReader(kafka, source, ownHeadersOf);
  const letters = new LettersCheckedInLots(originals, onLetter, options.timeoutMs);
  let handed = 0;
  try {
    await readTopicToEnd(kafka, dlqTopic, async (message, partition) => {
      if (isRecord(message)) return;
      const letter = letterOf(dlqTopic, partition, message, history.records.get(partition));
      if (!letterMatches(letter, filter)) return;
      await letters.add(letter);
      handed += 1;
      if (filter.limit !== undefined && handed >= filter.limit) throw new ReadEnough(false);
    }, { groupPrefix: 'orbit-dlq-list', ...timeout, wholeOrNothing: true, ...(filter.pending ? { from: pendingFrom(history) } : {}) });
  } catch (error) {
    if (!(error instanceof ReadEnough)) {
      // A read that stalled still shows the letters it had read (the list says it is not the whole DLQ).
      await letters.handOver().catch(() => undefined);
      throw error;
    }
  } finally {
    try {
      await letters.handOver();
    } finally {
      await originals?.close();
    }
  }
  return handed;
}

/** The dead letters on `dlqTopic` that `filter` lets through, with their bytes, in a list: for tests and small DLQs; `forEachDeadLetter` keeps none. */
export async function listDeadLetters(kafka: Kafka, dlqTopic: string, options: ListOptions = {}): Promise<DeadLetterEntry[]> {
  const letters: DeadLetterEntry[] = [];
  await forEachDeadLetter(kafka, dlqTopic, (letter) => void letters.push(letter), options);
  return letters.sort((a, b) => a.dlqPartition - b.dlqPartition || Number(BigInt(a.dlqOffset) - BigInt(b.dlqOffset)));
}
