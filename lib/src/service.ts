import type { Registry } from 'prom-client';
import { decodeOrbitEvent, EventCodec, type AvroSchemaJson } from './codec.js';
import { readConfig, type ConfigOf, type EnvShape } from './config.js';
import { ConfigError } from './errors.js';
import { serveHealth } from './health-server.js';
import { createKafka, type Kafka } from './kafka/client.js';
import { kafkaConnection } from './kafka/connection.js';
import { ConsumeLoop, type ConsumedMessage, type DeadLetteredMessage, type MessageHandler } from './kafka/consume-loop.js';
import { EventPublisher } from './kafka/publisher.js';
import type { MessagePosition } from './kafka/instrumentation.js';
import { createLogger, type Logger } from './logger.js';
import { createMetrics, instrumentConsumeLoop } from './metrics.js';
import { retryPolicy, withRetry, type RetryPolicy } from './retry.js';
import { isRetriable } from './retry-classifier.js';
import { runtimeEnv } from './runtime-config.js';

export type RuntimeConfig = ConfigOf<typeof runtimeEnv>;

/** About two minutes of attempts, 5 s apart at most: long enough for a broker restart, short enough for an orchestrator to notice. */
export const START_RETRY_POLICY: RetryPolicy = retryPolicy({ initialDelayMs: 250, maxDelayMs: 5_000, maxAttempts: 30 });

/**
 * Connects at start, retrying while the other side is down (a broker being
 * restarted, a stack still coming up): a service started at the wrong moment
 * waits for its dependencies instead of exiting. A non-retriable error (bad
 * credentials, a missing topic) still fails at once.
 */
export function untilConnected<T>(what: string, connect: () => Promise<T>, logger: Logger, policy: RetryPolicy = START_RETRY_POLICY): Promise<T> {
  return withRetry(() => connect(), {
    policy, isRetriable,
    onRetry: ({ attempt, delayMs, error }) => logger.warn({ err: error, attempt, delayMs }, `${what} not reachable yet; trying again`),
  });
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
   * MYSQL_TLS_* files), run right after the variables are read and before
   * anything connects: a ConfigError it throws stops the start at once, not
   * once Kafka answers.
   */
  readonly checkConfig?: (config: RuntimeConfig & ConfigOf<S>) => void;
  readonly createHandler: (context: ServiceContext<ConfigOf<S>>) => MessageHandler<E> | Promise<MessageHandler<E>>;
  /** Optional batched form of the handler (see ConsumeLoopOptions.batchHandler). */
  readonly createBatchHandler?: (context: ServiceContext<ConfigOf<S>>) => (messages: readonly ConsumedMessage<E>[]) => Promise<void>;
  /** What to do once a message is in the DLQ (see ConsumeLoopOptions.onDeadLettered). */
  readonly createDeadLetterHook?: (context: ServiceContext<ConfigOf<S>>) => (letter: DeadLetteredMessage<E>) => Promise<void>;
  /** What to do with a message re-driven for another group (see ConsumeLoopOptions.onPassedOver). */
  readonly createPassedOverHook?: (context: ServiceContext<ConfigOf<S>>) => (position: MessagePosition) => Promise<void>;
  /** Extra readiness (stores reachable); consuming is always required. */
  readonly ready?: (context: ServiceContext<ConfigOf<S>>) => Promise<boolean>;
  readonly close?: (context: ServiceContext<ConfigOf<S>>) => Promise<void>;
  readonly processEnv?: NodeJS.ProcessEnv;
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
  const processEnv = spec.processEnv ?? process.env;
  const config = readConfig({ ...runtimeEnv, ...(spec.env ?? {}) }, processEnv) as RuntimeConfig & ConfigOf<S>;
  spec.checkConfig?.(config);
  const service = config.ORBIT_SERVICE ?? spec.service;
  const logger = createLogger({ service, level: config.LOG_LEVEL });
  const kafka = createKafka({ clientId: service, ...kafkaConnection(config), logger });
  const codec = new EventCodec(config.SCHEMA_REGISTRY_URL, spec.schemas);
  const publisher = await untilConnected('Kafka (publisher)', () => EventPublisher.connect(kafka, codec, logger), logger);
  const metrics = createMetrics(service);
  const context: ServiceContext<ConfigOf<S>> = { config, logger, kafka, codec, publisher, metrics };
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
    retryPolicy: retryPolicy({ initialDelayMs: config.ORBIT_RETRY_INITIAL_MS, maxDelayMs: config.ORBIT_RETRY_MAX_MS, factor: config.ORBIT_RETRY_FACTOR }),
    logger,
  });
  instrumentConsumeLoop(metrics, loop);
  const health = await serveHealth({ ready: async () => loop.ready && (spec.ready ? await spec.ready(context) : true) }, metrics, config);
  await untilConnected('Kafka (consumer group)', () => loop.start(), logger);
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
}

/** SIGTERM/SIGINT: stop fetching, finish in-flight work, commit, disconnect, exit 0. */
export function stopOnSignals(running: { stop(): Promise<void>; logger: Logger }): void {
  const onSignal = (signal: NodeJS.Signals): void => {
    running.logger.info({ signal }, 'shutting down');
    running.stop().then(
      () => process.exit(0),
      (error: unknown) => {
        running.logger.error({ err: error }, 'unclean shutdown');
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', onSignal);
  process.once('SIGINT', onSignal);
}

/**
 * Runs a service's start function; a configuration problem prints its list
 * of bad variables and exits 1 instead of a stack trace.
 */
export function runMain(start: () => Promise<{ stop(): Promise<void>; logger: Logger }>): void {
  start().then(stopOnSignals, (error: unknown) => {
    if (error instanceof ConfigError) console.error(error.message);
    else console.error('failed to start:', error);
    process.exit(1);
  });
}

/** A handler that only logs what it receives: the skeleton of a consumer. */
export function logReceived(message: { topic: string; log: Logger; event: unknown }): Promise<void> {
  const event = message.event as { pid?: string; correlationId?: string; imageUID?: string };
  message.log.info({ pid: event.pid, correlationId: event.correlationId, imageUID: event.imageUID }, 'event received');
  return Promise.resolve();
}
