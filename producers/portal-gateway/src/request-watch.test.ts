import { describe, expect, it } from 'vitest';
import { RequestWatch } from './request-watch.js';

/** A request store reduced to what the watch asks: which of these ids are finished. */
function store() {
  const finished = new Set<string>();
  const looks: string[][] = [];
  return {
    finished, looks,
    finishedAmong: async (ids: readonly string[]) => {
      looks.push([...ids]);
      return new Set(ids.filter((id) => finished.has(id)));
    },
  };
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

describe('request watch (long polls)', () => {
  it('answers every waiter soon after its request finishes, with one look per tick for all of them', async () => {
    const requests = store();
    const watch = new RequestWatch({ finishedAmong: requests.finishedAmong, intervalMs: 5, onError: () => undefined });
    const first = watch.until('a', 5_000);
    const sameAgain = watch.until('a', 5_000);
    const other = watch.until('b', 5_000);
    await sleep(30);
    expect(requests.looks.length).toBeGreaterThan(1);
    expect(requests.looks.every((ids) => ids.length === 2)).toBe(true);
    requests.finished.add('a');
    expect(await Promise.all([first, sameAgain])).toEqual([true, true]);
    expect(watch.size).toBe(1);
    requests.finished.add('b');
    expect(await other).toBe(true);
    expect(watch.size).toBe(0);
    const looksWhenIdle = requests.looks.length;
    await sleep(30);
    expect(requests.looks.length).toBe(looksWhenIdle);
  });

  it('gives up at the deadline, when the caller goes away, and for everyone on close', async () => {
    const requests = store();
    const watch = new RequestWatch({ finishedAmong: requests.finishedAmong, intervalMs: 5, onError: () => undefined });
    expect(await watch.until('slow', 20)).toBe(false);
    const gone = new AbortController();
    const abandoned = watch.until('slow', 5_000, gone.signal);
    gone.abort();
    expect(await abandoned).toBe(false);
    const pending = [watch.until('x', 5_000), watch.until('y', 5_000)];
    watch.close();
    expect(await Promise.all(pending)).toEqual([false, false]);
    expect(await watch.until('z', 5_000)).toBe(false);
    expect(watch.size).toBe(0);
  });

  it('keeps waiters through a failed look and reports it', async () => {
    const errors: unknown[] = [];
    let failing = true;
    const watch = new RequestWatch({
      finishedAmong: async (ids) => {
        if (failing) throw new Error('MySQL is away');
        return new Set(ids);
      },
      intervalMs: 5, onError: (error) => errors.push(error),
    });
    const waiting = watch.until('a', 5_000);
    await sleep(20);
    expect(errors.length).toBeGreaterThan(0);
    failing = false;
    expect(await waiting).toBe(true);
  });
});
