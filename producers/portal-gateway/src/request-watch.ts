/**
 * Long polling for `GET /v1/requests/{id}?wait=`: callers wait for their
 * requests to finish, and one query per tick answers all of them, however
 * many wait. A portal that would otherwise poll every request every few
 * milliseconds (each poll a token check, a status read and an event-log
 * query) sends one request and hears back within one tick of the end.
 */
export interface RequestWatchOptions {
  /** The ids among `requestIds` whose request has finished (succeeded or failed). */
  readonly finishedAmong: (requestIds: readonly string[]) => Promise<ReadonlySet<string>>;
  /** Time between two looks at the store while anyone waits. */
  readonly intervalMs: number;
  /** A failed look is reported here; the waiters stay and the next tick tries again. */
  readonly onError: (error: unknown) => void;
}

type Settle = (finished: boolean) => void;

export class RequestWatch {
  private readonly waiting = new Map<string, Set<Settle>>();
  private timer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(private readonly options: RequestWatchOptions) {}

  /**
   * Resolves true once the request has finished; false when `timeoutMs`
   * passes, `signal` aborts (the caller went away) or the watch closes first.
   */
  until(requestId: string, timeoutMs: number, signal?: AbortSignal): Promise<boolean> {
    if (this.closed || signal?.aborted) return Promise.resolve(false);
    return new Promise<boolean>((resolve) => {
      const settle: Settle = (finished) => {
        clearTimeout(deadline);
        signal?.removeEventListener('abort', abandon);
        const settles = this.waiting.get(requestId);
        settles?.delete(settle);
        if (settles?.size === 0) this.waiting.delete(requestId);
        resolve(finished);
      };
      const abandon = (): void => settle(false);
      const deadline = setTimeout(abandon, timeoutMs);
      signal?.addEventListener('abort', abandon, { once: true });
      const settles = this.waiting.get(requestId) ?? new Set<Settle>();
      settles.add(settle);
      this.waiting.set(requestId, settles);
      this.schedule();
    });
  }

  /** Answers every waiter with false (the gateway is shutting down) and takes no more. */
  close(): void {
    this.closed = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    for (const settles of [...this.waiting.values()]) for (const settle of [...settles]) settle(false);
  }

  /** How many requests are being waited for (for metrics and tests). */
  get size(): number {
    return this.waiting.size;
  }

  private schedule(): void {
    if (this.timer || this.closed || this.waiting.size === 0) return;
    this.timer = setTimeout(() => void this.tick(), this.options.intervalMs);
  }

  private async tick(): Promise<void> {
    const ids = [...this.waiting.keys()];
    try {
      const finished = await this.options.finishedAmong(ids);
      for (const id of finished) for (const settle of [...(this.waiting.get(id) ?? [])]) settle(true);
    } catch (error) {
      this.options.onError(error);
    } finally {
      // Chained, not an interval: a slow look never overlaps the next one.
      this.timer = undefined;
      this.schedule();
    }
  }
}
