import { describe, expect, it } from 'vitest';
import { opsRequestTimeoutMs } from './dlq-cli-deadlines.js';

describe('opsRequestTimeoutMs', () => {
  it('waits about --timeout for each answer, not the services\' 30 s (a silent broker held dlq:list --timeout 5 for five minutes)', () => {
    expect(opsRequestTimeoutMs(8_000)).toBe(8_000);
    expect(opsRequestTimeoutMs(undefined)).toBe(10_000);
  });

  it('keeps a loaded broker\'s answer in a second or two from counting as silence, and never waits longer than the services', () => {
    expect(opsRequestTimeoutMs(500)).toBe(5_000);
    expect(opsRequestTimeoutMs(600_000)).toBe(30_000);
  });
});
