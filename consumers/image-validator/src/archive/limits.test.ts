import { describe, expect, it } from 'vitest';
import { ByteBudget } from './limits.js';
import { ImageRejection } from './rejections.js';

describe('a running byte limit', () => {
  it('takes exactly its limit and refuses the first byte over it with TOO_LARGE, naming what and the limit', () => {
    const budget = new ByteBudget(1_000, 'decompressed bytes');
    budget.add(600);
    budget.add(400);
    expect(budget.total).toBe(1_000);
    let refusal: unknown;
    try {
      budget.add(1);
    } catch (error) {
      refusal = error;
    }
    expect(refusal).toBeInstanceOf(ImageRejection);
    expect(refusal).toMatchObject({ reasonCode: 'TOO_LARGE', message: 'decompressed bytes exceed the limit of 1000 bytes' });
  });

  it('says so to a stream handler that must not throw: true up to the limit, false past it', () => {
    const budget = new ByteBudget(10, 'JSON entries');
    expect([budget.tryAdd(4), budget.tryAdd(6), budget.tryAdd(1)]).toEqual([true, true, false]);
    budget.release(1);
    expect(budget.total).toBe(10);
  });
});
