import { HeadBucketCommand, type S3Client } from '@aws-sdk/client-s3';
import { STATUS_CODES } from 'node:http';
import { Gauge, type Registry } from 'prom-client';
import { tableAnswers } from './aws.js';
import { subjectOf } from './codec.js';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { causeChainOf, httpStatusOf } from './error-description.js';
import { OrbitError } from './errors.js';
import { checkWithin, READINESS_CHECK_TIMEOUT_MS, type CheckState, type ReadinessReport } from './health-server.js';
import type { Logger } from './logger.js';
import { sharedFor } from './one-at-a-time.js';
import { isInsecureRegistry, type RegistryAccess } from './registry/access.js';
import { SchemaBehindError } from './schema-migrations.js';
import { distributionAddress } from './registry/docker-hub.js';

/**
 * One thing a consumer depends on, asked whether it answers: shown in /readyz under `shownAs` (default `name`) and as
 * `orbit_dependency_up{dependency=name}`.
 *
 * Whether it gates (makes the consumer NOT READY) follows the gateway's choice for the same kind of dependency
 * (producers/portal-gateway/src/main.ts): a consumer's readiness routes no traffic, but a rolling deploy waits for it,
 * and a kubelet does not restart on it. So:
 * - the schema registry gates, as the gateway's does: a replica that cannot fetch a writer's schema decodes nothing
 *   new (a chart-generator started during an outage said ready and could not decode a message), while the replicas it
 *   would replace keep the schemas they cached; holding the rollout keeps those;
 * - S3, DynamoDB and the image registry do not, as at the gateway: they are shared, so every replica, old and new,
 *   is as stuck; a rollout held for them mends nothing (the consume loop backs off and retries by itself) and would
 *   hold the very deploy that may be the fix. They are shown, with the reason, and their gauge is what to alert on;
 * - consuming (Kafka, the loop's state) gates as before: it is the service's own work, not a shared store, and a
 *   replica that never joins its group should hold a rollout.
 */
export interface DependencyCheck {
  readonly name: string;
  /** The key in /readyz's `checks`, when not `name` (Kafka's is `consuming`, the key /readyz has always used). */
  readonly shownAs?: string;
  readonly check: () => Promise<unknown>;
  readonly gates: boolean;
}

/**
 * A check's failure in words fit for /readyz as they are: thrown by a check of this module (a registry's status, the
 * consume loop's state), never a driver's message.
 */
export class DependencyDownError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DependencyDownError';
  }
}

/**
 * How long one round of checks answers every caller (probes, scrapes): as the gateway's READINESS_REUSE_MS, so any
 * number of probes and scrapes costs each store at most one call a second.
 */
export const DEPENDENCY_REUSE_MS = 1_000;

/** What a network error code means, for an operator who does not know it by heart. */
const NETWORK_WORDS: Readonly<Record<string, string>> = {
  ECONNREFUSED: 'connection refused', ECONNRESET: 'connection reset', ETIMEDOUT: 'timed out', ENOTFOUND: 'host name not found',
  EAI_AGAIN: 'host name lookup failed', EHOSTUNREACH: 'host unreachable', ENETUNREACH: 'network unreachable', EPIPE: 'connection closed',
  ECONNABORTED: 'connection aborted', UND_ERR_SOCKET: 'connection closed', UND_ERR_CONNECT_TIMEOUT: 'connect timed out',
};

/** Names that say nothing by themselves. */
const PLAIN_NAMES = new Set(['Error', 'TypeError', 'RangeError', 'AggregateError', 'SyntaxError', 'Unknown', 'UnknownError']);

/** One error of a chain as codes only: its code or name and HTTP status, never its message (hosts, accounts, keys). */
function safeLevel(error: unknown): string | undefined {
  if (error instanceof DependencyDownError) return error.message;
  if (!(error instanceof Error)) return undefined;
  // Orbit's own words naming the migrations a database lacks (docs/errors.md: /readyz names the migration).
  if (error instanceof SchemaBehindError) return `${error.code}: ${error.message}`;
  if (error instanceof OrbitError) return error.code;
  const { code, status } = error as { code?: unknown; status?: unknown };
  const httpStatus = httpStatusOf(error) ?? (typeof status === 'number' ? status : undefined);
  const parts: string[] = [];
  if (typeof code === 'string' && /^[A-Z][A-Z0-9_]{1,63}$/.test(code)) parts.push(NETWORK_WORDS[code] ? `${code} (${NETWORK_WORDS[code]})` : code);
  else if (!PLAIN_NAMES.has(error.name) && /^[A-Za-z][A-Za-z0-9]{1,63}$/.test(error.name)) parts.push(error.name);
  if (httpStatus !== undefined) parts.push(`HTTP ${httpStatus}${STATUS_CODES[httpStatus] ? ` ${STATUS_CODES[httpStatus]}` : ''}`);
  return parts.length > 0 ? parts.join(' ') : undefined;
}

