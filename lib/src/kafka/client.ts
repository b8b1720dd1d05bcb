/**
 * The only module that imports the Kafka client library. Everything else in
 * Orbit sees the KafkaJS API through the names re-exported here, so a
 * KafkaJS-compatible client (Confluent's `@confluentinc/kafka-javascript`
 * KafkaJS API) replaces kafkajs by changing this file alone.
 */
import kafkajs from 'kafkajs';
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

/** Resource types of describeConfigs / alterConfigs. */
export const ConfigResourceTypes = kafkajs.ConfigResourceTypes;
/** What an ACL names: resource, pattern, operation and permission. */
export const { AclResourceTypes, AclOperationTypes, AclPermissionTypes, ResourcePatternTypes } = kafkajs;

export interface KafkaClientOptions extends KafkaConnection {
  readonly clientId: string;
  readonly logger: Logger;
  /** Client-level retries; health probes want none. @default 8 retries up to 10 s apart */
  readonly retries?: number;
  /** @default 3000 */
  readonly connectionTimeoutMs?: number;
}

/** kafkajs logs through our pino logger so broker trouble lands in the same JSON stream. */
export function createKafka(options: KafkaClientOptions): InstanceType<typeof KafkaClient> {
  const log = options.logger.child({ component: 'kafkajs' });
  return new KafkaClient({
    clientId: options.clientId,
    brokers: [...options.brokers],
    ...(options.ssl ? { ssl: options.ssl } : {}),
    ...(options.sasl ? { sasl: { ...options.sasl } } : {}),
    connectionTimeout: options.connectionTimeoutMs ?? 3_000,
    requestTimeout: 30_000,
    retry: { initialRetryTime: 200, retries: options.retries ?? 8, maxRetryTime: 10_000 },
    logLevel: logLevel.WARN,
    logCreator: () => ({ namespace, level, log: entry }) => {
      const { message, ...extra } = entry;
      const fields = { namespace, ...extra };
      if (level <= logLevel.ERROR) log.error(fields, message);
      else if (level === logLevel.WARN && !EXPECTED_WARNINGS.has(String(message))) log.warn(fields, message);
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
export function orbitProducer(kafka: InstanceType<typeof KafkaClient>): kafkajs.Producer {
  return kafka.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false, createPartitioner: Partitioners.DefaultPartitioner });
}
