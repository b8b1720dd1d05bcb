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
  /**
   * Letters set aside as they do not hold the message at the position they name (forged, or altered): shown set aside
   * whatever `upTo` and `byOffset` say, and never taken for the message they claim to be. Absent from older records.
   */
  readonly unmatched?: OffsetRanges;
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

/** Whether `offset` is in `ranges`: a binary search, since every letter of a DLQ is looked up in ranges that can be long. */
export function inRanges(ranges: OffsetRanges, offset: bigint): boolean {
  let low = 0;
  let high = ranges.length - 1;
  while (low <= high) {
    const middle = (low + high) >> 1;
    const [from, to] = ranges[middle] ?? [0n, -1n];
    if (offset < from) high = middle - 1;
    else if (offset > to) low = middle + 1;
    else return true;
  }
  return false;
}

/** A record as its message's value holds it: JSON, offsets as decimal strings (Kafka's are 64-bit). */
export function recordValueOf(record: PartitionRecord): string {
  const text = (ranges: OffsetRanges): string[][] => ranges.map(([from, to]) => [from.toString(), to.toString()]);
  const unmatched = record.unmatched ?? [];
  return JSON.stringify({ v: 1, upTo: record.upTo.toString(), byOffset: text(record.byOffset), ...(unmatched.length > 0 ? { unmatched: text(unmatched) } : {}) });
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
  const { v, upTo, byOffset, unmatched } = parsed as { v?: unknown; upTo?: unknown; byOffset?: unknown; unmatched?: unknown };
  if (v !== 1 || !isDecimal(upTo)) return undefined;
  const ranges = rangesOf(byOffset);
  const unmatchedRanges = unmatched === undefined ? [] : rangesOf(unmatched);
  if (ranges === undefined || unmatchedRanges === undefined) return undefined;
  return { upTo: BigInt(upTo), byOffset: ranges, ...(unmatchedRanges.length > 0 ? { unmatched: unmatchedRanges } : {}) };
}

/** Ranges as a record's JSON holds them; undefined for anything else. */
function rangesOf(json: unknown): OffsetRanges | undefined {
  if (!Array.isArray(json)) return undefined;
  const ranges: [bigint, bigint][] = [];
  for (const range of json as unknown[]) {
    if (!Array.isArray(range) || range.length !== 2 || !isDecimal(range[0]) || !isDecimal(range[1])) return undefined;
    ranges.push([BigInt(range[0]), BigInt(range[1])]);
  }
  return mergedRanges(ranges, []);
}
