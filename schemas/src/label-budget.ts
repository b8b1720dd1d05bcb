import type { KeyValue } from './events.js';

/**
 * How many bytes of an image's labels and annotations (keys and values, as UTF-8) are kept: what the validator
 * carries beside config.labels, and what a version's view shows of them all. A config may hold megabytes of labels
 * (a CI that writes its whole changelog into one); Harbor and ECR show what fits, and so does ViewPort.
 */
export const LABEL_BUDGET_BYTES = 64 * 1024;

const utf8 = (text: string): Buffer => Buffer.from(text, 'utf8');

/** What one entry costs of a budget: its key and its value, as UTF-8 bytes. */
export const entryBytes = (key: string, value: string): number => Buffer.byteLength(key, 'utf8') + Buffer.byteLength(value, 'utf8');

/**
 * Keys in the order of their UTF-8 bytes (which is code point order): JavaScript's default sort compares UTF-16 code
 * units, which puts an emoji (a surrogate pair) before U+FF01, and a reader in Go or Python would see another order.
 */
export function byKeyBytes(left: string, right: string): number {
  if (left === right) return 0;
  const shorter = Math.min(left.length, right.length);
  let at = 0;
  while (at < shorter && left.charCodeAt(at) === right.charCodeAt(at)) at += 1;
  if (at === shorter) return left.length - right.length;
  const [one, other] = [left.charCodeAt(at), right.charCodeAt(at)];
  // Below the surrogates UTF-16 and UTF-8 agree unit for unit; a surrogate (or a lone one, which UTF-8 writes as U+FFFD) is left to the bytes.
  if (isSurrogate(one) || isSurrogate(other)) return Buffer.compare(utf8(left), utf8(right));
  return one - other;
}

/** A UTF-16 surrogate: half of a code point above U+FFFF, or a lone one. */
const isSurrogate = (unit: number): boolean => unit >= 0xd800 && unit <= 0xdfff;

/** Entries sorted by key (byKeyBytes). */
function sortedByKeyBytes(entries: readonly (readonly [string, string])[]): KeyValue[] {
  return [...entries].sort(([left], [right]) => byKeyBytes(left, right)).map(([key, value]) => ({ key, value }));
}

/** The entries of a label or annotation map, sorted by key (byKeyBytes). */
export function sortedEntries(map: Readonly<Record<string, string>>): KeyValue[] {
  return sortedByKeyBytes(Object.entries(map));
}

/**
 * A byte budget spent on maps one after another, each in key order: an entry that does not fit what is left is
 * left out (and counted), and the walk goes on, so one huge label does not hide the small ones after it. The same
 * maps in the same order always keep the same entries: what the projector keeps is a function of the event alone.
 */
export class LabelBudget {
  private left: number;
  private skipped = 0;

  constructor(bytes: number = LABEL_BUDGET_BYTES) {
    this.left = Math.max(0, Math.floor(bytes));
  }

  /** How many entries were left out so far. */
  get leftOut(): number {
    return this.skipped;
  }

  /**
   * The entries of `map` that fit what is left, sorted by key. An entry dearer than what is left now can never fit
   * (what is left only shrinks), so only the others are sorted: once the budget is spent, a map of 300k labels costs
   * a count, not a sort.
   */
  keep(map: Readonly<Record<string, string>>): KeyValue[] {
    const entries = Object.entries(map);
    const affordable = entries.filter(([key, value]) => entryBytes(key, value) <= this.left);
    this.skipped += entries.length - affordable.length;
    return this.keepSorted(sortedByKeyBytes(affordable));
  }

  /**
   * keep() over entries the caller already sorted by key (byKeyBytes): a caller that spends several budgets on the
   * same maps sorts each once, not once per budget.
   */
  keepSorted(sorted: readonly KeyValue[]): KeyValue[] {
    const kept: KeyValue[] = [];
    for (const entry of sorted) {
      const cost = entryBytes(entry.key, entry.value);
      if (cost > this.left) {
        this.skipped += 1;
        continue;
      }
      this.left -= cost;
      kept.push(entry);
    }
    return kept;
  }

  /** keep(map) as a map again, for an event's Avro map. */
  keepMap(map: Readonly<Record<string, string>>): Record<string, string> {
    return Object.fromEntries(this.keep(map).map(({ key, value }) => [key, value]));
  }
}
