/** A dead letter as the dlq commands see it, and the rules on where it may go back to. */
import { createHash } from 'node:crypto';
import type { ErrorCode } from '../errors.js';
import { sourceTopicOf } from '../topics.js';
import type { IHeaders, KafkaMessage } from './client.js';
import { inRanges, REDRIVE_RECORD_HEADER, type PartitionRecord } from './dlq-record.js';
import { droppedHeaderNamesOf, HEADER, headerBytes, headersToStrings } from './headers.js';
import { redrivenFromOf, REDRIVEN_FROM_HEADER } from './redrive-copy.js';

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
  /**
   * Re-driven on purpose by a `dlq:redrive --offset` naming it, or, undecodable, by one with `--undecodable` (recorded
   * in the DLQ, see `REDRIVE_RECORD_HEADER`): what tells a letter such a run sent from one a plain run set aside.
   */
  readonly redrivenByOffset: boolean;
  /** The letter this one was re-driven from (`<dlq>/<partition>@<offset>`; older messages wrote `<dlq>/<partition>/<offset>`, read so too) when it failed again after a re-drive. */
  readonly redrivenFrom: string | null;
  /** The value's length when the letter could not keep the message (too large for the DLQ); null when it did. */
  readonly omittedValueBytes: number | null;
  /** Headers of the message with no value, which neither the letter nor a re-drive's copy has (kafkajs cannot write one). */
  readonly droppedHeaders: readonly string[];
  /** The message's own record timestamp (ms since the epoch, as text); '' on letters written before it was kept. */
  readonly originalTimestamp: string;
  /** Set aside by a re-drive as it does not hold the message at the position it names (see dlq-originals.ts). */
  readonly unmatched: boolean;
  /**
   * Why a pending letter does not hold the message at the position it names, as a list found by reading that message
   * back (`whyNotTheOriginal`): the next re-drive sets it aside so. Absent for a letter not read back, or one that does.
   */
  readonly notTheOriginal?: string;
  /**
   * Dealt with by a re-drive that kept no record in the DLQ, only the re-drive group's committed offset (a release
   * before 2026-12-06): below that offset, not recorded by offset. Such a run before 2026-12-04 (557655d) sent an
   * undecodable letter, a later one set it aside, and the offset does not say which: see `MAYBE_REDRIVEN_REASON`.
   */
  readonly dealtUnrecorded?: boolean;
}

/** A letter as a re-drive reports it: without the message's bytes, which it does not keep once sent. */
export type LetterSummary = Omit<DeadLetterEntry, 'value' | 'originalHeaders'>;

/** What a letter's own headers say of it, whichever DLQ and offset it is at. */
export type LetterFacts = Pick<DeadLetterEntry,
  'originalTopic' | 'originalPartition' | 'originalOffset' | 'errorCode' | 'errorMessage' | 'attempts' | 'consumerGroup' | 'failedAt' | 'omittedValueBytes' | 'redrivenFrom'
  | 'droppedHeaders' | 'originalTimestamp'>;

/** The facts a letter's headers (the `orbit-dlq-*` ones and `orbit-redriven-from`) give; a header missing is an empty field. */
export function letterFactsOf(headers: IHeaders | undefined): LetterFacts {
  const text = headersToStrings(headers);
  return {
    originalTopic: text[HEADER.dlqTopic] ?? '', originalPartition: text[HEADER.dlqPartition] ?? '', originalOffset: text[HEADER.dlqOffset] ?? '',
    errorCode: text[HEADER.dlqError] ?? '', errorMessage: text[HEADER.dlqMessage] ?? '', attempts: text[HEADER.dlqAttempts] ?? '',
    consumerGroup: text[HEADER.dlqGroup] ?? '', failedAt: text[HEADER.dlqFailedAt] ?? '',
    omittedValueBytes: text[HEADER.dlqOmitted] === undefined ? null : Number(text[HEADER.dlqOmitted]),
    redrivenFrom: redrivenFromOf(text[REDRIVEN_FROM_HEADER]),
    droppedHeaders: droppedHeaderNamesOf(text[HEADER.dlqDroppedHeaders]), originalTimestamp: text[HEADER.dlqOriginalTimestamp] ?? '',
  };
}

const DECIMAL = /^\d+$/;

/** The reason code of a letter whose bytes could not be decoded (DecodeError's). */
const UNDECODABLE: ErrorCode = 'ORBIT_ERR_DECODE';

/**
 * Why a re-drive without offsets or `--undecodable` sets an undecodable letter aside. It names the flag: after an
 * upgrade done in another order an old consumer dead-letters every new event it cannot decode, and naming hundreds of
 * letters one `--offset` at a time was the only way back (found by an upgrade review).
 */
export const UNDECODABLE_REASON = 'it could not be decoded, and would fail again while a consumer that cannot decode it runs; once every consumer can, `--undecodable` re-drives such letters (or name its `--offset`)';

