import { sourceTopicOf } from '../topics.js';
import type { Kafka, KafkaMessage } from './client.js';
import { orbitProducer } from './client.js';
import { leavesGaps, letterMatches, type LetterFilter } from './dlq-filter.js';
import {
  isRecord, letterOf, letterState, MAYBE_REDRIVEN, messageForGroupOf, ownHeadersOf, redriveGroupOf, summaryOf, waitsForUndecodable, whyNotRedriven, type DeadLetterEntry, type LetterSummary, type PartitionState,
} from './dlq-letter.js';
import { lotIsFull, letterBytes } from './dlq-lots.js';
import { OriginalsReader, positionKey, whyNotTheOriginal } from './dlq-originals.js';
import { DeadLetterNotFoundError, NamedLetters, OffsetWithoutPartitionError, type NamedLetter } from './dlq-named.js';
import { pendingFrom, ReadEnough, readHistory, recordValueWithCommitOnly, type DlqHistory } from './dlq-read.js';
import { mergedRanges, REDRIVE_RECORD_HEADER } from './dlq-record.js';
import { holdGroup } from './group-offsets.js';
import { HEADER } from './headers.js';
import { readTopicToEnd } from './read-to-end.js';
import { positionOf, REDRIVEN_FROM_HEADER } from './redrive-copy.js';

export * from './dlq-filter.js';
export { lotsOf } from './dlq-lots.js';
export * from './dlq-record.js';
export {
  letterFactsOf, letterState, MAYBE_REDRIVEN, MAYBE_REDRIVEN_REASON, REDRIVE_GROUP, redriveGroupOf, UNDECODABLE_REASON, waitsForUndecodable, whyMaybeRedriven, whyNotRedriven, whySetAside,
  type DeadLetterEntry, type LetterFacts, type LetterState, type LetterSummary,
} from './dlq-letter.js';
export { messageDigestOf, whyNotTheOriginal, type MessageDigest } from './dlq-originals.js';
export { positionOf, redrivenFromOf } from './redrive-copy.js';
export { forEachDeadLetter, listDeadLetters, type ListOptions } from './dlq-read.js';


/** A letter a re-drive leaves where it is, and why. */
export interface SetAsideLetter {
  readonly letter: LetterSummary;
  readonly reason: string;
}

export interface RedriveOutcome {
  /** Put back on their topics, each for the consumer group that failed on it. */
  readonly redriven: LetterSummary[];
  readonly setAside: SetAsideLetter[];
  /** Stopped by its signal before every letter was dealt with: those left stay pending, for the next re-drive. */
  readonly stopped: boolean;
  /**
   * With `undecodable`: how many undecodable letters it left as a commit-only re-drive dealt with them (`MAYBE_REDRIVEN`:
   * sent or set aside, not known), those the filter lets through. Absent when none.
   */
  readonly maybeRedrivenLeft?: number;
}

/**
 * How long the broker lets a re-drive's transaction stay open. One killed in
 * the middle of a transaction holds back read_committed consumers of the
 * partitions it wrote to until the broker aborts it (or the next re-drive,
 * taking the same transactional id, does): seconds, not kafkajs's minute.
 * A transaction of `LETTERS_PER_TRANSACTION` letters takes milliseconds.
 */
const REDRIVE_TRANSACTION_TIMEOUT_MS = 10_000;

