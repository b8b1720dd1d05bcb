import { STATUS_CODES } from 'node:http';
import type { AddressInfo } from 'node:net';
import Fastify, { type FastifyInstance } from 'fastify';
import type { Registry } from 'prom-client';
import { buildInfo, type BuildInfo } from './build-info.js';
import { answerWithin } from './deadline.js';
import { AWS_CALL, causeChainOf, hasNoWords, httpStatusOf, withoutSecrets } from './error-description.js';

/** How long a readiness check waits for a dependency: below a Kubernetes readiness probe's default timeoutSeconds (1). */
export const READINESS_CHECK_TIMEOUT_MS = 800;

/** What one readiness check found: whether it answered, in how long, and if not, why. */
export interface CheckState {
  readonly up: boolean;
  readonly ms?: number;
  /** Why it is not up (see readinessReasonOf): an error's code, message and causes, without secrets. */
  readonly error?: string;
  /** False for a dependency shown but not gating (dependency-checks.ts says which): down, it leaves the service ready. */
  readonly gates?: boolean;
}

/** A readiness answer that names its checks, so a 503 says which one failed and why. */
export interface ReadinessReport {
  readonly ready: boolean;
  readonly checks: Readonly<Record<string, CheckState>>;
}

/** A bare boolean (what callers gave before) or a report naming the checks. */
export type ReadinessAnswer = boolean | ReadinessReport;

export interface HealthChecks {
  /** Readiness: every dependency answers and the service can do its work. */
  readonly ready: () => ReadinessAnswer | Promise<ReadinessAnswer>;
}

/** How long a reason may be: one log field or one line of /readyz, not a stack. */
const REASON_MAX_LENGTH = 400;

/**
 * One error of a chain, code first (describeError puts the name first, for DLQ headers): its AWS call, code (or
 * name) and message; an answer without words (every HEAD's) by its HTTP status.
 */
function reasonLevel(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const status = httpStatusOf(error);
  const awsCall = (error as { [AWS_CALL]?: unknown })[AWS_CALL];
  const call = typeof awsCall === 'string' ? `${awsCall}: ` : '';
  if (status !== undefined && hasNoWords(error)) {
    // An S3 HEAD with a wrong secret: 403 and nothing else, which the SDK names UnknownError.
    return `${call}HTTP ${status} ${STATUS_CODES[status] ?? ''}`.trimEnd() + ' without an error body';
  }
  const { code: own } = error as { code?: unknown };
  const code = typeof own === 'string' && own !== '' ? own : error.name !== 'Error' ? error.name : undefined;
  const message = error.message;
  const words = code === undefined || message.includes(code) ? message : message === '' ? code : `${code}: ${message}`;
  return `${call}${words}${status !== undefined ? ` (HTTP ${status})` : ''}`;
}

/**
 * Why a readiness check failed, for an operator: each error of the chain (up to four) with its code or name and
 * message, outermost first ("ORBIT_ERR_STORE_UNAVAILABLE: MySQL is unavailable <- ER_ACCESS_DENIED_ERROR: Access
 * denied for user …"), short, and with any password or secret a message quotes replaced by [redacted].
 */
export function readinessReasonOf(error: unknown): string {
  const parts: string[] = [];
  for (const level of causeChainOf(error).map(reasonLevel)) if (level !== '' && level !== parts[parts.length - 1]) parts.push(level);
  const reason = withoutSecrets(parts.join(' <- ') || 'failed without a reason');
  return reason.length > REASON_MAX_LENGTH ? `${reason.slice(0, REASON_MAX_LENGTH - 1)}…` : reason;
}

/** Runs one check for at most `timeoutMs`: up with its time, or down with its time and why. Never rejects. */
export async function checkWithin(check: () => Promise<unknown>, timeoutMs: number = READINESS_CHECK_TIMEOUT_MS): Promise<CheckState> {
  const started = performance.now();
  const error = await answerWithin(Promise.resolve().then(check), timeoutMs, () => new Error(`no answer within ${timeoutMs} ms`))
    .then(() => undefined, (failure: unknown) => readinessReasonOf(failure));
  const ms = Math.round(performance.now() - started);
  return error === undefined ? { up: true, ms } : { up: false, ms, error };
}

/**
 * One report of named checks and what else a caller answered: a report's checks are added to them; a bare `false`
 * becomes a check of its own under `name`, as it says no more. A check down with `gates: false` is shown, not counted.
 */
export function combineReadiness(checks: Readonly<Record<string, CheckState>>, answer: ReadinessAnswer = true): ReadinessReport {
  const all: Record<string, CheckState> = typeof answer === 'boolean'
    ? (answer ? { ...checks } : { ...checks, service: { up: false, error: 'not ready' } })
    : { ...checks, ...answer.checks };
  return { ready: Object.values(all).every((state) => state.up || state.gates === false) && (typeof answer === 'boolean' ? answer : answer.ready), checks: all };
}

/** /healthz's answer: alive, and which build (see BuildInfo), so `curl …/healthz` says which upgrade notes apply. */
export function livenessAnswer(build: BuildInfo = buildInfo()): { readonly status: 'ok'; readonly build: BuildInfo } {
  return { status: 'ok', build };
}

/**
 * /healthz (alive: the process answers, and its build), /readyz (ready: consuming, stores
 * reachable) and /metrics for consumers, which have no other HTTP surface.
 * /readyz names each check and, for one that failed, why: this port is the
 * cluster's (probes, scrapes), not the public API's.
 */
export function buildHealthServer(checks: HealthChecks, metrics: Registry): FastifyInstance {
  const app = Fastify({ logger: false });
  app.get('/healthz', async () => livenessAnswer());
  app.get('/readyz', async (_request, reply) => {
    const answer = await checks.ready();
    const ready = typeof answer === 'boolean' ? answer : answer.ready;
    return reply.code(ready ? 200 : 503).send({ status: ready ? 'ready' : 'not-ready', ...(typeof answer === 'boolean' ? {} : { checks: answer.checks }) });
  });
  app.get('/metrics', async (_request, reply) => reply.type(metrics.contentType).send(await metrics.metrics()));
  return app;
}

export interface HealthServer {
  /** The port it listens on: HEALTH_PORT, or the one the system picked for 0. */
  readonly port: number;
  close(): Promise<void>;
}

/**
 * Builds the health server and listens where HEALTH_HOST and HEALTH_PORT say, taking the config itself so a
 * caller cannot leave the address out and fall back to loopback, where no kubelet or Prometheus reaches it.
 */
export async function serveHealth(
  checks: HealthChecks,
  metrics: Registry,
  config: { readonly HEALTH_HOST: string; readonly HEALTH_PORT: number },
): Promise<HealthServer> {
  const app = buildHealthServer(checks, metrics);
  await app.listen({ host: config.HEALTH_HOST, port: config.HEALTH_PORT });
  return { port: (app.server.address() as AddressInfo).port, close: () => app.close() };
}