/**
 * Why a re-drive should leave `letter` alone, if it should. A letter naming
 * another topic than its DLQ's source must not make a re-drive write there;
 * bytes that could not be decoded fail again in every group (unless taken on
 * purpose, `undecodableToo`: named by offset, or by a re-drive with
 * `--undecodable`, say after the consumers that could not decode them were
 * upgraded); a letter that kept no message has nothing to send. The
 * undecodable rule comes last: a letter taken on purpose still meets every
 * other.
 */
export function whyNotRedriven(letter: Pick<DeadLetterEntry, 'dlqTopic' | 'originalTopic' | 'originalPartition' | 'originalOffset' | 'errorCode' | 'omittedValueBytes'>, undecodableToo: boolean): string | undefined {
  const source = sourceTopicOf(letter.dlqTopic);
  if (source === undefined) return `${letter.dlqTopic} is not a DLQ (<topic>.dlq): there is no topic its letters go back to`;
  if (letter.originalTopic !== source) {
    return `it names ${letter.originalTopic === '' ? 'no topic' : `topic "${letter.originalTopic}"`} as its own; ${letter.dlqTopic} re-drives into ${source} only`;
  }
  if (!DECIMAL.test(letter.originalPartition) || !DECIMAL.test(letter.originalOffset)) {
    return `it names no message of ${source} (partition "${letter.originalPartition}", offset "${letter.originalOffset}"), so it cannot be checked against one`;
  }
  if (letter.omittedValueBytes !== null) {
    return `the message (${letter.omittedValueBytes} bytes) was too large to keep in the letter; it is on ${letter.originalTopic}/${letter.originalPartition}@${letter.originalOffset}`;
  }
  if (letter.errorCode === UNDECODABLE && !undecodableToo) return UNDECODABLE_REASON;
  return undefined;
}

type StateFacts = Pick<DeadLetterEntry, 'redriven' | 'redrivenByOffset' | 'dlqTopic' | 'originalTopic' | 'originalPartition' | 'originalOffset' | 'errorCode' | 'omittedValueBytes'>
  & { readonly unmatched?: boolean; readonly notTheOriginal?: string | undefined; readonly dealtUnrecorded?: boolean | undefined };

/** The day before which a plain re-drive sent undecodable letters too (557655d set them aside from then on). */
const UNDECODABLE_SET_ASIDE_SINCE = '2026-12-04';

/**
 * Why `--undecodable` leaves an undecodable letter a commit-only re-drive dealt with (`dealtUnrecorded`): whether it
 * went is not known, and sending it again gives its consumer the message twice (found by a bug reread: the documented
 * roll-forward path did).
 */
export const MAYBE_REDRIVEN_REASON = `a re-drive of a release before 2026-12-06 dealt with it and kept only its group's committed offset: one before ${UNDECODABLE_SET_ASIDE_SINCE} sent undecodable letters, a later one set them aside, and the offset does not say which; \`--undecodable\` leaves it, \`--offset <partition>@<offset>\` sends it once its consumer group is found not to have had the message`;

/** The state a list shows a letter `MAYBE_REDRIVEN_REASON` is about in: not `set aside`, which would say it did not go. */
export const MAYBE_REDRIVEN = `maybe re-driven (by a release before ${UNDECODABLE_SET_ASIDE_SINCE})`;

export type LetterState = 'pending' | 're-driven' | 'set aside' | typeof MAYBE_REDRIVEN;

/** Why a list shows a letter set aside (`letterState`), as the re-drive that set it aside said; undefined for any other. */
export function whySetAside(letter: StateFacts): string | undefined {
  if (letterState(letter) !== 'set aside') return undefined;
  if (letter.notTheOriginal !== undefined) return letter.notTheOriginal;
  if (letter.unmatched === true) return `it does not hold the message at ${letter.originalTopic} ${letter.originalPartition}@${letter.originalOffset} (or none is there): forged or altered, not re-driven`;
  return whyNotRedriven(letter, letter.redrivenByOffset);
}

/** Why a list shows a letter `MAYBE_REDRIVEN` (`letterState`); undefined for any other. */
export const whyMaybeRedriven = (letter: StateFacts): string | undefined => (letterState(letter) === MAYBE_REDRIVEN ? MAYBE_REDRIVEN_REASON : undefined);

/**
 * How a list shows a letter: `pending` (the next re-drive without offsets
 * takes it), `re-driven` (sent back already), `set aside` (passed over by a
 * re-drive, which said why, or found by a list not to hold the message it
 * names, which the next re-drive sets aside), or `MAYBE_REDRIVEN` (an
 * undecodable letter a commit-only re-drive dealt with: sent or set aside,
 * not known).
 */
