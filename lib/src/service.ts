import type { AddressInfo } from 'node:net';
import { constants as osConstants } from 'node:os';
import type { Registry } from 'prom-client';
import { decodeOrbitEvent, EventCodec, type AvroSchemaJson } from './codec.js';
import { readCheckedConfig, type ConfigOf, type EnvShape } from './config.js';
import { dependencyReadiness, DependencyDownError, schemaRegistryCheck, type DependencyCheck } from './dependency-checks.js';
import { errorCodeOf } from './error-description.js';
import { ConfigError, RetryExhaustedError } from './errors.js';
import { buildHealthServer, combineReadiness, type HealthChecks, type ReadinessAnswer } from './health-server.js';
import { createKafka, type Kafka } from './kafka/client.js';
import { kafkaConnection } from './kafka/connection.js';
import { kafkaFailureCode } from './kafka/failure-code.js';
import { ConsumeLoop, type ConsumedMessage, type DeadLetteredMessage, type MessageHandler } from './kafka/consume-loop.js';
import { EventPublisher } from './kafka/publisher.js';
import type { MessagePosition } from './kafka/instrumentation.js';
import { createLogger, type Logger } from './logger.js';
import { createMetrics, instrumentConsumeLoop } from './metrics.js';
import { retryPolicy, withRetry, type RetryPolicy } from './retry.js';
import { isRetriable } from './retry-classifier.js';
import { runtimeEnv } from './runtime-config.js';

export type RuntimeConfig = ConfigOf<typeof runtimeEnv>;

// The checks a consumer names in its spec's `dependencies`, from the one module that exports this package's services.
export { dependencyReadiness, DEPENDENCY_REUSE_MS, DependencyDownError, dynamoCheck, pushRegistryChecks, registryCheck, s3Check, schemaRegistryCheck, shownReasonOf, type DependencyCheck, type DependencyState } from './dependency-checks.js';

/** About two minutes of attempts, 5 s apart at most: long enough for a broker restart, short enough for an orchestrator to notice. */
export const START_RETRY_POLICY: RetryPolicy = retryPolicy({ initialDelayMs: 250, maxDelayMs: 5_000, maxAttempts: 30 });

/**
 * How long a start waits for its dependencies in all. The policy alone does not bound it: each attempt of a kafkajs
 * connect retries 8 times on its own first, so 30 attempts against a broker that is away took 18 minutes.
 */
export const START_WAIT_MS = 120_000;

/** The least a connect step is given, even past the start's deadline. */
const FAIR_ATTEMPT_MS = 10_000;

/**
 * Where a start is: what it does now (shown by /readyz while starting, and named by the line of a start that failed
 * or was stopped) and when it stops waiting. One per process, as one service runs in each.
 */
export class StartProgress {
  /** What the start does now, as "connecting to Kafka (publisher)". */
  step = 'reading the configuration';
  started = false;
  /** The service's logger once it has one: a failed start is logged through it (its service name, its level). */
  logger: Logger | undefined;
  /**
   * performance.now() milliseconds after which the start waits no more: a monotonic clock, as a wall clock stepped by
   * time sync at boot (when services start) gave up after 10 s instead of 120 (found by a review).
   */
  readonly deadline: number;
  constructor(waitMs: number = START_WAIT_MS, now: number = performance.now()) {
    this.deadline = now + waitMs;
  }
}

/** The start of this process, shared by runMain and the start function it runs. */
export const processStart = new StartProgress();

/** A start gave up waiting for a dependency: which one, after how long, and its last error as the cause. */
export class StartWaitError extends RetryExhaustedError {
  readonly what: string;
  constructor(what: string, waitedMs: number, attempts: number, cause: unknown) {
    super(attempts, cause);
    this.what = what;
    this.message = `${what} did not answer within ${Math.round(waitedMs / 1000)} s (${attempts} attempts)`;
  }
}

/**
 * Connects at start, retrying while the other side is down (a broker being
 * restarted, a stack still coming up): a service started at the wrong moment
 * waits for its dependencies instead of exiting, until the start's deadline.
 * A non-retriable error (bad credentials, a missing topic) still fails at once.
 */
