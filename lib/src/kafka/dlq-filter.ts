/** Which letters a list shows or a re-drive takes, besides its DLQ offsets: every field given must match. */
export interface LetterFilter {
  /** The consumer group that wrote the letter (`orbit-dlq-consumer-group`). */
  readonly group?: string;
  /** The reason code it failed with (`orbit-dlq-error-code`, e.g. `ORBIT_ERR_DECODE`). */
  readonly errorCode?: string;
  /** The message's key, as UTF-8 text (an image UID, say). */
  readonly key?: string;
  /** Letters written at or after this time (`orbit-dlq-failed-at`). */
  readonly since?: Date;
  /** Letters written before this time. */
  readonly until?: Date;
  /** Only letters no re-drive has dealt with yet. */
  readonly pending?: boolean;
  /** At most this many letters, the first ones of each partition in DLQ order: listed, or of a re-drive sent (those it sets aside on the way are not counted); when the DLQ's topic is gone, the letters read. */
  readonly limit?: number;
}

/** The parts of a letter a filter looks at. */
export interface FilteredLetter {
  readonly consumerGroup: string;
  readonly errorCode: string;
  readonly key: Buffer | null;
  readonly failedAt: string;
  readonly redriven: boolean;
}

/** Whether `letter` is one `filter` lets through (its `limit` aside: the caller counts). A letter whose time cannot be read matches no time bound. */
export function letterMatches(letter: FilteredLetter, filter: LetterFilter): boolean {
  if (filter.group !== undefined && letter.consumerGroup !== filter.group) return false;
  if (filter.errorCode !== undefined && letter.errorCode !== filter.errorCode) return false;
  if (filter.key !== undefined && letter.key?.toString('utf8') !== filter.key) return false;
  if (filter.pending && letter.redriven) return false;
  if (filter.since === undefined && filter.until === undefined) return true;
  const failedAt = Date.parse(letter.failedAt);
  if (Number.isNaN(failedAt)) return false;
  return (filter.since === undefined || failedAt >= filter.since.getTime()) && (filter.until === undefined || failedAt < filter.until.getTime());
}

/**
 * Whether `filter` leaves out letters of a partition in the middle, not only
 * its tail (`limit`) or what was re-driven already (`pending`): a re-drive so
 * narrowed cannot record "every letter below offset N was dealt with".
 */
export function leavesGaps(filter: LetterFilter): boolean {
  return filter.group !== undefined || filter.errorCode !== undefined || filter.key !== undefined || filter.since !== undefined || filter.until !== undefined;
}
