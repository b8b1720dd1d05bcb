/**
 * The only module that imports the Kafka client library. Everything else in
 * Orbit sees the KafkaJS API through the names re-exported here, so a
 * KafkaJS-compatible client (Confluent's `@confluentinc/kafka-javascript`
 * KafkaJS API) replaces kafkajs by changing this file alone.
 */
import { createRequire } from 'node:module';
import kafkajs, { type ISocketFactory } from 'kafkajs';
import type { ErrorCode } from '../errors.js';
import type { Logger } from '../logger.js';
import { lz4Frames, snappy, zstd } from './compression-codecs.js';
import type { KafkaConnection } from './connection.js';

export type {
  Admin, Consumer, Producer, EachBatchPayload, IHeaders, KafkaMessage, ITopicConfig, Kafka, AclEntry,
} from 'kafkajs';

const { Kafka: KafkaClient, logLevel, Partitioners, CompressionCodecs, CompressionTypes } = kafkajs;

// Global to kafkajs, so once for every client; without them a batch in any of these stops its consumer for good.
CompressionCodecs[CompressionTypes.Snappy] = snappy;
CompressionCodecs[CompressionTypes.LZ4] = lz4Frames;
CompressionCodecs[CompressionTypes.ZSTD] = zstd;

/**
 * kafkajs warns at every idempotent producer's start that limited retries may
 * break exactly-once. Ours are limited on purpose (a send that gives up is
 * sent again by its outbox or redelivery, and every consumer drops an event id
 * it has seen), so the warning says nothing an operator should act on.
 */
const EXPECTED_WARNINGS: ReadonlySet<string> = new Set(['Limiting retries for the idempotent producer may invalidate EoS guarantees']);

/**
 * Broker errors that only say the cluster is settling (a broker starting, a coordinator loading or moving, a leader
 * being elected), which kafkajs retries by itself yet logs at error level on each attempt though nothing has failed.
 * Not every error kafkajs calls retriable: a corrupt message, a disk error, a missing topic or too few in-sync
 * replicas stay errors, as an operator has something to look at.
 */
const SETTLING_CLUSTER_ERRORS: ReadonlySet<string> = new Set([
  'GROUP_LOAD_IN_PROGRESS', 'GROUP_COORDINATOR_NOT_AVAILABLE', 'NOT_COORDINATOR_FOR_GROUP', 'LEADER_NOT_AVAILABLE', 'NOT_LEADER_FOR_PARTITION',
  'REPLICA_NOT_AVAILABLE', 'NOT_CONTROLLER', 'FENCED_LEADER_EPOCH', 'UNKNOWN_LEADER_EPOCH', 'OFFSET_NOT_AVAILABLE', 'PREFERRED_LEADER_NOT_AVAILABLE',
]);

/**
 * Their messages, as kafkajs logs them ("The coordinator is loading and hence…"): its log lines carry the text, not
 * the error. Read from kafkajs's table of protocol errors, which its index does not export; an unexpected shape there
 * (another client) leaves the list empty, and those lines at error level as before.
 */
const SETTLING_CLUSTER_MESSAGES: readonly string[] = protocolErrorMessages(SETTLING_CLUSTER_ERRORS, { retriableOnly: true });

/**
 * The message of REBALANCE_IN_PROGRESS ("The group is rebalancing, so a rejoin is needed"): a group member joined or
 * left (a deploy, a scale, a restart), and every member's next heartbeat or commit is answered so until it rejoins,
 * which kafkajs does by itself. kafkajs calls it not retriable (the retry is the rejoin, not the request), so it is not
 * among the settling errors; it logged at error on every consumer at each routine rebalance.
 */
const REBALANCE_MESSAGES: readonly string[] = protocolErrorMessages(new Set(['REBALANCE_IN_PROGRESS']), { retriableOnly: false });

function protocolErrorMessages(types: ReadonlySet<string>, { retriableOnly }: { readonly retriableOnly: boolean }): readonly string[] {
  try {
    const table: unknown = (createRequire(import.meta.url)('kafkajs/src/protocol/error.js') as { errorCodes?: unknown }).errorCodes;
    if (!Array.isArray(table)) return [];
    return table.flatMap((entry: unknown) => {
      const { type, retriable, message } = (entry ?? {}) as { type?: unknown; retriable?: unknown; message?: unknown };
      return typeof type === 'string' && types.has(type) && (retriable === true || !retriableOnly) && typeof message === 'string' && message.length > 0 ? [message] : [];
    });
  } catch {
    return [];
  }
}

