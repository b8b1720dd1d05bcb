import { describe, expect, it } from 'vitest';
import { replacementReason, watchdogIntervalMs } from './consumer-watchdog.js';

const live = { running: true, replacing: false, stalledForMs: undefined, crashedForGood: false };

describe('consumer watchdog', () => {
  it('replaces a consumer that stalled or that kafkajs gave up on, and no other', () => {
    expect(replacementReason(live)).toBeUndefined();
    expect(replacementReason({ ...live, stalledForMs: 61_400 })).toBe('fetched nothing for 61 s with no handler running');
    expect(replacementReason({ ...live, stalledForMs: 61_400, crashedForGood: true })).toBe('crashed, and kafkajs will not restart it');
  });

  it('leaves a stopping loop, or one already replacing its consumer, alone', () => {
    expect(replacementReason({ ...live, running: false, crashedForGood: true })).toBeUndefined();
    expect(replacementReason({ ...live, replacing: true, stalledForMs: 90_000 })).toBeUndefined();
  });

  it('looks a few times per stall allowance, within bounds', () => {
    expect(watchdogIntervalMs(60_000)).toBe(15_000);
    expect(watchdogIntervalMs(10_000)).toBe(2_500);
    expect(watchdogIntervalMs(600)).toBe(250);
    expect(watchdogIntervalMs(600_000)).toBe(15_000);
  });
});
