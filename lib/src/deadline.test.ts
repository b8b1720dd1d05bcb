import { describe, expect, it } from 'vitest';
import { answerWithin } from './deadline.js';

describe('answerWithin', () => {
  it('passes on an answer in time, and rejects with the late error (telling onLate) when none comes', async () => {
    expect(await answerWithin(Promise.resolve(7), 50, () => new Error('late'))).toBe(7);
    await expect(answerWithin(Promise.reject(new Error('refused')), 50, () => new Error('late'))).rejects.toThrow('refused');
    let dropped = false;
    await expect(answerWithin(new Promise(() => undefined), 20, () => new Error('late'), () => { dropped = true; })).rejects.toThrow('late');
    expect(dropped).toBe(true);
  });
});