/** What a kafkajs log line says: its message and the error it carries (`Response Heartbeat(…)` names only the request). */
const saidBy = (message: string, extra: Readonly<Record<string, unknown>>): string => `${message} ${typeof extra['error'] === 'string' ? extra['error'] : ''}`;

/** A kafkajs log line at error level that only reports a cluster settling, which kafkajs retries by itself. */
export function reportsSettlingCluster(message: string, extra: Readonly<Record<string, unknown>>): boolean {
  const said = saidBy(message, extra);
  return SETTLING_CLUSTER_MESSAGES.some((known) => said.includes(known));
}

/**
 * A kafkajs log line (error or warn) that only reports its consumer group rebalancing: `Response Heartbeat(key: 12,
 * version: 3)` or an OffsetCommit's answered REBALANCE_IN_PROGRESS, and kafkajs's own `The group is rebalancing,
 * re-joining`. Routine, so logged at info; a rebalance that never ends shows as the consumer's stall, not here. A
 * consumer that crashed on it (`Crash: …`) stays an error.
 */
export function reportsRebalance(message: string, extra: Readonly<Record<string, unknown>>): boolean {
  if (CONSUMER_CRASH.test(message)) return false;
  const said = saidBy(message, extra);
  return REBALANCE_MESSAGES.some((known) => said.includes(known));
}

/**
 * What a socket says when no broker is there to answer yet (not started, restarting, its DNS name not published yet)
 * or the way to it is down: kafkajs's KafkaJSConnectionError, which it retries. A certificate or SASL refusal is not
 * among them: it does not go away by itself, and stays an error. A TLS handshake cut before it began is: a TLS broker
 * restarting says that, and so does a plaintext listener given a TLS client, a misconfiguration the start's own
 * error then names when it gives up (failed to start while connecting to Kafka).
 */
const BROKER_UNREACHABLE = /\b(?:ECONNREFUSED|ECONNRESET|ETIMEDOUT|EHOSTUNREACH|ENETUNREACH|EHOSTDOWN|ENOTFOUND|EAI_AGAIN|EPIPE)\b|^Connection timeout$|^Client network socket disconnected before secure TLS connection was established$/;

/**
 * kafkajs's lines for one attempt that found no broker: its connection's, the seed broker pool's retry of it, and a
 * producer's send retried through a broker restart (the send's caller says when it gives up).
 */
const CONNECTION_ATTEMPT = /^(?:Failed to connect to seed broker, trying another broker from the list: |Failed to send messages: )?(?:Connection error: (.*)|(Connection timeout))$/;

/**
 * A kafkajs log line at error level that only says a broker was not reachable on one attempt, which kafkajs retries by
 * itself: a service started before its broker logged errors on every normal start. Orbit's own line says when it
 * gives up (`failed to start while connecting to Kafka`).
 */
export function reportsBrokerUnreachable(message: string): boolean {
  return unreachableReason(message) !== undefined;
}

/** What a line of reportsBrokerUnreachable says of why (`ECONNREFUSED`, `Connection timeout`), without the address. */
function unreachableReason(message: string): string | undefined {
  const attempt = CONNECTION_ATTEMPT.exec(message);
  const cause = attempt?.[1] ?? attempt?.[2];
  return cause === undefined ? undefined : BROKER_UNREACHABLE.exec(cause)?.[0];
}

/** How often a broker that stays unreachable for the same reason is said again, with the attempts that failed since. */
export const UNREACHABLE_REMINDER_MS = 60_000;

/**
 * The lines of attempts that found no broker, de-duplicated: kafkajs says each attempt of each connection, and its
 * seed broker pool says it again (the gateway wrote 379 lines a minute while Kafka was away). Said once, then when
 * the reason changes or each UNREACHABLE_REMINDER_MS with the count since, and once when a broker takes a connection
 * again. One run for the whole client: a broker reached ends it, whichever it is.
 */
