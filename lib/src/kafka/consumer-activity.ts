/**
 * Tells a kafkajs consumer that has silently stopped from one that is merely
 * idle or busy. A live consumer fetches every maxWaitTime even with nothing to
 * read; twice in CI one fetched nothing for minutes with no handler running,
 * logged nothing, and its disconnect hung. Only a new consumer moved on.
 */

/** What an activity means for liveness. */
export type ActivityKind =
  /** The fetch loop moved: a fetch started or returned, a batch began or ended. */
  | 'progress'
  /** A rebalance began; joining may legitimately wait for other members up to the rebalance timeout. */
  | 'rejoin'
  /** The group was joined (again). */
  | 'joined'
  /** Recorded for the stall report only (a request, a heartbeat, a commit). */
  | 'info';

export interface ActivityEntry {
  readonly at: string;
  readonly what: string;
  readonly detail?: Readonly<Record<string, unknown>>;
}

export interface ConsumerActivityOptions {
  /** No progress for this long, with no handler running, is a stall. */
  readonly stallMs: number;
  /** Extra time allowed while a rebalance is under way. */
  readonly rejoinGraceMs: number;
  /** Entries kept for the report. @default 40 */
  readonly keep?: number;
}

export class ConsumerActivity {
  private lastProgressAt: number;
  private rejoining = false;
  private handling = 0;
  private readonly entries: ActivityEntry[] = [];
  private readonly keep: number;

  constructor(private readonly options: ConsumerActivityOptions, now: number) {
    this.lastProgressAt = now;
    this.keep = options.keep ?? 40;
  }

  note(kind: ActivityKind, what: string, now: number, detail?: Readonly<Record<string, unknown>>): void {
    this.entries.push({ at: new Date(now).toISOString(), what, ...(detail ? { detail } : {}) });
    if (this.entries.length > this.keep) this.entries.shift();
    if (kind === 'info') return;
    this.lastProgressAt = now;
    if (kind === 'rejoin') this.rejoining = true;
    if (kind === 'joined') this.rejoining = false;
  }

  /** A handler (or a batch handler) began: however long it runs, the consumer is busy, not stalled. */
  handlerStarted(): void {
    this.handling += 1;
  }

  /** Its end counts as progress: what follows (heartbeat, commit, the next fetch) is timed from here. */
  handlerEnded(now: number): void {
    this.handling = Math.max(0, this.handling - 1);
    this.lastProgressAt = now;
  }

  /** How long the consumer has been stalled, or undefined while it is live, busy or still in its allowance. */
  stalledForMs(now: number): number | undefined {
    if (this.handling > 0) return undefined;
    const allowedMs = this.options.stallMs + (this.rejoining ? this.options.rejoinGraceMs : 0);
    const sinceMs = now - this.lastProgressAt;
    return sinceMs >= allowedMs ? sinceMs : undefined;
  }

  /** The latest entries, oldest first: what the consumer did last before it stalled. */
  recent(): readonly ActivityEntry[] {
    return [...this.entries];
  }
}

/**
 * The time activity is noted and judged by: milliseconds since the epoch as the process saw it at start, carried on by
 * a monotonic clock. The wall clock (Date.now) steps when time sync corrects it at boot, and a step forward of a
 * minute had the watchdog take a live consumer for one stalled and replace it, and a partition's backoff end move.
 */
export function activityNow(): number {
  return performance.timeOrigin + performance.now();
}