export interface RedriveOptions {
  /**
   * The letters to re-drive, re-driven before or not, each at `<partition>@<offset>` of the DLQ, or `<offset>` alone in
   * a DLQ of one partition (as `dlqCommandOf` reads them); without them, every pending letter.
   */
  readonly offsets?: readonly NamedLetter[];
  /** Narrows the letters taken, the offsets named included. */
  readonly filter?: LetterFilter;
  /**
   * Without `offsets`: takes the letters that could not be decoded (ORBIT_ERR_DECODE) too, those still pending and those
   * an earlier re-drive set aside as such, through every other check (`whyNotRedriven`, the message read back, sent
   * once). Without it they are set aside: while a consumer that cannot decode them runs, they would fail again. After
   * an upgrade done in another order there can be hundreds, which `offsets` named one at a time (found by a review).
   */
  readonly undecodable?: boolean;
  /** Stops the re-drive between two lots. */
  readonly signal?: AbortSignal;
  /** How long a read of the DLQ may go without progress before the re-drive gives up, having sent nothing more. @default 30_000 */
  readonly timeoutMs?: number;
  /**
   * Told of each letter once its lot is committed (`reason` for one set aside). Given, the outcome's lists stay
   * empty: a re-drive of a million letters keeps none of them.
   */
  readonly onDealt?: (letter: LetterSummary, reason: string | undefined) => void;
}

/** A letter in the lot being gathered: what is sent of it, or why not, and whether the record takes it. */
interface LotEntry {
  readonly letter: DeadLetterEntry;
  readonly reason: string | undefined;
  /** A letter left pending (passed over by a narrowed re-drive, or its topic gone) is not in the record. */
  readonly recorded: boolean;
  /** Set aside as it does not hold the message at the position it names: the record says so, for lists and later runs. */
  readonly unmatched?: true;
  /** Set aside as a duplicate of the letter at this position of the DLQ (`<partition>@<offset>`), taken by this run. */
  readonly duplicateOf?: string;
}

/**
 * Re-sends dead letters to their original topic, with their original key,
 * bytes and headers, each for the consumer group that failed on it alone
 * (re-sent to all, each failing group wrote a letter of its own, 3 → 9 → 27).
 * A letter goes back only to its DLQ's source topic (`X.dlq` to `X`): one
 * naming another topic, none, or a source topic that no longer exists is set
 * aside with the reason, and the letters behind it still go. Letters for the
 * same message and group go once, across runs too: one whose message an
 * earlier run sent for its group is set aside as a duplicate (named by
 * offset, it goes again: on purpose). Without `offsets` it re-drives every
 * letter not re-driven yet, save those `whyNotRedriven` sets aside, and
 * records how far it got, so running it twice sends nothing twice; the
 * letters it reads with their bytes start where the last such run stopped.
 * With `offsets` it re-drives the letters at those offsets, re-driven before
 * or not, and records them: one without offsets leaves them alone. With
 * `undecodable` (no offsets) it takes the undecodable letters too, those
 * earlier runs set aside as such included (it reads the DLQ from its start for
 * them), and records those it sends by offset, as if named. An offset
 * no letter has refuses the whole re-drive (DeadLetterNotFoundError) before
 * sending anything. `filter` narrows the letters taken; a narrowed run
 * records the letters it sent by offset, and leaves those it set aside
 * pending. A letter goes only if the message at the position it names (read
 * back, a lot's at once) has its key, value and headers: any principal that
 * may write to a DLQ can write a letter, and a re-drive publishes it as the
 * operator; one that does not is set aside, and recorded as such (`unmatched`).
 * Letters go in lots (200 letters, 768 KiB at most), each lot in one
 * transaction with the record (REDRIVE_RECORD_HEADER) of the progress it
 * makes, sent as the DLQ is read: no more than a lot's bytes are held at
 * once. `signal` stops it between two lots. It holds the re-drive group
 * meanwhile: a second re-drive of the topic started before this one ends
 * refuses (GroupRunningError) before sending anything.
 */
