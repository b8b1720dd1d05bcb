/** How many letters, and bytes of them, a re-drive (and a list checking them) deals with at once. */
import type { DeadLetterEntry } from './dlq-letter.js';

/**
 * Letters sent, with the record of their progress, in one Kafka transaction:
 * the letters and the record become visible together or not at all (to
 * read_committed readers: Orbit's consumers, and the DLQ reads here), so a
 * re-drive stopped at any moment, SIGKILL included, sends nothing twice. It
 * sent every letter first and recorded after, and one stopped in between sent
 * them all again on the next run.
 */
export const LETTERS_PER_TRANSACTION = 200;

/**
 * The most bytes of letters (keys, values, headers) one lot holds. kafkajs writes a partition's share of a lot as
 * one record batch, and the broker holds the whole batch to the topic's max.message.bytes (1 MiB for the lifecycle
 * topics): three letters of 400 KB for one partition were refused together, and the re-drive failed at that lot on
 * every run. A letter larger than this goes in a lot of its own.
 */
export const LOT_BYTES = 768 * 1024;

/** The bytes a letter adds to a record batch, near enough: its key, value and headers. */
export function letterBytes(letter: DeadLetterEntry): number {
  const headers = Object.entries(letter.originalHeaders).reduce((sum, [name, values]) => sum + values.reduce((total, value) => total + name.length + value.length + 16, 0), 0);
  return (letter.key?.length ?? 0) + (letter.value?.length ?? 0) + headers + 256;
}

/** Whether a lot of `count` letters and `bytes` bytes is full before a letter of `size` bytes: a letter goes in a lot of its own at least. */
export const lotIsFull = (count: number, bytes: number, size: number): boolean => count > 0 && (count >= LETTERS_PER_TRANSACTION || bytes + size > LOT_BYTES);

/** `letters` in order, cut into lots of at most LETTERS_PER_TRANSACTION letters and LOT_BYTES bytes (one letter at least each). */
export function lotsOf<T>(letters: readonly T[], bytesOf: (letter: T) => number): T[][] {
  const lots: T[][] = [];
  let lot: T[] = [];
  let bytes = 0;
  for (const letter of letters) {
    const size = bytesOf(letter);
    if (lotIsFull(lot.length, bytes, size)) {
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
