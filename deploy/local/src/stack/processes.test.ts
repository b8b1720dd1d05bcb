import { describe, expect, it } from 'vitest';
import { stopGraceMs } from './processes.js';

describe('stopGraceMs', () => {
  it('defaults to 20 s and ignores values that are not a duration', () => {
    expect(stopGraceMs({})).toBe(20_000);
    expect(stopGraceMs({ ORBIT_STOP_GRACE_MS: 'soon' })).toBe(20_000);
    expect(stopGraceMs({ ORBIT_STOP_GRACE_MS: '-1' })).toBe(20_000);
    expect(stopGraceMs({ ORBIT_STOP_GRACE_MS: '5000' })).toBe(5_000);
  });
});