export async function redriveDeadLetters(kafka: Kafka, dlqTopic: string, options: RedriveOptions = {}): Promise<RedriveOutcome> {
  const group = await holdGroup(kafka, redriveGroupOf(dlqTopic), [dlqTopic]);
  try {
    const named = options.offsets ? new NamedLetters(options.offsets) : undefined;
    const timeout = options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {};
    const history = await readHistory(kafka, dlqTopic, { ...timeout, ...(named ? { named } : { sentBefore: true }) });
    if (named) await assertNamesLetters(kafka, dlqTopic, named, history);
    const source = sourceTopicOf(dlqTopic);
    const sourceMissing = source !== undefined && !(await topicExists(kafka, source)) ? source : undefined;
    const run = new RedriveRun(kafka, dlqTopic, history, { ...options, named, sourceMissing });
    // Letters an earlier run set aside as undecodable lie below where it got: such a run reads from each partition's start.
    const from = named !== undefined ? fromLowestNamed(history, named) : options.undecodable === true ? new Map<number, bigint>() : pendingFrom(history);
    return await run.go(from, timeout);
  } finally {
    await group.release();
  }
}

/**
 * Fails unless each letter named is one letter of the DLQ: DeadLetterNotFoundError for one no letter is, and
 * OffsetWithoutPartitionError for an offset alone in a DLQ of more than one partition (naming the letters at it),
 * whatever partitions hold a letter at it now: a command that works only while the others are short is a trap.
 */
async function assertNamesLetters(kafka: Kafka, dlqTopic: string, named: NamedLetters, history: DlqHistory): Promise<void> {
  const missing = named.all.filter(({ asked }) => !history.namedFound.has(asked)).map(({ asked }) => asked);
  if (missing.length > 0) throw new DeadLetterNotFoundError(dlqTopic, missing);
  const offsetsAlone = named.all.filter(({ partition }) => partition === undefined);
  if (offsetsAlone.length === 0) return;
  const partitions = await partitionCountOf(kafka, dlqTopic);
  if (partitions > 1) throw new OffsetWithoutPartitionError(dlqTopic, partitions, new Map(offsetsAlone.map(({ asked }) => [asked, history.namedFound.get(asked) ?? []])));
}

/**
 * Reads for a re-drive by position start, in each partition, at the lowest offset named there: no letter below it is
 * taken. An offset alone (a DLQ of one partition) counts in every partition.
 */
function fromLowestNamed(history: DlqHistory, named: NamedLetters): Map<number, bigint> {
  const lowestOf = (offsets: readonly bigint[]): bigint => offsets.reduce((low, offset) => (offset < low ? offset : low));
  const everywhere = lowestOf(named.all.map(({ offset }) => offset));
  return new Map([...history.partitions].map((partition) => {
    const here = named.all.filter((letter) => letter.partition === undefined || letter.partition === partition).map(({ offset }) => offset);
    // A partition no letter is named in holds none to take; read from the lowest named anywhere, as before positions.
    return [partition, here.length > 0 ? lowestOf(here) : everywhere] as const;
  }));
}

/** One metadata call: how many partitions `topic` has. */
async function partitionCountOf(kafka: Kafka, topic: string): Promise<number> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const { topics } = await admin.fetchTopicMetadata({ topics: [topic] });
    return topics[0]?.partitions.length ?? 0;
  } finally {
    await admin.disconnect();
  }
}

/** One metadata call: whether `topic` exists (asked so as not to create it, as a producer's metadata request could). */
async function topicExists(kafka: Kafka, topic: string): Promise<boolean> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    return (await admin.listTopics()).includes(topic);
  } finally {
    await admin.disconnect();
  }
}

/** One re-drive, from the second read of its DLQ on: it gathers the letters it takes into lots, and sends each lot with its record as it fills. */
class RedriveRun {
  private readonly named: NamedLetters | undefined;
  private readonly filter: LetterFilter;
  private readonly source: string | undefined;
  /** Earlier runs' messages and this run's, by `messageForGroupOf`: where each went (`<partition>@<offset>` of this DLQ). */
  private readonly sentFor: Map<string, string>;
  private readonly redriven: LetterSummary[] = [];
  private readonly setAside: SetAsideLetter[] = [];
  private lot: LotEntry[] = [];
  private lotBytes = 0;
  /** Letters this run sends (not those it sets aside, unless its topic is gone): what `limit` counts. */
  private countedTowardLimit = 0;
  /** With --undecodable: letters it leaves as `MAYBE_REDRIVEN` (the run says how many). */
  private maybeRedrivenLeft = 0;
  private unrecorded: number[];