function unreachableLines(log: Logger): { failed(fields: ReturnType<typeof kafkaLogFields>, message: string, reason: string): void; reached(broker: string): void } {
  let run: { reason: string; readonly since: number; attempts: number; saidAt: number; saidAttempts: number } | undefined;
  return {
    failed: (fields, message, reason) => {
      const now = Date.now();
      if (run === undefined) {
        run = { reason, since: now, attempts: 1, saidAt: now, saidAttempts: 1 };
        log.warn({ ...fields, code: BROKER_UNREACHABLE_CODE, reason, attempts: 1 }, message);
        return;
      }
      run.attempts += 1;
      const counts = { attempts: run.attempts, attemptsSinceLastLine: run.attempts - run.saidAttempts, unreachableForMs: now - run.since };
      if (run.reason !== reason) {
        log.warn({ ...fields, code: BROKER_UNREACHABLE_CODE, reason, previousReason: run.reason, ...counts }, message);
      } else if (now - run.saidAt >= UNREACHABLE_REMINDER_MS) {
        log.warn({ ...fields, code: BROKER_UNREACHABLE_CODE, reason, ...counts },
          `Kafka still unreachable (${reason}): ${counts.attemptsSinceLastLine} more failed attempts since the last line, not logged one by one; the last said: ${message}`);
      } else {
        return;
      }
      run.reason = reason;
      run.saidAt = now;
      run.saidAttempts = run.attempts;
    },
    reached: (broker) => {
      if (run === undefined) return;
      log.info({ broker, attempts: run.attempts, lastReason: run.reason, unreachableForMs: Date.now() - run.since }, 'Kafka reachable again: a broker took a connection');
      run = undefined;
    },
  };
}

/**
 * kafkajs's own socket factory, which says when a connection is made (the end of a run of unreachableLines). Read
 * from its source, which its index does not export; another shape there (another client) leaves kafkajs's default in
 * place, and the run without its end line.
 */
const KAFKAJS_SOCKET_FACTORY: ISocketFactory | undefined = kafkajsSocketFactory();