export function letterState(letter: StateFacts): LetterState {
  if (letter.unmatched === true || letter.notTheOriginal !== undefined) return 'set aside';
  if (!letter.redriven) return 'pending';
  if (letter.redrivenByOffset) return whyNotRedriven(letter, true) === undefined ? 're-driven' : 'set aside';
  const why = whyNotRedriven(letter, false);
  // A re-drive passes over what it sets aside: past it, such a letter was not sent; recorded by offset (named, or sent by --undecodable), it was, unless nothing could be.
  if (why === undefined) return 're-driven';
  // Only a record tells set aside from sent for an undecodable letter: a committed offset alone does not.
  return why === UNDECODABLE_REASON && letter.dealtUnrecorded === true ? MAYBE_REDRIVEN : 'set aside';
}

/**
 * Whether `letter` waits for a re-drive with `--undecodable`: one not sent yet (pending, or set aside by a re-drive
 * without it) that nothing but being undecodable keeps back, as far as is known (one found not to hold its message is
 * not; nor is one a commit-only re-drive may have sent, `MAYBE_REDRIVEN`). What such a re-drive takes below where
 * earlier ones got, and what a list counts as undecodable (one set aside as a duplicate of a letter that took its
 * message still counts: telling it needs every sent message's hash, which a list does not keep).
 */
export function waitsForUndecodable(letter: StateFacts): boolean {
  if (letter.unmatched === true || letter.notTheOriginal !== undefined) return false;
  const state = letterState(letter);
  if (state === 're-driven' || state === MAYBE_REDRIVEN) return false;
  return whyNotRedriven(letter, false) === UNDECODABLE_REASON;
}

/** The consumer group whose committed offsets on a DLQ marked what was re-driven already, for every DLQ at once (before per-topic groups). */
export const REDRIVE_GROUP = 'orbit-dlq-redrive';

/**
 * The group a re-drive of `dlqTopic` holds while it runs (one per DLQ, so that
 * re-drives of two topics neither wait for nor refuse each other); re-drives
 * before 2026-12-06 recorded their progress in its offsets, still read.
 */
export const redriveGroupOf = (dlqTopic: string): string => `${REDRIVE_GROUP}.${dlqTopic}`;

const DLQ_HEADERS: ReadonlySet<string> = new Set([
  HEADER.dlqError, HEADER.dlqMessage, HEADER.dlqRetriable, HEADER.dlqAttempts, HEADER.dlqTopic, HEADER.dlqPartition, HEADER.dlqOffset, HEADER.dlqGroup, HEADER.dlqFailedAt,
  HEADER.dlqOmitted, HEADER.dlqOmittedSha256, HEADER.dlqDroppedHeaders, HEADER.dlqOriginalTimestamp,
]);

/** A message's headers without those a DLQ writer sets (and so overwrites): what a letter keeps of the message's own. */
export function ownHeadersOf(headers: Record<string, Buffer[]>): Record<string, Buffer[]> {
  return Object.fromEntries(Object.entries(headers).filter(([name]) => !DLQ_HEADERS.has(name)));
}

export const isRecord = (message: KafkaMessage): boolean => message.headers?.[REDRIVE_RECORD_HEADER] !== undefined;

/**
 * A partition's state as a read of its DLQ finds it: its last record, and the offset below which commit-only re-drives
 * (releases before 2026-12-06: the re-drive group's committed offset, no record) dealt with letters.
 */
export type PartitionState = PartitionRecord & { readonly commitOnlyUpTo?: bigint };

/** The letter a DLQ message is, in the state `record` (its partition's) gives it. */
export function letterOf(dlqTopic: string, partition: number, message: KafkaMessage, record: PartitionState | undefined): DeadLetterEntry {
  const offset = BigInt(message.offset);
  const byOffset = inRanges(record?.byOffset ?? [], offset);
  const dealtUnrecorded = !byOffset && offset < (record?.commitOnlyUpTo ?? 0n);
  return {
    ...(dealtUnrecorded ? { dealtUnrecorded } : {}),
    ...letterFactsOf(message.headers),
    dlqTopic, dlqPartition: partition, dlqOffset: message.offset,
    key: message.key, value: message.value,
    originalHeaders: ownHeadersOf(headerBytes(message.headers)),
    redriven: offset < (record?.upTo ?? 0n) || byOffset, redrivenByOffset: byOffset, unmatched: inRanges(record?.unmatched ?? [], offset),
  };
}

/** A letter without its bytes. Its key is copied: kafkajs hands out slices of the whole fetched batch, which one kept key keeps whole. */
export const summaryOf = ({ value: _value, originalHeaders: _headers, key, ...summary }: DeadLetterEntry): LetterSummary => ({ ...summary, key: key === null ? null : Buffer.from(key) });

/**
 * The message a letter holds, for the group that failed on it: a re-drive goes once per such message. A digest, one
 * short flat string: a re-drive keeps one per message sent in the DLQ's whole history.
 */
export const messageForGroupOf = (letter: Pick<DeadLetterEntry, 'consumerGroup' | 'originalTopic' | 'originalPartition' | 'originalOffset'>): string =>
  createHash('sha256').update(JSON.stringify([letter.consumerGroup, letter.originalTopic, letter.originalPartition, letter.originalOffset])).digest('base64').slice(0, 24);
