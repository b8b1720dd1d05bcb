import { describe, expect, it, vi } from 'vitest';
import { ProjectionWatch } from './projection-watch.js';

describe('ProjectionWatch', () => {
  it('knows a lost projection from its first look, keeps that answer while the stores do not answer, and follows it back', async () => {
    let looks = 0;
    let rebuilt = false;
    const watch = new ProjectionWatch({
      intervalMs: 5,
      findLost: async () => {
        looks += 1;
        if (rebuilt) return [];
        if (looks > 1) throw new Error('connect ECONNREFUSED 127.0.0.1:3306');
        return ['orbit.image.stored/0'];
      },
    });
    await watch.start();
    expect(watch.lost()).toEqual(['orbit.image.stored/0']);
    await vi.waitFor(() => expect(looks).toBeGreaterThanOrEqual(3));
    expect(watch.lost()).toEqual(['orbit.image.stored/0']);
    rebuilt = true;
    await vi.waitFor(() => expect(watch.lost()).toEqual([]));
    watch.close();
  });
});
