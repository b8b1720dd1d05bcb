import { abortableSleep, type Logger } from '@orbit/lib';
import { ProjectionLostRefusal } from './errors.js';

export interface ProjectionWatchOptions {
  /** The lost partitions (none on an intact or new projection); see findLostProjection. */
  readonly findLost: () => Promise<readonly string[]>;
  /** Time between two looks. @default 2000 */
  readonly intervalMs?: number;
  /** How long a look counts as the present for confirm(). @default 250 */
  readonly freshMs?: number;
  /** How long confirm() waits for a look before it takes the last answer (Kafka away makes a look hang on retries). @default 1000 */
  readonly confirmWaitMs?: number;
  readonly logger?: Logger;
}

/**
 * Whether ViewPort was lost, as last seen. While it is, the gateway refuses
 * every request: on empty tables it would answer every earlier request 404
 * and hand a second UID to an existing image name, and what it accepted would
 * stop a rebuild from giving the lost requests back by itself.
 */
export class ProjectionWatch {
  private lostNow: readonly string[] = [];
  private lookedAt = Number.NEGATIVE_INFINITY;
  private looking: Promise<void> | undefined;
  private failing = false;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(private readonly options: ProjectionWatchOptions) {}

  /** Looks once before resolving, so a gateway started on a lost projection refuses its first request. */
  async start(): Promise<void> {
    await this.lookOnce();
    this.schedule();
  }

  /** The lost partitions at the last look; empty when the projection is there. */
  lost(): readonly string[] {
    return this.lostNow;
  }

  /**
   * Looks again unless the last look is a moment old, and refuses with
   * ProjectionLostRefusal when ViewPort is lost. For the answers a lost
   * projection would make wrong (a request or an image not found, a new UID
   * for a name), so that none slips through between two periodic looks, e.g.
   * right after `npm run provision` made the tables again.
   */
  async confirm(): Promise<void> {
    if (Date.now() - this.lookedAt > (this.options.freshMs ?? 250)) {
      const waited = new AbortController();
      await Promise.race([this.lookOnce(), abortableSleep(this.options.confirmWaitMs ?? 1_000, waited.signal)]);
      waited.abort();
    }
    if (this.lostNow.length > 0) throw new ProjectionLostRefusal(this.lostNow);
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.timer);
  }

  private schedule(): void {
    if (this.closed) return;
    // One look at a time: the next is planned when the last has answered.
    this.timer = setTimeout(() => { void this.lookOnce().finally(() => this.schedule()); }, this.options.intervalMs ?? 2_000);
    this.timer.unref();
  }

  /** One look at a time: a caller that comes while one is under way shares it. */
  private lookOnce(): Promise<void> {
    this.looking ??= this.look().finally(() => { this.looking = undefined; });
    return this.looking;
  }

  private async look(): Promise<void> {
    const { logger } = this.options;
    try {
      const lost = await this.options.findLost();
      if (this.failing) logger?.info('can check whether ViewPort was lost again');
      this.failing = false;
      if (lost.length > 0 && this.lostNow.length === 0) {
        logger?.error({ code: 'ORBIT_ERR_PROJECTION_LOST', partitions: lost }, 'ViewPort was lost (empty tables, Kafka past them): refusing requests until `npm run viewport:rebuild` brings it back');
      } else if (lost.length === 0 && this.lostNow.length > 0) {
        logger?.info('ViewPort is back: accepting requests again');
      }
      this.lostNow = lost;
      this.lookedAt = Date.now();
    } catch (error) {
      // Kafka or MySQL away: keep the last answer (a store that is away fails the requests that need it anyway), and say so once, not every look.
      if (!this.failing) logger?.warn({ err: error }, 'cannot check whether ViewPort was lost; keeping the last answer until the stores answer');
      this.failing = true;
    }
  }
}

/**
 * `read` whose misses are confirmed before they are answered: a lookup that
 * finds nothing (by default undefined) waits for `confirm`, which refuses
 * when ViewPort is lost.
 */
export function confirmMisses<A extends unknown[], T>(
  read: (...args: A) => Promise<T>, confirm: () => Promise<void>, isMiss: (found: T) => boolean = (found) => found === undefined,
): (...args: A) => Promise<T> {
  return async (...args) => {
    const found = await read(...args);
    if (isMiss(found)) await confirm();
    return found;
  };
}