export async function untilConnected<T>(
  what: string, connect: () => Promise<T>, logger: Logger, policy: RetryPolicy = START_RETRY_POLICY,
  // A deadline of its own unless given the start's: processStart's, fixed when the process began, has passed for a caller later on.
  progress: StartProgress = new StartProgress(),
): Promise<T> {
  progress.step = `connecting to ${what}`;
  const began = performance.now();
  let attempts = 0;
  let lastError: unknown;
  const stopRetrying = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  // A race, not only the retrier's signal: an attempt in progress (a kafkajs connect with its own retries) may take
  // longer than what is left; it is left behind, as the process exits on the error.
  const expired = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => {
      stopRetrying.abort();
      reject(new StartWaitError(what, performance.now() - began, attempts, lastError));
    // At least one fair attempt: a step reached with the start's time spent by an earlier one (a slow handler set-up)
    // would otherwise lose a race against 0 ms to a dependency that answers.
    }, progress.deadline > began ? progress.deadline - began : FAIR_ATTEMPT_MS);
  });
  const attempt = async (): Promise<T> => {
    attempts += 1;
    try {
      return await connect();
    } catch (error) {
      lastError = error;
      throw error;
    }
  };
  try {
    return await Promise.race([
      withRetry(attempt, {
        policy, isRetriable, signal: stopRetrying.signal,
        onRetry: (retry) => logger.warn({ err: retry.error, attempt: retry.attempt, delayMs: retry.delayMs }, `${what} not reachable yet; trying again`),
      }).catch((error: unknown) => {
        throw error instanceof RetryExhaustedError ? new StartWaitError(what, performance.now() - began, error.attempts, error.cause) : error;
      }),
      expired,
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** A health server listening while its service starts. */
export interface StartingHealthServer {
  readonly port: number;
  close(): Promise<void>;
}

/**
 * /healthz, /readyz and /metrics from the first moment of a start, before anything connects: a liveness probe sees
 * the process alive while it waits for Kafka, and /readyz answers 503 naming the step it is at until `progress`
 * says started, then whatever `checks` say. Any other path is answered 503 while starting (the gateway's API, served
 * by another server once connected). A port in use fails here, at once, naming the address.
 */
export async function serveStartingHealth(
  progress: StartProgress,
  checks: HealthChecks,
  metrics: Registry,
  address: { readonly host: string; readonly port: number; readonly names: string },
): Promise<StartingHealthServer> {
  const app = buildHealthServer({ ready: async () => progress.started && await checks.ready() }, metrics);
  app.addHook('onRequest', async (request, reply) => {
    if (progress.started || request.url.split('?')[0] !== '/readyz') return undefined;
    return reply.code(503).send({ status: 'starting', step: progress.step });
  });
  app.setNotFoundHandler(async (request, reply) => {
    // Once started, Fastify's own answer, as before this handler.
    if (progress.started) return reply.code(404).send({ message: `Route ${request.method}:${request.url} not found`, error: 'Not Found', statusCode: 404 });
    return reply.code(503).header('retry-after', '5').send({ code: 'ORBIT_ERR_STORE_UNAVAILABLE', message: `starting (${progress.step}); nothing was accepted: try again later`, problems: [] });
  });
  progress.step = `listening on ${address.host}:${address.port} (${address.names})`;
  await app.listen({ host: address.host, port: address.port });
  return { port: (app.server.address() as AddressInfo).port, close: () => app.close() };
}

export interface ServiceContext<C> {
  readonly config: RuntimeConfig & C;
  readonly logger: Logger;
  readonly kafka: Kafka;
  readonly codec: EventCodec;
  readonly publisher: EventPublisher;
  readonly metrics: Registry;
}

export interface ConsumerServiceSpec<E, S extends EnvShape> {
  readonly service: string;
  /** @default the service name */
  readonly groupId?: string;
  readonly topics: readonly string[];
  readonly schemas: ReadonlyMap<string, AvroSchemaJson>;
  /** The service's own variables, validated together with the runtime ones. */
  readonly env?: S;
  /**
   * Checks of variables that only make sense together (MYSQL_URL with the
   * MYSQL_TLS_* files), run with the reading of the variables and before
   * anything connects: a ConfigError it throws stops the start at once, not
   * once Kafka answers, its problems listed with those of every other
   * variable. Not run when it reads a variable that is itself malformed.
   */
  readonly checkConfig?: (config: RuntimeConfig & ConfigOf<S>) => void;
  readonly createHandler: (context: ServiceContext<ConfigOf<S>>) => MessageHandler<E> | Promise<MessageHandler<E>>;
  /**
   * Detached handlers at most at once (ConsumeLoopOptions.maxDetachedHandlers), from the service's own variables: the
   * image-validator's pulls by reference wait on registries, not on the machine, and take more than the 4 of the
   * other services (ORBIT_MAX_DETACHED_HANDLERS). @default the consume loop's
   */
  readonly maxDetachedHandlers?: (config: RuntimeConfig & ConfigOf<S>) => number;
  /** Whether a partition goes on with other keys past a detached handler (ConsumeLoopOptions.keyOrderedDetach). */
  readonly keyOrderedDetach?: boolean;
  /** Optional batched form of the handler (see ConsumeLoopOptions.batchHandler). */
  readonly createBatchHandler?: (context: ServiceContext<ConfigOf<S>>) => (messages: readonly ConsumedMessage<E>[]) => Promise<void>;
  /** What to do once a message is in the DLQ (see ConsumeLoopOptions.onDeadLettered). */
  readonly createDeadLetterHook?: (context: ServiceContext<ConfigOf<S>>) => (letter: DeadLetteredMessage<E>) => Promise<void>;
  /** What to do with a message re-driven for another group (see ConsumeLoopOptions.onPassedOver). */
  readonly createPassedOverHook?: (context: ServiceContext<ConfigOf<S>>) => (position: MessagePosition) => Promise<void>;
  /**
   * Extra readiness (stores reachable); consuming is always required. A report (checkWithin, combineReadiness)
   * names each check and why it failed in /readyz; a bare boolean says only "service".
   */
  readonly ready?: (context: ServiceContext<ConfigOf<S>>) => Promise<ReadinessAnswer>;
  /**
   * The stores the handler uses (s3Check, dynamoCheck, registryCheck), each shown in /readyz by name, with a reason
   * safe to show when down, and as `orbit_dependency_up{dependency}` in /metrics; Kafka (`consuming`) and the schema
   * registry are every consumer's and added here. Whether each gates readiness: see DependencyCheck.
   */
  readonly dependencies?: (context: ServiceContext<ConfigOf<S>>) => readonly DependencyCheck[];
  readonly close?: (context: ServiceContext<ConfigOf<S>>) => Promise<void>;
  readonly processEnv?: NodeJS.ProcessEnv;
  /** @default processStart, the one runMain reads */
  readonly progress?: StartProgress;
}

export interface RunningService {
  readonly healthPort: number;
  readonly loop: ConsumeLoop<unknown>;
  readonly logger: Logger;
  stop(): Promise<void>;
}

/**
 * Wires one consumer service: config (fails at start, one line per bad
 * variable), logger, Kafka, codec, publisher, the consume loop, and the
 * health server. `main.ts` of each consumer is this call plus signal handling.
 */
export async function startConsumerService<E, S extends EnvShape>(spec: ConsumerServiceSpec<E, S>): Promise<RunningService> {
  const progress = spec.progress ?? processStart;
  const processEnv = spec.processEnv ?? process.env;
  // The variables, the spec's check and Kafka's connection in one pass: every problem of all three at once.
  const read = readCheckedConfig({ ...runtimeEnv, ...(spec.env ?? {}) }, {
    spec: (config) => spec.checkConfig?.(config as RuntimeConfig & ConfigOf<S>),
    kafka: (config) => kafkaConnection(config),
  }, processEnv);
  const config = read.config as RuntimeConfig & ConfigOf<S>;
  const kafkaTarget = read.checked.kafka;
  const service = config.ORBIT_SERVICE ?? spec.service;
  const logger = createLogger({ service, level: config.LOG_LEVEL });
  progress.logger = logger;
  const metrics = createMetrics(service);
  // Ready once started and then as the loop and the spec say; until then /readyz names the step (serveStartingHealth).
  let ready: () => Promise<ReadinessAnswer> = async () => false;
  const health = await serveStartingHealth(progress, { ready: () => ready() }, metrics, { host: config.HEALTH_HOST, port: config.HEALTH_PORT, names: 'HEALTH_HOST, HEALTH_PORT' });
  try {
    const kafka = createKafka({ clientId: service, ...kafkaTarget, logger });
    const codec = new EventCodec(config.SCHEMA_REGISTRY_URL, spec.schemas);
    const publisher = await untilConnected('Kafka (publisher)', () => EventPublisher.connect(kafka, codec, logger), logger, START_RETRY_POLICY, progress);
    const context: ServiceContext<ConfigOf<S>> = { config, logger, kafka, codec, publisher, metrics };
    progress.step = 'creating the message handler';
    const handler = await spec.createHandler(context);
    const loop = new ConsumeLoop<E>({
      kafka,
      groupId: spec.groupId ?? service,
      topics: spec.topics,
      decode: (topic, value) => decodeOrbitEvent(codec, topic, value) as Promise<E>,
      handler,
      ...(spec.createBatchHandler ? { batchHandler: spec.createBatchHandler(context) } : {}),
      ...(spec.createDeadLetterHook ? { onDeadLettered: spec.createDeadLetterHook(context) } : {}),
      ...(spec.createPassedOverHook ? { onPassedOver: spec.createPassedOverHook(context) } : {}),
      sessionTimeoutMs: config.ORBIT_KAFKA_SESSION_TIMEOUT_MS,
      stallMs: config.ORBIT_CONSUMER_STALL_MS,
      ...(spec.maxDetachedHandlers ? { maxDetachedHandlers: spec.maxDetachedHandlers(config) } : {}),
      ...(spec.keyOrderedDetach ? { keyOrderedDetach: true } : {}),
      retryPolicy: retryPolicy({ initialDelayMs: config.ORBIT_RETRY_INITIAL_MS, maxDelayMs: config.ORBIT_RETRY_MAX_MS, factor: config.ORBIT_RETRY_FACTOR }),
      logger,
    });
    // Its counters start at 0 for each topic it reads, so increase() sees the first dead letter after a restart.
    instrumentConsumeLoop(metrics, loop, spec.topics);
    // /readyz names each dependency, whether it answered and, if not, why (codes only: the driver's words, with hosts
    // and accounts, go to the log), and orbit_dependency_up shows the same; only the gating ones make it not ready
    // (see DependencyCheck for which and why). Checked at most once a second, each within READINESS_CHECK_TIMEOUT_MS.
    const firstTopic = spec.topics[0];
    const dependencies = dependencyReadiness([
      { name: 'kafka', shownAs: 'consuming', gates: true, check: async () => {
        if (!loop.ready) throw new DependencyDownError('not consuming: the consumer group is not joined (joining, rebalancing, or its consumer crashed)');
      } },
      // A request to the registry each time, not codec.schemaIdOf's id kept since it was first given.
      ...(firstTopic === undefined ? [] : [schemaRegistryCheck(codec.registry, firstTopic)]),
      ...(spec.dependencies?.(context) ?? []),
    ], metrics, { logger });
    ready = async () => combineReadiness((await dependencies()).checks, spec.ready ? await spec.ready(context) : true);
    await untilConnected('Kafka (consumer group)', () => loop.start(), logger, START_RETRY_POLICY, progress);
    progress.started = true;
    const healthPort = health.port;
    logger.info({ healthHost: config.HEALTH_HOST, healthPort, topics: spec.topics }, 'service started');

    let stopping: Promise<void> | undefined;
    return {
      healthPort,
      loop: loop as ConsumeLoop<unknown>,
      logger,
      stop: () => {
        stopping ??= (async () => {
          await loop.stop();
          await publisher.disconnect();
          await spec.close?.(context);
          await health.close();
          logger.info('service stopped');
        })();
        return stopping;
      },
    };
  } catch (error) {
    // The process exits on this error; a caller that goes on (a test) is not left with the port held.
    await health.close();
    throw error;
  }
}

/**
 * Exit codes: 0 a clean stop (or a stop asked for while starting); 1 a failed start or an unclean stop; 128 + the
 * signal's number (130 SIGINT, 143 SIGTERM) when a second signal forced the exit, as if the signal had killed the
 * process: the convention shells and orchestrators read.
 */
export const EXIT_CLEAN = 0;
export const EXIT_FAILED = 1;
export function forcedExitCode(signal: NodeJS.Signals): number {
  return 128 + (osConstants.signals[signal] ?? 0);
}

export interface MainOptions {
  /** @default processStart */
  readonly progress?: StartProgress;
  /** Where SIGTERM and SIGINT come from. @default process */
  readonly signals?: Pick<NodeJS.EventEmitter, 'on'>;
  /** @default process.exit */
  readonly exit?: (code: number) => void;
  /** Logs a start that failed before the service had a logger. @default one to stdout named by ORBIT_SERVICE or the entry's package */
  readonly fallbackLogger?: () => Logger;
}

/** The service a process runs, from its entry file (consumers/harbor-writer/dist/main.js), for a line logged before it has a logger. */
export function serviceOfEntry(entry: string | undefined): string {
  return /([^/\\]+)[/\\]dist[/\\][^/\\]+$/.exec(entry ?? '')?.[1] ?? 'orbit';
}

/**
 * The one line of a start that failed: what it was doing, the error's message and code (docs/errors.md; a start that
 * waited its time for a dependency is ORBIT_ERR_RETRY_EXHAUSTED, a Kafka client's error ORBIT_ERR_STORE_UNAVAILABLE:
 * kafkaFailureCode, as a running consumer's crash line), its stack only under `err`.
 */
export function startFailureFields(progress: StartProgress, error: unknown): { step: string; code: string; err: unknown } {
  return { step: progress.step, code: kafkaFailureCode(error), err: error };
}

/**
 * Runs a service's start function. SIGTERM and SIGINT are handled from the first moment, by one handler: while
 * starting, the process exits 0 at once with a line naming the step (nothing is in flight yet); once started, the
 * service stops (stop fetching, finish in-flight work, commit, disconnect) and exits 0, or 1 if the stop failed. A
 * second signal while stopping exits at once with 128 + its number. A configuration problem prints its list of bad
 * variables on stderr, then one JSON line (level fatal, code ORBIT_ERR_CONFIG, the same list under `problems`), and
 * exits 1; any other failed start is one JSON line (level fatal) naming the step and the error's code.
 */
export function runMain(start: () => Promise<{ stop(): Promise<void>; logger: Logger }>, options: MainOptions = {}): void {
  const progress = options.progress ?? processStart;
  const exit = options.exit ?? ((code: number) => process.exit(code));
  const signals = options.signals ?? process;
  const fallbackLogger = options.fallbackLogger ?? (() => createLogger({ service: process.env['ORBIT_SERVICE'] ?? serviceOfEntry(process.argv[1]) }));
  const loggerNow = (): Logger => progress.logger ?? fallbackLogger();
  let running: { stop(): Promise<void>; logger: Logger } | undefined;
  let stopping = false;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (stopping) {
      const code = forcedExitCode(signal);
      loggerNow().error({ signal, exitCode: code }, 'forced exit: a second signal came while stopping');
      exit(code);
      return;
    }
    stopping = true;
    if (running === undefined) {
      loggerNow().info({ signal, step: progress.step }, 'stopped while starting');
      exit(EXIT_CLEAN);
      return;
    }
    const service = running;
    service.logger.info({ signal }, 'shutting down');
    service.stop().then(
      () => exit(EXIT_CLEAN),
      (error: unknown) => {
        service.logger.error({ err: error }, 'unclean shutdown');
        exit(EXIT_FAILED);
      },
    );
  };
  signals.on('SIGTERM', onSignal);
  signals.on('SIGINT', onSignal);
  start().then(
    (service) => {
      running = service;
      progress.started = true;
    },
    (error: unknown) => {
      if (stopping) return; // a signal ended the start; its line is written
      if (error instanceof ConfigError) {
        // For the operator, one line per variable on stderr; for a log pipeline, one JSON line as every other fatal
        // start, with the same lines (values already redacted) and the code, no stack: nothing failed but the variables.
        console.error(error.message);
        loggerNow().fatal({ step: progress.step, code: error.code, problems: error.problems }, `failed to start while ${progress.step}: invalid configuration: ${error.problems.join('; ')}`);
      } else {
        const fields = startFailureFields(progress, error);
        loggerNow().fatal(fields, `failed to start while ${fields.step}: ${error instanceof Error ? error.message : String(error)}`);
      }
      exit(EXIT_FAILED);
    },
  );
}

/**
 * Logs a task that fails again and again (a sweep every 2 s while MySQL is away) once per new reason, with how many
 * failures came before, and once when it works again: not one line with a stack per attempt.
 */
export function failureStreak(logger: Logger, lines: { readonly failed: string; readonly recovered: string }): { failed(error: unknown): void; succeeded(): void } {
  let reason: string | undefined;
  let failures = 0;
  return {
    failed: (error) => {
      failures += 1;
      const now = `${errorCodeOf(error)}: ${error instanceof Error ? error.message : String(error)}`;
      if (now === reason) return;
      reason = now;
      logger.warn({ err: error, reason, failures }, lines.failed);
    },
    succeeded: () => {
      if (reason === undefined) return;
      logger.info({ failures, lastReason: reason }, lines.recovered);
      reason = undefined;
      failures = 0;
    },
  };
}

/** A handler that only logs what it receives: the skeleton of a consumer. */
export function logReceived(message: { topic: string; log: Logger; event: unknown }): Promise<void> {
  const event = message.event as { pid?: string; correlationId?: string; imageUID?: string };
  message.log.info({ pid: event.pid, correlationId: event.correlationId, imageUID: event.imageUID }, 'event received');
  return Promise.resolve();
}
