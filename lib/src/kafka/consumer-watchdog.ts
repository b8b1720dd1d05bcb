/**
 * When a consume loop replaces its kafkajs consumer: one that fetched nothing for stallMs with no handler running
 * (twice in CI one did, silently, for minutes), or one kafkajs crashed and will not restart.
 */

/** What the watchdog sees of the loop at one tick. */
export interface WatchedConsumer {
  readonly running: boolean;
  readonly replacing: boolean;
  /** How long the consumer has made no progress beyond its allowance; undefined when it is not stalled (or not joined). */
  readonly stalledForMs: number | undefined;
  readonly crashedForGood: boolean;
}

/** Why the consumer must be replaced now, or undefined when it need not (or a replacement is under way). */
export function replacementReason(seen: WatchedConsumer): string | undefined {
  if (!seen.running || seen.replacing) return undefined;
  if (seen.stalledForMs === undefined && !seen.crashedForGood) return undefined;
  return seen.crashedForGood ? 'crashed, and kafkajs will not restart it' : `fetched nothing for ${Math.round((seen.stalledForMs ?? 0) / 1000)} s with no handler running`;
}

/** How often the watchdog looks: a few times per stall allowance, so a stall is caught soon after it counts. */
export function watchdogIntervalMs(stallMs: number): number {
  return Math.min(15_000, Math.max(250, Math.floor(stallMs / 4)));
}