/**
 * Why a dependency is down, for /readyz: the codes down the error's chain (`ECONNREFUSED (connection refused)`,
 * `NoSuchBucket HTTP 404 Not Found`, `ORBIT_ERR_STORE_UNAVAILABLE <- AccessDeniedException HTTP 400 Bad Request`),
 * never a driver's words, which carry host names, addresses and account names; those are logged (readinessReasonOf).
 */
export function shownReasonOf(error: unknown): string {
  const parts: string[] = [];
  for (const level of causeChainOf(error).map(safeLevel)) if (level !== undefined && level !== parts[parts.length - 1]) parts.push(level);
  return parts.length > 0 ? parts.join(' <- ') : 'failed (the reason is in the log)';
}

/** One dependency's answer in /readyz: a CheckState, gating or not, with a reason safe to show. */
export interface DependencyState extends CheckState {
  readonly gates: boolean;
}

export interface DependencyReadinessOptions {
  /** @default READINESS_CHECK_TIMEOUT_MS */
  readonly timeoutMs?: number;
  /** @default DEPENDENCY_REUSE_MS */
  readonly reuseMs?: number;
  /** Milliseconds of a monotonic clock (tests pass their own). @default performance.now */
  readonly now?: () => number;
  /** Where a failure is said with its full reason (once per new reason), and a recovery. */
  readonly logger?: Pick<Logger, 'warn' | 'info'>;
}

/**
 * Asks every dependency at once, each for at most `timeoutMs`, and shows the answers as a ReadinessReport (ready
 * unless a gating one is down) and as the `orbit_dependency_up` gauge of `registry`. Callers at the same time share
 * one round, reused for `reuseMs` after it ends; a scrape asks through the same cache, so the gauge is fresh
 * even when nothing probes /readyz.
 */
export function dependencyReadiness(checks: readonly DependencyCheck[], registry: Registry | undefined, options: DependencyReadinessOptions = {}): () => Promise<ReadinessReport> {
  const timeoutMs = options.timeoutMs ?? READINESS_CHECK_TIMEOUT_MS;
  const reuseMs = options.reuseMs ?? DEPENDENCY_REUSE_MS;
  const now = options.now ?? (() => performance.now());
  const gauge = registry === undefined ? undefined : new Gauge({
    name: 'orbit_dependency_up', help: '1 when the dependency answered the last readiness check within its time, else 0 (checked at most once a second, by /readyz or a scrape)',
    labelNames: ['dependency'], registers: [registry],
    collect: async () => { await ready(); },
  });
  const lastReasons = new Map<string, string>();
  const logTransition = (name: string, gates: boolean, reason: string | undefined): void => {
    const lastReason = lastReasons.get(name);
    if (reason !== undefined && lastReason !== reason) options.logger?.warn({ dependency: name, reason, gates }, 'a dependency did not answer the readiness check');
    if (reason === undefined && lastReason !== undefined) options.logger?.info({ dependency: name, lastReason, gates }, 'a dependency answers the readiness check again');
    if (reason === undefined) lastReasons.delete(name);
    else lastReasons.set(name, reason);
  };
  const one = async ({ name, shownAs, check, gates }: DependencyCheck): Promise<[string, DependencyState]> => {
    let thrown: { readonly error: unknown } | undefined;
    const state = await checkWithin(async () => {
      try {
        return await check();
      } catch (error) {
        thrown = { error };
        throw error;
      }
    }, timeoutMs);
    gauge?.set({ dependency: name }, state.up ? 1 : 0);
    // The full reason (readinessReasonOf: messages, secrets redacted) to the log; codes only to /readyz.
    logTransition(name, gates, state.error);
    const key = shownAs ?? name;
    if (state.up) return [key, { up: true, gates, ...(state.ms !== undefined ? { ms: state.ms } : {}) }];
    const error = thrown === undefined ? `no answer within ${timeoutMs} ms` : shownReasonOf(thrown.error);
    return [key, { up: false, gates, ...(state.ms !== undefined ? { ms: state.ms } : {}), error }];
  };
  const round = async (): Promise<ReadinessReport> => {
    const states = await Promise.all(checks.map(one));
    return { ready: states.every(([, state]) => state.up || !state.gates), checks: Object.fromEntries(states) };
  };
  const ready = sharedFor(reuseMs, round, now);
  return ready;
}

