import { Gauge, type Registry } from 'prom-client';
import { answerWithin } from '@orbit/lib';

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
  readonly error?: string;
}

export interface Readiness {
  readonly ready: boolean;
  readonly dependencies: Readonly<Record<string, DependencyState>>;
}

/** What a check that gave no answer says, without the stack or the library's wrapping. */
function reasonOf(error: unknown): string {
  const fields = typeof error === 'object' && error !== null ? error as { code?: unknown; name?: unknown } : {};
  // The AWS SDK names its errors (NoSuchBucket, ResourceNotFoundException); socket errors carry a code.
  const code = fields.code ?? (fields.name === 'Error' ? undefined : fields.name);
  const message = error instanceof Error ? error.message : String(error);
  return typeof code === 'string' && !message.includes(code) ? `${code}: ${message}` : message;
}

/**
 * Asks every dependency at once, each for at most `timeoutMs` (below a
 * Kubernetes probe's default 1 s), and shows the answers as the
 * `orbit_dependency_up` gauge too.
 */
export function readinessOf(checks: readonly DependencyCheck[], timeoutMs: number, registry?: Registry): () => Promise<Readiness> {
  const gauge = registry === undefined ? undefined : new Gauge({
    name: 'orbit_dependency_up', help: '1 when the dependency answered the last readiness check within its time, else 0', labelNames: ['dependency'], registers: [registry],
  });
  return async () => {
    const states = await Promise.all(checks.map(async ({ name, check, gates }): Promise<[string, DependencyState]> => {
      const started = performance.now();
      const answer = await answerWithin(check(), timeoutMs, () => new Error(`no answer within ${timeoutMs} ms`)).then(() => undefined, (error: unknown) => reasonOf(error));
      const ms = Math.round(performance.now() - started);
      gauge?.set({ dependency: name }, answer === undefined ? 1 : 0);
      return [name, answer === undefined ? { up: true, gates, ms } : { up: false, gates, ms, error: answer }];
    }));
    return { ready: states.every(([, state]) => state.up || !state.gates), dependencies: Object.fromEntries(states) };
  };
}