  constructor(
    private readonly kafka: Kafka,
    private readonly dlqTopic: string,
    private readonly history: DlqHistory,
    private readonly options: RedriveOptions & { readonly named: NamedLetters | undefined; readonly sourceMissing: string | undefined },
  ) {
    this.named = options.named;
    this.filter = options.filter ?? {};
    this.source = sourceTopicOf(dlqTopic);
    // Named on purpose, a letter goes again: only a run without offsets stands by what earlier runs sent.
    this.sentFor = this.named ? new Map() : history.sentBefore;
    this.unrecorded = history.unrecorded;
  }

  async go(from: ReadonlyMap<number, bigint>, timeout: { timeoutMs?: number }): Promise<RedriveOutcome> {
    if (this.filter.limit === 0) return this.outcome(false);
    const producer = orbitProducer(this.kafka, { transactionalId: redriveGroupOf(this.dlqTopic), transactionTimeoutMs: REDRIVE_TRANSACTION_TIMEOUT_MS });
    let connected = false;
    // One reader of the originals for the whole run: its group is joined once, at the first lot that has letters to check.
    const originals = this.source === undefined ? undefined : new OriginalsReader(this.kafka, this.source, ownHeadersOf);
    const send = async (entries: readonly LotEntry[]): Promise<void> => {
      if (!connected) {
        await producer.connect();
        connected = true;
      }
      await this.sendLot(producer, await this.checkedAgainstOriginals(originals, entries));
    };
    try {
      try {
        await readTopicToEnd(this.kafka, this.dlqTopic, (message, partition) => this.take(message, partition, send), { groupPrefix: 'orbit-dlq-redrive-read', ...timeout, wholeOrNothing: true, from });
      } catch (error) {
        if (!(error instanceof ReadEnough)) throw error;
        if (error.stopped) return this.outcome(true);
      }
      // Progress only older re-drives committed is recorded now, even with nothing to send: the broker deletes it.
      if (this.lot.length > 0 || this.unrecorded.length > 0) {
        if (this.options.signal?.aborted) return this.outcome(true);
        await send(this.takeLot());
      }
      return this.outcome(false);
    } finally {
      try {
        await originals?.close();
      } finally {
        if (connected) await producer.disconnect();
      }
    }
  }

  private outcome(stopped: boolean): RedriveOutcome {
    return { redriven: this.redriven, setAside: this.setAside, stopped, ...(this.maybeRedrivenLeft > 0 ? { maybeRedrivenLeft: this.maybeRedrivenLeft } : {}) };
  }

  /** Whether letters that could not be decoded go too: named on purpose, or asked for with `--undecodable`. */
  private get undecodableToo(): boolean {
    return this.named !== undefined || this.options.undecodable === true;
  }

  private chooses(letter: DeadLetterEntry): boolean {
    if (this.named) {
      if (this.named.naming(letter.dlqPartition, letter.dlqOffset).length === 0) return false;
    } else if (letter.redriven && !(this.options.undecodable === true && waitsForUndecodable(letter))) {
      // Maybe sent by a release before 2026-12-04: left to an --offset naming it, after a look at its consumer (bug reread: it went twice).
      if (this.options.undecodable === true && letterState(letter) === MAYBE_REDRIVEN && letterMatches(letter, this.filter)) this.maybeRedrivenLeft += 1;
      return false;
    }
    return letterMatches(letter, this.filter);
  }

