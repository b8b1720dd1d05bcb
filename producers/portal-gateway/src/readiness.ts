import { Gauge, type Registry } from 'prom-client';
import { checkWithin, sharedFor, type Logger } from '@orbit/lib';

/** One thing the gateway depends on, asked whether it answers. */
export interface DependencyCheck {
  readonly name: string;
  readonly check: () => Promise<unknown>;
  /**
   * True when the gateway can serve nothing without it. Only those make it not ready: a shared store's outage
   * taking every replica out of the Service would turn the 503s with Retry-After of the requests that need it
   * (and the answers of those that do not) into refused connections.
   */
  readonly gates: boolean;
}

export interface DependencyState {
  readonly up: boolean;
  readonly gates: boolean;
  readonly ms: number;
  /** Why it did not answer: the error's code, message and causes (readinessReasonOf), never a secret. */
  readonly error?: string;
}

export interface Readiness {
  readonly ready: boolean;
  readonly dependencies: Readonly<Record<string, DependencyState>>;
}

/**
 * How long one round of dependency checks answers every caller. /readyz is open to anyone and each round costs a
 * MySQL query, a Kafka metadata request, an S3 HEAD and a DynamoDB DescribeTable: uncached, 400 calls at concurrency
 * 100 took /v1 from 0.1 s to 2.6-5.6 s and the checks themselves past their timeout. With it, any number of probes
 * and scrapes costs at most one round a second; a second is well under a probe's period (10 s by default).
 */
export const READINESS_REUSE_MS = 1_000;

export interface ReadinessOptions {
  /** @default READINESS_REUSE_MS */
  readonly reuseMs?: number;
  /** Milliseconds of a monotonic clock (tests pass their own). @default performance.now */
  readonly now?: () => number;
  /**
   * Where a dependency's failure (with its reason) and its recovery are said, once each, by whichever round saw them:
   * a probe's or a scrape's. The reason stays out of /readyz, which is open to anyone: a driver's words carry internal
   * host names, addresses and account names ("Access denied for user 'orbit'@'10.0.3.7'").
   */
  readonly logger?: Pick<Logger, 'warn' | 'info'>;
}

/**
 * Asks every dependency at once, each for at most `timeoutMs` (below a Kubernetes probe's default 1 s), and shows
 * the answers as the `orbit_dependency_up` gauge too. Callers at the same time share one round of checks, and its
 * answer is reused for `reuseMs` after it ends. A scrape of the registry asks too (through the same cache), so the
 * gauge is as fresh as the scrape even when nothing probes /readyz.
 */
export function readinessOf(checks: readonly DependencyCheck[], timeoutMs: number, registry?: Registry, options: ReadinessOptions = {}): () => Promise<Readiness> {
  const reuseMs = options.reuseMs ?? READINESS_REUSE_MS;
  const now = options.now ?? (() => performance.now());
  const gauge = registry === undefined ? undefined : new Gauge({
    name: 'orbit_dependency_up', help: '1 when the dependency answered the last readiness check within its time, else 0 (checked at most once a second, by /readyz or a scrape)',
    labelNames: ['dependency'], registers: [registry],
    // Before each scrape: an answer at most READINESS_REUSE_MS old, not the one of the last /readyz call, however old.
    collect: async () => { await ready(); },
  });
  const lastReasons = new Map<string, string>();
  const logTransition = (name: string, { error, gates }: DependencyState): void => {
    const lastReason = lastReasons.get(name);
    if (error !== undefined && lastReason !== error) options.logger?.warn({ dependency: name, reason: error, gates }, 'a dependency did not answer the readiness check');
    if (error === undefined && lastReason !== undefined) options.logger?.info({ dependency: name, lastReason, gates }, 'a dependency answers the readiness check again');
    if (error === undefined) lastReasons.delete(name);
    else lastReasons.set(name, error);
  };
  const round = async (): Promise<Readiness> => {
    const states = await Promise.all(checks.map(async ({ name, check, gates }): Promise<[string, DependencyState]> => {
      const { up, ms, error } = await checkWithin(check, timeoutMs);
      gauge?.set({ dependency: name }, up ? 1 : 0);
      return [name, error === undefined ? { up, gates, ms: ms ?? 0 } : { up, gates, ms: ms ?? 0, error }];
    }));
    for (const [name, state] of states) logTransition(name, state);
    return { ready: states.every(([, state]) => state.up || !state.gates), dependencies: Object.fromEntries(states) };
  };
  const ready = sharedFor(reuseMs, round, now);
  return ready;
}