/** S3 answers for `bucket`: one HeadBucket, the cheapest call that proves the credentials and the bucket. */
export function s3Check(s3: S3Client, bucket: string): DependencyCheck {
  return { name: 's3', gates: false, check: () => s3.send(new HeadBucketCommand({ Bucket: bucket }), { abortSignal: AbortSignal.timeout(READINESS_CHECK_TIMEOUT_MS) }) };
}

/** DynamoDB answers for `table`: one DescribeTable, a control-plane call that reads no item. */
export function dynamoCheck(dynamo: DynamoDBDocumentClient, table: string): DependencyCheck {
  return { name: 'dynamodb', gates: false, check: () => tableAnswers(dynamo, table) };
}

/**
 * The OCI registry of `prefix` (`registry.example.com/orbit`) answers the distribution API's base: GET /v2/ without
 * credentials. 200 and 401 (it wants a token: Harbor, ECR, any registry with auth) are both a registry that answers;
 * anything else, or no answer, is down.
 */
export function registryCheck(name: string, prefix: string, access: Pick<RegistryAccess, 'insecure'>, fetchOf: typeof fetch = fetch): DependencyCheck {
  const host = prefix.split('/')[0] ?? prefix;
  const { registry } = distributionAddress(host, '');
  const url = `${isInsecureRegistry(registry, access) ? 'http' : 'https'}://${registry}/v2/`;
  return {
    name, gates: false,
    check: async () => {
      const response = await fetchOf(url, { redirect: 'manual', signal: AbortSignal.timeout(READINESS_CHECK_TIMEOUT_MS) });
      await response.body?.cancel().catch(() => undefined);
      if (response.status !== 200 && response.status !== 401) {
        throw new DependencyDownError(`GET /v2/ answered HTTP ${response.status}${STATUS_CODES[response.status] ? ` ${STATUS_CODES[response.status]}` : ''}`);
      }
    },
  };
}

/**
 * The registries a service pushes to: ORBIT_IMAGE_REGISTRY as `image-registry`, and each environment's own
 * (ORBIT_ENVIRONMENT_REGISTRIES) on another host as `image-registry-<environment>`.
 */
export function pushRegistryChecks(
  config: { readonly ORBIT_IMAGE_REGISTRY: string; readonly ORBIT_ENVIRONMENT_REGISTRIES: ReadonlyMap<string, string>; readonly ORBIT_INSECURE_REGISTRIES: ReadonlySet<string> },
  fetchOf: typeof fetch = fetch,
): DependencyCheck[] {
  const access = { insecure: config.ORBIT_INSECURE_REGISTRIES };
  const hostOf = (prefix: string): string => prefix.split('/')[0] ?? prefix;
  const hosts = new Set([hostOf(config.ORBIT_IMAGE_REGISTRY)]);
  const checks = [registryCheck('image-registry', config.ORBIT_IMAGE_REGISTRY, access, fetchOf)];
  for (const [environment, prefix] of config.ORBIT_ENVIRONMENT_REGISTRIES) {
    if (hosts.has(hostOf(prefix))) continue;
    hosts.add(hostOf(prefix));
    checks.push(registryCheck(`image-registry-${environment.toLowerCase()}`, prefix, access, fetchOf));
  }
  return checks;
}

/**
 * The schema registry answers for `topic`'s subject: GET /subjects/<subject>/versions/latest, a request each time
 * (EventCodec.schemaIdOf keeps the id it was once given, and proves nothing later). The registry client answers a
 * refused connection as HTTP 400 with the network error in its message; that is said as the network error.
 */
export function schemaRegistryCheck(registry: { getLatestSchemaId(subject: string): Promise<number> }, topic: string): DependencyCheck {
  const subject = subjectOf(topic);
  return {
    name: 'schema-registry', gates: true,
    check: async () => {
      try {
        return await registry.getLatestSchemaId(subject);
      } catch (error) {
        const { status, message } = error as { status?: unknown; message?: unknown };
        const network = typeof message === 'string' ? Object.keys(NETWORK_WORDS).find((code) => new RegExp(`\\b${code}\\b`).test(message)) : undefined;
        if (network !== undefined) throw new DependencyDownError(`${network} (${NETWORK_WORDS[network] ?? ''})`);
        if (status === 404) throw new DependencyDownError(`subject ${subject} is not registered (HTTP 404)`);
        throw error;
      }
    },
  };
}