function kafkajsSocketFactory(): ISocketFactory | undefined {
  try {
    const make: unknown = createRequire(import.meta.url)('kafkajs/src/network/socketFactory.js');
    if (typeof make !== 'function') return undefined;
    const made: unknown = (make as () => unknown)();
    return typeof made === 'function' ? (made as ISocketFactory) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * kafkajs's sockets, telling `reached` of each connection once the broker has said something on it: a connection
 * alone is not a broker (a sidecar or load balancer in front of a broker that is down accepts and resets, and a TLS
 * endpoint may handshake and never answer; found by a reread: a "reachable again" line for every failed attempt).
 */
function watchedSockets(factory: ISocketFactory, reached: (broker: string) => void): ISocketFactory {
  return (args) => {
    const socket = factory(args);
    socket.once('data', () => reached(`${args.host}:${args.port}`));
    return socket;
  };
}

/** kafkajs's line for a consumer crash: `Crash: <error name>: <error message>`. */
const CONSUMER_CRASH = /^Crash: (KafkaJS\w+): ([\s\S]*)$/;

/** The kinds of crash a consumer has when its broker went away (a broker restart), whose restart kafkajs decides. */
const BROKER_AWAY_CRASHES: ReadonlySet<string> = new Set(['KafkaJSNoBrokerAvailableError', 'KafkaJSConnectionError', 'KafkaJSConnectionClosedError']);

/**
 * kafkajs saying it restarts a crashed consumer: a warning whatever the crash was, as its crash line and Orbit's own
 * `consumer crashed` line beside it say the crash at its level (the broker-restart test left this at error in CI).
 */
function reportsKafkaRestartingConsumer(message: string): boolean {
  return /^Restarting the consumer in \d+(?:\.\d+)?ms$/.test(message);
}

/** kafkajs's crash line of a consumer whose broker went away, which kafkajs restarts from: a warning, coded as a store away. */
function reportsBrokerAwayCrash(message: string): boolean {
  const crash = CONSUMER_CRASH.exec(message);
  if (crash === null) return false;
  const [, name = '', said = ''] = crash;
  // Retries spent, or (seen in CI at a broker restart) kafkajs's retry giving up on a refused connection as non-retriable.
  return BROKER_AWAY_CRASHES.has(name) || ((name === 'KafkaJSNumberOfRetriesExceeded' || name === 'KafkaJSNonRetriableError') && reportsBrokerUnreachable(said));
}

/**
 * The fields of a kafkajs log line, as Orbit logs them: kafkajs's own under `kafka`, so its numeric `correlationId`
 * (a request's number on the broker connection) does not replace Orbit's (the request id carried by the event) in a
 * line of a child logger, and without kafkajs's `timestamp` and `logger`, which the line's `time` and `component` say.
 */
export function kafkaLogFields(namespace: string, entry: Readonly<Record<string, unknown>>): { namespace: string; kafka: Record<string, unknown> } {
  const { message: _message, timestamp: _timestamp, logger: _logger, ...kafka } = entry;
  return { namespace, kafka };
}

/** The code of a broker not reachable, as StoreUnavailableError says it: for a log search by code, not by kafkajs's words. */
const BROKER_UNREACHABLE_CODE: ErrorCode = 'ORBIT_ERR_STORE_UNAVAILABLE';

/** Resource types of describeConfigs / alterConfigs. */
export const ConfigResourceTypes = kafkajs.ConfigResourceTypes;
/** The class of every error kafkajs raises: an operations command says it as Kafka being unavailable, naming the brokers. */
export const { KafkaJSError } = kafkajs;
/** What an ACL names: resource, pattern, operation and permission. */
export const { AclResourceTypes, AclOperationTypes, AclPermissionTypes, ResourcePatternTypes } = kafkajs;

export interface KafkaClientOptions extends KafkaConnection {
  readonly clientId: string;
  readonly logger: Logger;
  /** Client-level retries; health probes want none. @default 8 retries up to 10 s apart */
  readonly retries?: number;
  /** @default 3000 */
  readonly connectionTimeoutMs?: number;
  /**
   * How long one request may wait for the broker's answer. Services keep kafkajs's 30 s; an operations command a
   * person waits on asks for about its own deadline (`dlq:* --timeout`): a silent broker otherwise held it 30 s per
   * request, eight retries over (five minutes). @default 30000
   */
  readonly requestTimeoutMs?: number;
}

/** kafkajs logs through our pino logger so broker trouble lands in the same JSON stream. */
export function createKafka(options: KafkaClientOptions): InstanceType<typeof KafkaClient> {
  const log = options.logger.child({ component: 'kafkajs' });
  const unreachable = unreachableLines(log);
  return new KafkaClient({
    clientId: options.clientId,
    brokers: [...options.brokers],
    ...(options.ssl ? { ssl: options.ssl } : {}),
    ...(options.sasl ? { sasl: { ...options.sasl } } : {}),
    connectionTimeout: options.connectionTimeoutMs ?? 3_000,
    requestTimeout: options.requestTimeoutMs ?? 30_000,
    retry: { initialRetryTime: 200, retries: options.retries ?? 8, maxRetryTime: 10_000 },
    ...(KAFKAJS_SOCKET_FACTORY ? { socketFactory: watchedSockets(KAFKAJS_SOCKET_FACTORY, unreachable.reached) } : {}),
    logLevel: logLevel.WARN,
    logCreator: () => ({ namespace, level, log: entry }) => {
      const message = String(entry.message);
      const fields = kafkaLogFields(namespace, entry);
      const unreachableBecause = level <= logLevel.ERROR ? unreachableReason(message) : undefined;
      // The restart line carries no code: it follows any crash kafkajs restarts from, not only a broker away (bug reread).
      if (level <= logLevel.ERROR && reportsKafkaRestartingConsumer(message)) log.warn(fields, message);
      else if (unreachableBecause !== undefined) unreachable.failed(fields, message, unreachableBecause);
      else if (level <= logLevel.ERROR && reportsBrokerAwayCrash(message)) log.warn({ ...fields, code: BROKER_UNREACHABLE_CODE }, message);
      else if (level <= logLevel.WARN && reportsRebalance(message, fields.kafka)) log.info(fields, message);
      else if (level <= logLevel.ERROR && !reportsSettlingCluster(message, fields.kafka)) log.error(fields, message);
      else if (level <= logLevel.WARN && !EXPECTED_WARNINGS.has(message)) log.warn(fields, message);
      else log.debug(fields, message);
    },
  });
}

/**
 * The producer every Orbit writer uses: idempotent (acks=-1, one request in
 * flight, so a retried send does not duplicate or reorder), no topic created
 * by accident, and the Java client's murmur2 partitioner named outright (it
 * is kafkajs's default since v2, which otherwise warns about the change at
 * each start), so a Java or Go producer keyed by imageUID picks the same
 * partition.
 */
export function orbitProducer(kafka: InstanceType<typeof KafkaClient>, transactional?: { readonly transactionalId: string; readonly transactionTimeoutMs: number }): kafkajs.Producer {
  return kafka.producer({
    idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false, createPartitioner: Partitioners.DefaultPartitioner,
    ...(transactional ? { transactionalId: transactional.transactionalId, transactionTimeout: transactional.transactionTimeoutMs } : {}),
  });
}
