import { errorCodeOf } from '../error-description.js';
import { OrbitError } from '../errors.js';

/**
 * The reason code (docs/errors.md) of a failure that may come from the Kafka client: kafkajs's errors carry no code
 * of their own, or a numeric protocol one, so one of theirs is ORBIT_ERR_STORE_UNAVAILABLE (Kafka not answering, or
 * refusing the service's credentials); `err` still names kafkajs's kind (KafkaJSNoBrokerAvailableError). Any other
 * error's own code (ours, EADDRINUSE), else its name. One rule for a failed start and a consumer's crash, so an alert
 * on the code sees both.
 */
export function kafkaFailureCode(error: unknown): string {
  if (error instanceof Error && !(error instanceof OrbitError) && error.name.startsWith('KafkaJS')) return 'ORBIT_ERR_STORE_UNAVAILABLE';
  return errorCodeOf(error);
}
