import { answerWithin } from '../deadline.js';
import { StoreUnavailableError } from '../errors.js';
import { createKafka, type KafkaClientOptions } from './client.js';

/** How long an ops command waits for a broker's first answer before it says Kafka is unavailable. */
export const KAFKA_ANSWER_DEADLINE_MS = 10_000;

/**
 * Resolves once a broker has answered (connected, ApiVersions and any SASL
 * exchange done); throws StoreUnavailableError naming the brokers otherwise,
 * within `deadlineMs`. An ops command asks this first: its own client's eight
 * retries took 36 s to give up on a closed port, and a broker that accepts the
 * connection and never answers held it 30 s per request, 97 s in all, ending
 * in kafkajs's "Broker not connected" that names no broker. The command's work
 * keeps the usual retries, for a cluster that is only settling.
 */
export async function kafkaAnswers(options: KafkaClientOptions, deadlineMs = KAFKA_ANSWER_DEADLINE_MS): Promise<void> {
  const admin = createKafka({ ...options, retries: 1 }).admin();
  const seconds = Math.round(deadlineMs / 100) / 10;
  try {
    await answerWithin(admin.connect(), deadlineMs, () => new Error(`no broker answered within ${seconds} s`));
  } catch (error) {
    throw new StoreUnavailableError(`Kafka at ${options.brokers.join(',')}`, error);
  } finally {
    // Not awaited: a broker that never answered may never let the connection close politely either.
    void admin.disconnect().catch(() => undefined);
  }
}
