/** The lines `dlq:list` and `dlq:redrive` print of letters, and the count a list ends with. */
import { letterState, MAYBE_REDRIVEN, positionOf, waitsForUndecodable, whyMaybeRedriven, whySetAside, type LetterSummary } from './kafka/dlq-ops.js';
import { namesNoMessage } from './kafka/dlq-originals.js';

/** A letter as both commands show it: where it is, what it names, and why it failed. */
export function letterLine(letter: LetterSummary): string {
  return [
    positionOf(letter),
    `from ${letter.originalTopic}/${letter.originalPartition}@${letter.originalOffset}`,
    `key=${letter.key?.toString('utf8') ?? '-'}`,
    `group=${letter.consumerGroup}`, `attempts=${letter.attempts}`, `at=${letter.failedAt}`,
    `${letter.errorCode}: ${letter.errorMessage}`,
    ...(letter.omittedValueBytes !== null ? [`(message of ${letter.omittedValueBytes} bytes not kept: too large for the DLQ)`] : []),
    ...(letter.droppedHeaders.length > 0 ? [`(headers without a value not kept: ${letter.droppedHeaders.map((name) => JSON.stringify(name)).join(', ')})`] : []),
  ].join('  ');
}

/** A listed letter with what a person needs to tell it from others: re-driven already, or failing again after a re-drive. */
export function listedLine(letter: LetterSummary): string {
  const why = whySetAside(letter) ?? whyMaybeRedriven(letter);
  return `${letterState(letter)}${why === undefined ? '' : ` (${why})`}  ${letterLine(letter)}${letter.redrivenFrom ? `  (failed again after re-drive of ${letter.redrivenFrom})` : ''}`;
}

/** A listed letter as one JSON object (`--json`): every field the line shows, keys as the text they are. */
export function listedJson(letter: LetterSummary): string {
  return JSON.stringify({
    dlq: letter.dlqTopic, partition: letter.dlqPartition, offset: letter.dlqOffset, state: letterState(letter),
    originalTopic: letter.originalTopic, originalPartition: letter.originalPartition, originalOffset: letter.originalOffset,
    key: letter.key?.toString('utf8') ?? null, group: letter.consumerGroup, attempts: letter.attempts, failedAt: letter.failedAt,
    errorCode: letter.errorCode, errorMessage: letter.errorMessage, redrivenFrom: letter.redrivenFrom, omittedValueBytes: letter.omittedValueBytes,
    setAsideBecause: whySetAside(letter) ?? null, ...(letterState(letter) === MAYBE_REDRIVEN ? { maybeRedrivenBecause: whyMaybeRedriven(letter) } : {}), droppedHeaders: letter.droppedHeaders, originalTimestamp: letter.originalTimestamp || null,
  });
}

/** What a list counts as it prints: every letter, those pending, and those found not to hold the message they name. */
export class ListTally {
  private total = 0;
  private pending = 0;
  private notTheOriginal = 0;
  /** Of those, the letters whose position holds no message (deleted, compacted, never written): maybe genuine. */
  private unchecked = 0;
  /** Letters a re-drive sets aside as undecodable, pending or set aside so already: what `--undecodable` would take. */
  private undecodable = 0;
  /** Undecodable letters a commit-only re-drive dealt with, maybe sent: what `--undecodable` leaves. */
  private maybeRedriven = 0;

  count(letter: LetterSummary): void {
    this.total += 1;
    const state = letterState(letter);
    if (state === 'pending') this.pending += 1;
    if (state === MAYBE_REDRIVEN) this.maybeRedriven += 1;
    if (waitsForUndecodable(letter)) this.undecodable += 1;
    if (letter.notTheOriginal === undefined) return;
    if (namesNoMessage(letter.notTheOriginal)) this.unchecked += 1;
    else this.notTheOriginal += 1;
  }

  /**
   * The list's last line. A letter set aside is not pending: the next re-drive sets it aside. One whose position holds
   * no message is not called forged (a genuine letter whose original was deleted reads so too).
   */
  summary(dlqTopics: number): string {
    const forged = this.notTheOriginal > 0 ? `, ${this.notTheOriginal} set aside as not holding the message they name (forged or altered: a re-drive will not send them)` : '';
    const unchecked = this.unchecked > 0 ? `, ${this.unchecked} set aside as naming a position that holds no message (deleted, compacted or never written: they cannot be checked, and a re-drive will not send them)` : '';
    // Found by an upgrade review: the only way the list and the reason named to re-drive them was one --offset each.
    const undecodable = this.undecodable > 0
      ? `, ${this.undecodable} could not be decoded (ORBIT_ERR_DECODE: a re-drive sets them aside; once every consumer runs a release that decodes them, \`dlq:redrive -- <topic> --undecodable\` re-drives them)`
      : '';
    // Found by a bug reread: counted with those above, they were sent again by --undecodable after a release before 2026-12-04 had sent them.
    const maybe = this.maybeRedriven > 0
      ? `, ${this.maybeRedriven} could not be decoded and may have been re-driven by a release before 2026-12-04 (listed \`maybe re-driven\`: \`--undecodable\` leaves them; \`dlq:redrive -- <topic> --offset <partition>@<offset>\` sends one once its consumer group is found not to have had the message)`
      : '';
    return `${this.total} dead letter(s) in ${dlqTopics} DLQ topic(s), ${this.pending} pending (not re-driven yet)${forged}${unchecked}${undecodable}${maybe}`;
  }
}
