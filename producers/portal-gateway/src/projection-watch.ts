import type { Logger } from '@orbit/lib';

export interface ProjectionWatchOptions {
  /** The lost partitions (none on an intact or new projection); see findLostProjection. */
  readonly findLost: () => Promise<readonly string[]>;
  /** Time between two looks. @default 2000 */
  readonly intervalMs?: number;
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
  private failing = false;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(private readonly options: ProjectionWatchOptions) {}

  /** Looks once before resolving, so a gateway started on a lost projection refuses its first request. */
  async start(): Promise<void> {
    await this.look();
    this.schedule();
  }

  /** The lost partitions at the last look; empty when the projection is there. */
  lost(): readonly string[] {
    return this.lostNow;
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.timer);
  }

  private schedule(): void {
    if (this.closed) return;
    // One look at a time: the next is planned when the last has answered.
    this.timer = setTimeout(() => { void this.look().finally(() => this.schedule()); }, this.options.intervalMs ?? 2_000);
    this.timer.unref();
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
    } catch (error) {
      // Kafka or MySQL away: keep the last answer (a store that is away fails the requests that need it anyway), and say so once, not every look.
      if (!this.failing) logger?.warn({ err: error }, 'cannot check whether ViewPort was lost; keeping the last answer until the stores answer');
      this.failing = true;
    }
  }
}
