import { describe, expect, it, vi } from 'vitest';
import { activityNow, ConsumerActivity } from './consumer-activity.js';

const watch = (keep?: number): ConsumerActivity => new ConsumerActivity({ stallMs: 60_000, rejoinGraceMs: 90_000, ...(keep ? { keep } : {}) }, 0);

describe('ConsumerActivity', () => {
  it('calls a consumer with no fetch for stallMs and no handler running stalled, and says for how long', () => {
    const activity = watch();
    activity.note('progress', 'fetch_start', 10_000);
    expect(activity.stalledForMs(69_999)).toBeUndefined();
    expect(activity.stalledForMs(75_000)).toBe(65_000);
  });

  it('never calls a consumer stalled while a handler runs, however long', () => {
    const activity = watch();
    activity.handlerStarted();
    expect(activity.stalledForMs(3_600_000)).toBeUndefined();
    activity.handlerEnded(3_600_000);
    expect(activity.stalledForMs(3_600_000 + 59_000)).toBeUndefined();
    expect(activity.stalledForMs(3_600_000 + 61_000)).toBe(61_000);
  });

  it('counts concurrent handlers: one ending while another runs leaves the consumer busy', () => {
    const activity = watch();
    activity.handlerStarted();
    activity.handlerStarted();
    activity.handlerEnded(1_000);
    expect(activity.stalledForMs(500_000)).toBeUndefined();
  });

  it('gives a rebalance its grace until the group is joined again', () => {
    const activity = watch();
    activity.note('rejoin', 'rebalancing', 0);
    expect(activity.stalledForMs(120_000)).toBeUndefined();
    expect(activity.stalledForMs(150_000)).toBe(150_000);
    activity.note('joined', 'group_join', 150_000);
    expect(activity.stalledForMs(150_000 + 61_000)).toBe(61_000);
  });

  it('does not count requests, heartbeats or commits as the fetch loop moving', () => {
    const activity = watch();
    activity.note('info', 'heartbeat', 50_000);
    activity.note('info', 'request', 55_000, { apiName: 'Heartbeat' });
    expect(activity.stalledForMs(61_000)).toBe(61_000);
  });

  it('keeps the latest entries, oldest first, for the report', () => {
    const activity = watch(3);
    for (const [index, what] of ['a', 'b', 'c', 'd'].entries()) activity.note('info', what, index * 1000, { index });
    expect(activity.recent()).toEqual([
      { at: '1970-01-01T00:00:01.000Z', what: 'b', detail: { index: 1 } },
      { at: '1970-01-01T00:00:02.000Z', what: 'c', detail: { index: 2 } },
      { at: '1970-01-01T00:00:03.000Z', what: 'd', detail: { index: 3 } },
    ]);
  });
});

describe('activityNow', () => {
  it('goes on from the process start, whatever the wall clock is stepped to meanwhile (a step forward replaced a live consumer)', () => {
    const before = activityNow();
    const stepped = vi.spyOn(Date, 'now').mockReturnValue(Date.now() + 3_600_000);
    try {
      const after = activityNow();
      expect(after - before).toBeGreaterThanOrEqual(0);
      expect(after - before).toBeLessThan(1_000);
    } finally {
      stepped.mockRestore();
    }
    // Still a time of day for the stall report's entries.
    expect(Math.abs(activityNow() - Date.now())).toBeLessThan(60_000);
  });
});
