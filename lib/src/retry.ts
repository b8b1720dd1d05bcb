import { ConfigError, RetryExhaustedError } from './errors.js';

/** How a failing operation is retried. Validated once by `retryPolicy()`. */
export interface RetryPolicy {
  /** Delay before the first retry. @default 200 */
  readonly initialDelayMs: number;
  /** Growth of the delay per attempt. @default 2 */
  readonly factor: number;
  /** Ceiling of any single delay. @default 30000 */
  readonly maxDelayMs: number;
  /** Attempts in total, the first included; Infinity retries until stopped. @default Infinity */
  readonly maxAttempts: number;
  /** Fraction of each delay drawn at random, so replicas do not retry in step. @default 0.2 */
  readonly jitter: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = {
  initialDelayMs: 200,
  factor: 2,
  maxDelayMs: 30_000,
  maxAttempts: Number.POSITIVE_INFINITY,
  jitter: 0.2,
};

export function retryPolicy(overrides: Partial<RetryPolicy> = {}, base: RetryPolicy = DEFAULT_RETRY_POLICY): RetryPolicy {
  const policy = { ...base, ...overrides };
  const problems: string[] = [];
  if (!(policy.initialDelayMs >= 0)) problems.push('retry initialDelayMs must be >= 0');
  if (!(policy.factor >= 1)) problems.push('retry factor must be >= 1');
  if (!(policy.maxDelayMs >= policy.initialDelayMs)) problems.push('retry maxDelayMs must be >= initialDelayMs');
  if (!(policy.maxAttempts >= 1)) problems.push('retry maxAttempts must be >= 1');
  if (!(policy.jitter >= 0 && policy.jitter <= 1)) problems.push('retry jitter must be within [0, 1]');
  if (problems.length > 0) throw new ConfigError(problems);
  return Object.freeze(policy);
}

/** Delay before retry number `attempt` (1 = the first retry). `random` is injectable for tests. */
export function retryDelayMs(policy: RetryPolicy, attempt: number, random: () => number = Math.random): number {
  const exponential = policy.initialDelayMs * policy.factor ** Math.max(0, attempt - 1);
  const capped = Math.min(policy.maxDelayMs, exponential);
  const spread = capped * policy.jitter;
  return Math.max(0, Math.round(capped - spread + random() * 2 * spread));
}

export interface RetryOptions {
  readonly policy?: RetryPolicy;
  /** Decides per error whether another attempt makes sense. */
  readonly isRetriable: (error: unknown) => boolean;
  readonly onRetry?: (info: { attempt: number; delayMs: number; error: unknown }) => void;
  readonly signal?: AbortSignal;
  readonly sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
}

/**
 * Runs `operation` until it succeeds, fails with a non-retriable error (rethrown
 * as is), or the policy is exhausted (RetryExhaustedError with attempts and cause).
 */
export async function withRetry<T>(operation: (attempt: number) => Promise<T>, options: RetryOptions): Promise<T> {
  const policy = options.policy ?? DEFAULT_RETRY_POLICY;
  const sleep = options.sleep ?? abortableSleep;
  for (let attempt = 1; ; attempt++) {
    try {
      return await operation(attempt);
    } catch (error) {
      if (!options.isRetriable(error)) throw error;
      if (attempt >= policy.maxAttempts) throw new RetryExhaustedError(attempt, error);
      if (options.signal?.aborted) throw new RetryExhaustedError(attempt, error);
      const delayMs = retryDelayMs(policy, attempt);
      options.onRetry?.({ attempt, delayMs, error });
      await sleep(delayMs, options.signal);
    }
  }
}

export function abortableSleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}
