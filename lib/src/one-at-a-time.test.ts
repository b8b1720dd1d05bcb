import { describe, expect, it } from 'vitest';
import { oneAtATime } from './one-at-a-time.js';

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
