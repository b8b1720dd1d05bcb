import { describe, expect, it, vi } from 'vitest';
import { PullRefusedError } from '@orbit/lib';
import { DEFAULT_PULL_DEADLINE, PullDeadline, pullDeadlineMs } from './pull-deadline.js';

const GiB = 1024 ** 3;

describe('pullDeadlineMs', () => {
  it('gives a pull the longer of 600 s and its declared bytes at 1 MiB/s, the minimum before its manifests are read (review: a 10 GiB pull dripping at 8 KiB/s ran ~15 days)', () => {
    expect(pullDeadlineMs(undefined, DEFAULT_PULL_DEADLINE)).toBe(600_000);
    expect(pullDeadlineMs(50 * 1024 * 1024, DEFAULT_PULL_DEADLINE)).toBe(600_000);
    expect(pullDeadlineMs(GiB, DEFAULT_PULL_DEADLINE)).toBe(1_024_000);
    expect(pullDeadlineMs(10 * GiB, DEFAULT_PULL_DEADLINE)).toBe(10_240_000);
    expect(pullDeadlineMs(1000, { minSeconds: 2, minBytesPerSecond: 100 })).toBe(10_000);
    expect(pullDeadlineMs(1001, { minSeconds: 2, minBytesPerSecond: 100 })).toBe(10_010);
  });
});

describe('PullDeadline', () => {
  it('aborts at the deadline with REGISTRY_ERROR naming the registry, the bytes in, the time taken and the deadline, and is given longer once a big image is declared', () => {
    vi.useFakeTimers();
    try {
      // 1. a pull started with the minimum (2 s); 2. its manifests declare 1000 bytes at 100 bytes/s: 10 s; 3. 300 bytes come in
      const deadline = new PullDeadline('slow.example:5000', 'slow.example:5000/team/app:1', { minSeconds: 2, minBytesPerSecond: 100 });
      deadline.declare(1000);
      deadline.received(300);
      vi.advanceTimersByTime(9_999);
      expect(deadline.signal.aborted).toBe(false);
      vi.advanceTimersByTime(1);
      const refusal = deadline.expired;
      expect(refusal).toBeInstanceOf(PullRefusedError);
      expect(refusal).toMatchObject({ reasonCode: 'REGISTRY_ERROR' });
      expect(deadline.signal.reason).toBe(refusal);
      expect(refusal?.message).toMatch(/^registry slow\.example:5000 sent 300 bytes of the 1000 its manifests declare of slow\.example:5000\/team\/app:1 in 10 s, and a pull must end within 10 s \(the longer of 2 s \(ORBIT_PULL_MIN_DEADLINE_SECONDS\) and its declared bytes at 100 bytes\/s \(ORBIT_PULL_MIN_BYTES_PER_SECOND\)\)/);
    } finally {
      vi.useRealTimers();
    }
  });

  it('keeps to a deadline past what one timer can hold (2^31 ms, 24.8 days) instead of firing at once', () => {
    vi.useFakeTimers();
    try {
      const deadline = new PullDeadline('r', 'r/a:1', { minSeconds: 1, minBytesPerSecond: 1 });
      deadline.declare(30 * 86_400);
      vi.advanceTimersByTime(25 * 86_400_000);
      expect(deadline.signal.aborted).toBe(false);
      vi.advanceTimersByTime(5 * 86_400_000);
      expect(deadline.signal.aborted).toBe(true);
    } finally {
      vi.useRealTimers();
    }
  });

  it('lets go of its timer once the pull ended', () => {
    vi.useFakeTimers();
    try {
      const deadline = new PullDeadline('r', 'r/a:1', { minSeconds: 1, minBytesPerSecond: 1 });
      deadline.end();
      vi.advanceTimersByTime(5_000);
      expect(deadline.signal.aborted).toBe(false);
    } finally {
      vi.useRealTimers();
    }
  });
});