  private async take(message: KafkaMessage, partition: number, send: (entries: readonly LotEntry[]) => Promise<void>): Promise<void> {
    if (isRecord(message)) return;
    // One taken that is a duplicate is set aside as such by `entryOf`, as before.
    const letter = letterOf(this.dlqTopic, partition, message, this.history.records.get(partition));
    if (!this.chooses(letter)) return;
    const entry = this.entryOf(letter);
    const size = entry.reason === undefined ? letterBytes(letter) : 0;
    if (lotIsFull(this.lot.length, this.lotBytes, size)) {
      if (this.options.signal?.aborted) throw new ReadEnough(true);
      await send(this.takeLot());
    }
    this.lot.push(entry);
    this.lotBytes += size;
    // An operator's --limit 10 means ten letters sent: counting those set aside too, ten wrong-topic letters at the head sent none.
    // With its topic gone none can be sent, and the limit bounds what is read instead (it read the whole DLQ: bug review).
    if (entry.reason === undefined || this.options.sourceMissing !== undefined) this.countedTowardLimit += 1;
    if (this.filter.limit !== undefined && this.countedTowardLimit >= this.filter.limit) throw new ReadEnough(false);
  }

  private entryOf(letter: DeadLetterEntry): LotEntry {
    const narrowed = this.named === undefined && leavesGaps(this.filter);
    if (this.options.sourceMissing !== undefined) {
      return { letter, reason: `its topic ${this.options.sourceMissing} does not exist (deleted or renamed?); it stays pending`, recorded: false };
    }
    const reason = whyNotRedriven(letter, this.undecodableToo);
    if (reason !== undefined) return { letter, reason, recorded: !narrowed };
    const messageForGroup = messageForGroupOf(letter);
    const same = this.sentFor.get(messageForGroup);
    if (same !== undefined) return { letter, reason: `a duplicate: the same message for ${letter.consumerGroup || 'its group'} went with ${this.dlqTopic}/${same}`, recorded: !narrowed, duplicateOf: same };
    this.sentFor.set(messageForGroup, `${letter.dlqPartition}@${letter.dlqOffset}`);
    return { letter, reason: undefined, recorded: true };
  }

  private takeLot(): LotEntry[] {
    const lot = this.lot;
    this.lot = [];
    this.lotBytes = 0;
    return lot;
  }

  /** Each partition the lot dealt with, with its new state, whole: the last record is all a later read takes. */
  private recordsAfter(lot: readonly LotEntry[]): Map<number, PartitionState> {
    const offsets = new Map<number, bigint[]>(this.unrecorded.map((partition) => [partition, []]));
    const unmatched = new Map<number, bigint[]>();
    // Sent by --undecodable: recorded by offset, as if named, or `upTo` alone would have them shown (and taken) as set aside.
    const undecodableSent = new Map<number, bigint[]>();
    for (const entry of lot) {
      if (!entry.recorded) continue;
      const { dlqPartition, dlqOffset } = entry.letter;
      offsets.set(dlqPartition, [...(offsets.get(dlqPartition) ?? []), BigInt(dlqOffset)]);
      if (entry.unmatched) unmatched.set(dlqPartition, [...(unmatched.get(dlqPartition) ?? []), BigInt(dlqOffset)]);
      if (entry.reason === undefined && whyNotRedriven(entry.letter, false) !== undefined) undecodableSent.set(dlqPartition, [...(undecodableSent.get(dlqPartition) ?? []), BigInt(dlqOffset)]);
    }
    const byUpTo = this.named === undefined && !leavesGaps(this.filter);
    return new Map([...offsets].map(([partition, dealt]) => {
      const before = this.history.records.get(partition) ?? { upTo: 0n, byOffset: [] };
      const upTo = dealt.reduce((highest, offset) => (offset + 1n > highest ? offset + 1n : highest), before.upTo);
      const unmatchedNow = mergedRanges(before.unmatched ?? [], unmatched.get(partition) ?? []);
      // What older re-drives committed goes on in every record: their letters are no better known for a record after them.
      const record: PartitionState = {
        ...(before.commitOnlyUpTo !== undefined && before.commitOnlyUpTo > 0n ? { commitOnlyUpTo: before.commitOnlyUpTo } : {}),
        ...(byUpTo ? { upTo, byOffset: mergedRanges(before.byOffset, undecodableSent.get(partition) ?? []) } : { upTo: before.upTo, byOffset: mergedRanges(before.byOffset, dealt) }),
        ...(unmatchedNow.length > 0 ? { unmatched: unmatchedNow } : {}),
      };
      return [partition, record] as const;
    }));
  }

