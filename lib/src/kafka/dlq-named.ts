/** The letters a re-drive names: `<partition>@<offset>`, as `dlq:list` prints a letter's position, or an offset alone; and the one reader of a letter's position. */
import { OrbitError } from '../errors.js';

/** A letter named by a re-drive: at `offset` of `partition`, or of whichever partition when only the offset was given. */
export interface NamedLetter {
  /** As it is said back: `0@7`, or `7`. */
  readonly asked: string;
  readonly partition: number | undefined;
  readonly offset: bigint;
}

/** A dead letter's position as written: its DLQ when given, its partition when given, and its offset. */
export interface WrittenPosition {
  readonly dlqTopic: string | undefined;
  readonly partition: number | undefined;
  readonly offset: bigint;
}

/** `<dlq>/<partition>@<offset>` as `dlq:list` prints a letter, the same without its DLQ, or an offset alone. */
const POSITION_FORM = /^(?:(?:([^/]+)\/)?(\d+)@)?(\d+)$/;

/**
 * The position `text` writes, in any form POSITION_FORM takes, or undefined when it is none (topic names hold no
 * `/`). Numbers as Kafka writes them: "007" is offset 7. The one reader of a position, for `--offset` and for the
 * `orbit-redriven-from` a re-drive writes on its copies.
 */
export function writtenPositionOf(text: string): WrittenPosition | undefined {
  const [, dlqTopic, partition, offset] = POSITION_FORM.exec(text) ?? [];
  if (offset === undefined) return undefined;
  return { dlqTopic, partition: partition === undefined ? undefined : Number(partition), offset: BigInt(offset) };
}

/** The letter a position names, said back as `<partition>@<offset>` or the offset alone (its DLQ is the re-drive's). */
export function namedLetterAt(position: WrittenPosition): NamedLetter {
  const { partition, offset } = position;
  return { asked: partition === undefined ? `${offset}` : `${partition}@${offset}`, partition, offset };
}

/**
 * The letters named, looked up by offset: a re-drive of 10 000 letters named among 20 000 asks 20 000 times, so a
 * scan of the names for each letter was 200 million comparisons (found by a review: 30 s).
 */
export class NamedLetters {
  readonly all: readonly NamedLetter[];
  private readonly byOffset = new Map<string, NamedLetter[]>();

  constructor(named: readonly NamedLetter[]) {
    this.all = named;
    for (const letter of this.all) {
      const key = letter.offset.toString();
      this.byOffset.set(key, [...(this.byOffset.get(key) ?? []), letter]);
    }
  }

  /** The names that name the letter at `offset` (as Kafka writes it: no leading zero) of `partition`. */
  naming(partition: number, offset: string): NamedLetter[] {
    return (this.byOffset.get(offset) ?? []).filter((named) => named.partition === undefined || named.partition === partition);
  }
}

/** A re-drive named letters no letter of the DLQ is: it sends nothing. */
export class DeadLetterNotFoundError extends OrbitError {
  constructor(readonly dlqTopic: string, readonly offsets: readonly string[]) {
    super('ORBIT_ERR_NO_DEAD_LETTER', `no dead letter at ${offsets.map((asked) => (asked.includes('@') ? asked : `offset ${asked}`)).join(', ')} of ${dlqTopic}; nothing was re-driven`);
  }
}

/**
 * A re-drive named an offset alone in a DLQ of more than one partition: each partition counts its offsets from 0, so
 * `--offset 7` named offset 7 of every partition, and sent letters the operator never looked at. It sends nothing.
 */
export class OffsetWithoutPartitionError extends OrbitError {
  constructor(readonly dlqTopic: string, readonly partitions: number, readonly matches: ReadonlyMap<string, readonly string[]>) {
    // Partitions are read side by side: in partition order, so one run says it as the next.
    const inOrder = (positions: readonly string[]): string[] => [...positions].sort((a, b) => Number.parseInt(a, 10) - Number.parseInt(b, 10));
    const each = [...matches].map(([offset, positions]) => `offset ${offset} is ${inOrder(positions).map((position) => `${dlqTopic}/${position}`).join(', ')}`);
    super('ORBIT_ERR_OFFSET_WITHOUT_PARTITION', `${dlqTopic} has ${partitions} partitions, each counting its offsets from 0: name a letter by <partition>@<offset> (${each.join('; ')}); nothing was re-driven`);
  }
}
