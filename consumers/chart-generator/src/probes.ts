import { shellOf, type Healthcheck } from '@orbit/schemas';
import type { AppPort } from './image-facts.js';
import { kubeletLiteral } from './kubelet-words.js';

/** A Kubernetes probe as the chart writes it (exec or tcpSocket only). */
export interface Probe {
  readonly exec?: { readonly command: readonly string[] };
  readonly tcpSocket?: { readonly port: string };
  readonly initialDelaySeconds?: number;
  readonly periodSeconds: number;
  readonly timeoutSeconds: number;
  readonly failureThreshold: number;
  readonly successThreshold?: number;
}

export interface ProbeValues {
  readonly enabled: boolean;
  /** Where the probes come from, or why there are none: read by people deciding whether to add some. */
  readonly source: 'healthcheck' | 'tcp-port' | 'none';
  readonly disabledReason: string;
  readonly liveness: Probe | Record<string, never>;
  readonly readiness: Probe | Record<string, never>;
  readonly startup: Probe | Record<string, never>;
}

// Docker's own defaults for HEALTHCHECK fields the image leaves unset.
const DOCKER_INTERVAL = 30;
const DOCKER_TIMEOUT = 30;
const DOCKER_RETRIES = 3;

/**
 * Probe fields are int32 in the Kubernetes API: a larger number fails the
 * whole Deployment's decoding. The validator bounds each HEALTHCHECK field to
 * that, but the startup probe adds the start period's checks to the retries.
 */
const INT32_MAX = 2_147_483_647;
const int32 = (value: number): number => Math.min(INT32_MAX, value);

/** Probe fields are whole seconds of at least 1; Docker stores fractions. */
function seconds(value: number | null, fallback: number): number {
  return value === null || !Number.isFinite(value) || value <= 0 ? fallback : int32(Math.max(1, Math.ceil(value)));
}

/**
 * The command Docker runs for a HEALTHCHECK (moby daemon/health.go): CMD's words as they are; CMD-SHELL's appended
 * to the image's SHELL (else /bin/sh -c), each its own argument, not joined. Each word is written as the kubelet
 * passes it on: it expands `$(NAME)` and `$$` in a probe's command as in the container's.
 */
function healthcheckCommand(test: readonly string[], shell: readonly string[]): string[] | null {
  const [kind, ...rest] = test;
  if (kind === 'CMD' && rest.length > 0) return rest.map(kubeletLiteral);
  if (kind === 'CMD-SHELL' && rest.length > 0) return [...shell, ...rest].map(kubeletLiteral);
  return null; // NONE, an empty test (inherit) or something Docker would not run either
}

/**
 * HEALTHCHECK maps to exec probes: interval -> periodSeconds, timeout ->
 * timeoutSeconds, retries -> failureThreshold. Docker ignores failures during
 * start-period; a startup probe gives the same grace (start-period plus the
 * usual retries) before liveness takes over.
 */
function fromHealthcheck(command: string[], check: Healthcheck): ProbeValues {
  const period = seconds(check.intervalSeconds, DOCKER_INTERVAL);
  const timeout = seconds(check.timeoutSeconds, DOCKER_TIMEOUT);
  const retries = check.retries !== null && Number.isInteger(check.retries) && check.retries > 0 ? int32(check.retries) : DOCKER_RETRIES;
  const startPeriod = check.startPeriodSeconds === null || check.startPeriodSeconds <= 0 ? 0 : check.startPeriodSeconds;
  const base = { exec: { command }, periodSeconds: period, timeoutSeconds: timeout };
  return {
    enabled: true,
    source: 'healthcheck',
    disabledReason: '',
    liveness: { ...base, failureThreshold: retries },
    readiness: { ...base, failureThreshold: retries, successThreshold: 1 },
    startup: { ...base, failureThreshold: int32(Math.ceil(startPeriod / period) + retries) },
  };
}

/** Without a HEALTHCHECK, an open TCP port is the best sign of life the chart can check. */
function fromTcpPort(): ProbeValues {
  const tcpSocket = { port: 'app' };
  return {
    enabled: true,
    source: 'tcp-port',
    disabledReason: '',
    liveness: { tcpSocket, periodSeconds: 10, timeoutSeconds: 3, failureThreshold: 3 },
    readiness: { tcpSocket, periodSeconds: 5, timeoutSeconds: 3, failureThreshold: 3, successThreshold: 1 },
    // 30 x 5 s: slow starters get two and a half minutes before liveness may restart them.
    startup: { tcpSocket, periodSeconds: 5, timeoutSeconds: 3, failureThreshold: 30 },
  };
}

export const PORT_NAME = 'app';

/** `shell` is the image's SHELL (ImageConfigFacts.shell): null, as events written before it carry, is /bin/sh -c. */
export function probesOf(healthcheck: Healthcheck | null, port: AppPort | null, shell: readonly string[] | null = null): ProbeValues {
  const command = healthcheck === null ? null : healthcheckCommand(healthcheck.test, shellOf({ shell }));
  if (command !== null && healthcheck !== null) return fromHealthcheck(command, healthcheck);
  if (port !== null && port.protocol === 'TCP') return fromTcpPort();
  const reason = port === null
    ? 'the image has no HEALTHCHECK and exposes no port, so there is nothing to probe; set probes.liveness/readiness/startup and probes.enabled to add some'
    : `the image has no HEALTHCHECK and its port speaks ${port.protocol}, which a tcpSocket probe cannot check; set probes.* to add some`;
  return { enabled: false, source: 'none', disabledReason: reason, liveness: {}, readiness: {}, startup: {} };
}
