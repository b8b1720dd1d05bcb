import { PullRefusedError } from '@orbit/lib';

/** How long a whole pull may take: ORBIT_PULL_MIN_DEADLINE_SECONDS and ORBIT_PULL_MIN_BYTES_PER_SECOND. */
export interface PullDeadlineLimits {
  /** The least any pull is given, however small its image. @default 600 */
  readonly minSeconds: number;
  /** The slowest a pull's declared bytes may arrive on average: a big image gets its size at this rate. @default 1048576 (1 MiB/s) */
  readonly minBytesPerSecond: number;
}

const LONGEST_TIMER_MS = 2 ** 31 - 1;

/** What config.ts reads ORBIT_PULL_MIN_DEADLINE_SECONDS and ORBIT_PULL_MIN_BYTES_PER_SECOND as when they are not set. */
export const DEFAULT_PULL_DEADLINE: PullDeadlineLimits = { minSeconds: 600, minBytesPerSecond: 1024 * 1024 };

/**
 * The time a pull of `declaredBytes` may take in all: the longer of the
 * minimum and its bytes at the slowest rate allowed. Before its manifests are
 * read (declaredBytes undefined) the minimum applies.
 */
export function pullDeadlineMs(declaredBytes: number | undefined, limits: PullDeadlineLimits): number {
  const bySize = declaredBytes === undefined ? 0 : Math.ceil((declaredBytes / limits.minBytesPerSecond) * 1000);
  return Math.max(limits.minSeconds * 1000, bySize);
}

/**
 * One pull's deadline. The per-window rate of a blob (minBlobBytesPerWindow)
 * keeps a registry from stalling, not from dripping just above it: 240 KiB
 * every 30 s held a 10 GiB pull for 15 days, and five such pulls held every
 * upload's partition (found by a review). Past the deadline `signal` aborts
 * with the refusal, which closes the client's requests and the blob being
 * read; `expired` is that refusal, for whoever sees another error first.
 */
export class PullDeadline {
  private readonly controller = new AbortController();
  private readonly startedAt: number;
  private declaredBytes: number | undefined;
  private receivedBytes = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly registry: string, private readonly asked: string, private readonly limits: PullDeadlineLimits, private readonly now: () => number = Date.now) {
    this.startedAt = now();
    this.arm();
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  /** The refusal the pull ended with once the deadline passed; undefined before. */
  get expired(): PullRefusedError | undefined {
    return this.controller.signal.aborted ? (this.controller.signal.reason as PullRefusedError) : undefined;
  }

  /** The sizes the manifests declare (blobs, referrers' blobs), once known: a big image is given longer. */
  declare(bytes: number): void {
    this.declaredBytes = bytes;
    if (!this.controller.signal.aborted) this.arm();
  }

  /** Bytes of blobs that came in, for the refusal to say how far the pull got. */
  received(bytes: number): void {
    this.receivedBytes += bytes;
  }

  /** Lets go of the timer once the pull ended, whichever way. */
  end(): void {
    clearTimeout(this.timer);
  }

  private arm(): void {
    clearTimeout(this.timer);
    const leftMs = Math.max(0, this.startedAt + pullDeadlineMs(this.declaredBytes, this.limits) - this.now());
    // setTimeout fires at once past 2^31-1 ms (24.8 days, a 10 GiB image at 5 KiB/s): a longer deadline is waited for in steps.
    this.timer = setTimeout(() => (leftMs > LONGEST_TIMER_MS ? this.arm() : this.controller.abort(this.refusal())), Math.min(leftMs, LONGEST_TIMER_MS));
    // A pull ends the timer; one still pending at exit is no reason to keep the process up.
    this.timer.unref();
  }

  private refusal(): PullRefusedError {
    const deadlineS = pullDeadlineMs(this.declaredBytes, this.limits) / 1000;
    const tookS = Math.round((this.now() - this.startedAt) / 1000);
    const of = this.declaredBytes === undefined ? '' : ` of the ${this.declaredBytes} its manifests declare`;
    const rule = `the longer of ${this.limits.minSeconds} s (ORBIT_PULL_MIN_DEADLINE_SECONDS) and its declared bytes at ${this.limits.minBytesPerSecond} bytes/s (ORBIT_PULL_MIN_BYTES_PER_SECOND)`;
    return new PullRefusedError('REGISTRY_ERROR', `registry ${this.registry} sent ${this.receivedBytes} bytes${of} of ${this.asked} in ${tookS} s, and a pull must end within ${deadlineS} s (${rule}); the pull was stopped and nothing was kept: the registry is too slow for Orbit to pull from, push the image to a faster one or upload it as an archive`);
  }
}
