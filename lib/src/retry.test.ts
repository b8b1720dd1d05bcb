import { describe, expect, it } from 'vitest';
import { ConfigError, OrbitError, RetryExhaustedError } from './errors.js';
import { retryDelayMs, retryPolicy, withRetry } from './retry.js';

const noJitter = retryPolicy({ initialDelayMs: 100, factor: 2, maxDelayMs: 1_000, jitter: 0, maxAttempts: 5 });

describe('retry policy', () => {
  it('grows delays exponentially up to the ceiling', () => {
    expect([1, 2, 3, 4, 5, 6].map((attempt) => retryDelayMs(noJitter, attempt))).toEqual([100, 200, 400, 800, 1_000, 1_000]);
  });

  it('keeps jittered delays within the spread', () => {
    const policy = retryPolicy({ initialDelayMs: 1_000, jitter: 0.2 });
    expect(retryDelayMs(policy, 1, () => 0)).toBe(800);
    expect(retryDelayMs(policy, 1, () => 1)).toBe(1_200);
  });

  it('rejects a nonsensical policy once, naming every problem', () => {
    expect(() => retryPolicy({ factor: 0.5, jitter: 2 })).toThrow(ConfigError);
    try {
      retryPolicy({ factor: 0.5, jitter: 2 });
    } catch (error) {
      expect((error as ConfigError).problems).toHaveLength(2);
    }
  });
});

describe('withRetry', () => {
  const transient = new OrbitError('T', 'down', { retriable: true });
  const sleep = async (): Promise<void> => {};

  it('retries transient failures until the operation succeeds', async () => {
    let calls = 0;
    const result = await withRetry(async () => {
      calls++;
      if (calls < 3) throw transient;
      return 'ok';
    }, { policy: noJitter, isRetriable: (error) => (error as OrbitError).retriable, sleep });
    expect(result).toBe('ok');
    expect(calls).toBe(3);
  });

  it('rethrows a permanent failure at once', async () => {
    const permanent = new OrbitError('P', 'bad input');
    let calls = 0;
    await expect(withRetry(async () => { calls++; throw permanent; }, { policy: noJitter, isRetriable: () => false, sleep })).rejects.toBe(permanent);
    expect(calls).toBe(1);
  });

  it('gives up after maxAttempts with the attempts and the cause', async () => {
    const failure = withRetry(async () => { throw transient; }, { policy: noJitter, isRetriable: () => true, sleep });
    await expect(failure).rejects.toBeInstanceOf(RetryExhaustedError);
    await failure.catch((error: RetryExhaustedError) => {
      expect(error.attempts).toBe(5);
      expect(error.cause).toBe(transient);
    });
  });
});
