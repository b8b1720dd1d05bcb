import type { Registry } from 'prom-client';
import { dependencyReadiness, DEPENDENCY_REUSE_MS, schemaRegistryCheck, TOPICS, type CheckState, type DependencyCheck, type Logger } from '@orbit/lib';

/**
 * One thing the gateway depends on, asked whether it answers. `gates` is true when the gateway can serve nothing
 * without it. Only those make it not ready: a shared store's outage taking every replica out of the Service would
 * turn the 503s with Retry-After of the requests that need it (and the answers of those that do not) into refused
 * connections.
 */
export type { DependencyCheck };

export interface Readiness {
  readonly ready: boolean;
  readonly dependencies: Readonly<Record<string, CheckState>>;
}

/**
 * How long one round of dependency checks answers every caller. /readyz is open to anyone and each round costs a
 * MySQL query, a Kafka metadata request, an S3 HEAD and a DynamoDB DescribeTable: uncached, 400 calls at concurrency
 * 100 took /v1 from 0.1 s to 2.6-5.6 s and the checks themselves past their timeout. With it, any number of probes
 * and scrapes costs at most one round a second; a second is well under a probe's period (10 s by default).
 */
export const READINESS_REUSE_MS = DEPENDENCY_REUSE_MS;

export interface ReadinessOptions {
  /** @default READINESS_REUSE_MS */
  readonly reuseMs?: number;
  /** Milliseconds of a monotonic clock (tests pass their own). @default performance.now */
  readonly now?: () => number;
  /**
   * Where a dependency's failure (with its full reason) and its recovery are said, once each, by whichever round saw
   * them: a probe's or a scrape's. /readyz, open to anyone, shows none of it (app.ts drops even the codes-only reason):
   * a driver's words carry internal host names, addresses and account names ("Access denied for user 'orbit'@'10.0.3.7'").
   */
  readonly logger?: Pick<Logger, 'warn' | 'info'>;
}

/**
 * The consumers' dependency readiness (one round at a time for every caller, reused a second, the
 * `orbit_dependency_up` gauge refreshed at each scrape, failures and recoveries logged once) under the key the
 * gateway's /readyz has always answered with, `dependencies`.
 */
export function readinessOf(checks: readonly DependencyCheck[], timeoutMs: number, registry?: Registry, options: ReadinessOptions = {}): () => Promise<Readiness> {
  const report = dependencyReadiness(checks, registry, { timeoutMs, ...options });
  return async () => {
    const { ready, checks: dependencies } = await report();
    return { ready, dependencies };
  };
}

/** What the gateway's codec offers its readiness: the id it keeps once given, and the registry client it asks. */
export interface SchemaSource {
  schemaIdOf(topic: string): Promise<number>;
  readonly registry: { getLatestSchemaId(subject: string): Promise<number> };
}

/**
 * The gateway's two schema checks. `schema-ids` gates: what the gateway needs is the schema's id, kept once given (asked
 * of the registry until then), and a gateway that has it publishes through a registry outage, so the outage does not
 * take every replica out of the Service. `schema-registry` does not: whether the registry answers now, as the consumers
 * show it; the kept id proves nothing later (found by an SRE review: /readyz and orbit_dependency_up said the registry
 * was up all through its outage).
 */
export function schemaChecks(codec: SchemaSource): DependencyCheck[] {
  return [
    { name: 'schema-ids', gates: true, check: () => codec.schemaIdOf(TOPICS.uploadRequested) },
    { ...schemaRegistryCheck(codec.registry, TOPICS.uploadRequested), gates: false },
  ];
}