  /**
   * The lot, each letter to send set aside unless the message at the position it names is the one it holds. The
   * messages are read back a lot at a time (by the run's one reader, seeking from one to the next), and only the lot's
   * digests kept.
   */
  private async checkedAgainstOriginals(reader: OriginalsReader | undefined, lot: readonly LotEntry[]): Promise<LotEntry[]> {
    const claims = lot.filter(({ reason, duplicateOf }) => reason === undefined || duplicateOf !== undefined).map(({ letter }) => ({ partition: Number(letter.originalPartition), offset: BigInt(letter.originalOffset) }));
    if (reader === undefined || claims.length === 0) return [...lot];
    // A topic gone since the run began holds no message: each letter is then set aside as naming none, as before.
    const originals = (await reader.digestsAt(claims, this.options.timeoutMs)) ?? new Map<string, never>();
    return lot.map((entry) => {
      const { letter } = entry;
      const position = `${letter.dlqPartition}@${letter.dlqOffset}`;
      const messageForGroup = messageForGroupOf(letter);
      // A duplicate of a letter that did not hold its message (in this lot or the one before: the letter that overflows a
      // lot is taken before that lot is checked; found by a bug reread) is the one to send, if it does: no letter went for it.
      const standsIn = entry.duplicateOf !== undefined && !this.sentFor.has(messageForGroup);
      if (entry.reason !== undefined && !standsIn) return entry;
      const reason = whyNotTheOriginal(letter, originals.get(positionKey(Number(letter.originalPartition), BigInt(letter.originalOffset))));
      if (reason === undefined) {
        this.sentFor.set(messageForGroup, position);
        return { letter, reason: undefined, recorded: true };
      }
      // Not sent, it is no message's re-drive: a genuine letter for the same message after it still goes.
      if (this.sentFor.get(messageForGroup) === position) this.sentFor.delete(messageForGroup);
      return { ...entry, reason, unmatched: true };
    });
  }

  private async sendLot(producer: ReturnType<typeof orbitProducer>, lot: readonly LotEntry[]): Promise<void> {
    const sent = lot.filter(({ reason }) => reason === undefined).map(({ letter }) => letter);
    const recorded = this.recordsAfter(lot);
    if (sent.length > 0 || recorded.size > 0) {
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
                  ...letter.originalHeaders, [REDRIVEN_FROM_HEADER]: positionOf(letter),
                  ...(letter.consumerGroup !== '' ? { [HEADER.redriveGroup]: letter.consumerGroup } : {}),
                },
              }],
            })),
            ...(recorded.size > 0 ? [{
              topic: this.dlqTopic,
              messages: [...recorded].map(([partition, record]) => ({ partition, key: null, value: recordValueWithCommitOnly(record), headers: { [REDRIVE_RECORD_HEADER]: '1' } })),
            }] : []),
          ],
        });
        await transaction.commit();
      } catch (error) {
        await transaction.abort().catch(() => undefined);
        throw error;
      }
    }
    this.unrecorded = [];
    for (const [partition, record] of recorded) this.history.records.set(partition, record);
    for (const { letter, reason } of lot) {
      if (this.options.onDealt) this.options.onDealt(summaryOf(letter), reason);
      else if (reason === undefined) this.redriven.push(summaryOf(letter));
      else this.setAside.push({ letter: summaryOf(letter), reason });
    }
  }
}
