/**
 * The only module that imports the Kafka client library. Everything else in
 * Orbit sees the KafkaJS API through the names re-exported here, so a
 * KafkaJS-compatible client (Confluent's `@confluentinc/kafka-javascript`
 * KafkaJS API) replaces kafkajs by changing this file alone.
 */
import kafkajs from 'kafkajs';
import type { Logger } from '../logger.js';

export type {
  Admin, Consumer, Producer, EachBatchPayload, IHeaders, KafkaMessage, ITopicConfig, Kafka,
} from 'kafkajs';

const { Kafka: KafkaClient, logLevel } = kafkajs;

/** Resource types of describeConfigs / alterConfigs. */
export const ConfigResourceTypes = kafkajs.ConfigResourceTypes;

export interface KafkaClientOptions {
  readonly clientId: string;
  readonly brokers: readonly string[];
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
    connectionTimeout: options.connectionTimeoutMs ?? 3_000,
    requestTimeout: 30_000,
    retry: { initialRetryTime: 200, retries: options.retries ?? 8, maxRetryTime: 10_000 },
    logLevel: logLevel.WARN,
    logCreator: () => ({ namespace, level, log: entry }) => {
      const { message, ...extra } = entry;
      const fields = { namespace, ...extra };
      if (level <= logLevel.ERROR) log.error(fields, message);
      else if (level === logLevel.WARN) log.warn(fields, message);
      else log.debug(fields, message);
    },
  });
}
