import { describe, expect, it } from 'vitest';
import { oneAtATime, sharedFor } from './one-at-a-time.js';

describe('oneAtATime', () => {
  it('starts no second run while the first is under way, and runs again once it has ended, failed or not', async () => {
    let starts = 0;
    let finish: (value: number) => void = () => undefined;
    const sweep = oneAtATime(() => {
      starts += 1;
      return new Promise<number>((resolve) => { finish = resolve; });
    });
    const first = sweep();
    expect(await sweep()).toBeUndefined();
    expect(starts).toBe(1);
    finish(7);
    expect(await first).toBe(7);
    const failing = oneAtATime(async () => { starts += 1; throw new Error('away'); });
    await expect(failing()).rejects.toThrow('away');
    await expect(failing()).rejects.toThrow('away');
    expect(starts).toBe(3);
  });
});

describe('sharedFor', () => {
  it('shares one run among callers, reuses its answer for the given time, and does not keep a failure', async () => {
    let clock = 0;
    let runs = 0;
    let fail = false;
    const shared = sharedFor(1_000, async () => {
      runs += 1;
      if (fail) throw new Error('down');
      return runs;
    }, () => clock);
    expect(await Promise.all([shared(), shared(), shared()])).toEqual([1, 1, 1]);
    clock = 999;
    expect(await shared()).toBe(1);
    clock = 1_000;
    fail = true;
    await expect(shared()).rejects.toThrow('down');
    fail = false;
    expect(await shared()).toBe(3);
    expect(runs).toBe(3);
  });
});
