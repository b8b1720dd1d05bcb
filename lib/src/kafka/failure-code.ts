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
  const innermost = originalCause(error);
  if (innermost instanceof Error && !(innermost instanceof OrbitError) && innermost.name.startsWith('KafkaJS')) return 'ORBIT_ERR_STORE_UNAVAILABLE';
  return errorCodeOf(innermost);
}

/**
 * What kafkajs wrapped: a failure of the service's own batch handler reaches its crash as KafkaJSNumberOfRetriesExceeded
 * or KafkaJSNonRetriableError around it (found by a review: a TypeError of ours was reported as Kafka unavailable).
 */
function originalCause(error: unknown): unknown {
  let current = error;
  for (let depth = 0; depth < 10 && current instanceof Error && current.name.startsWith('KafkaJS') && current.cause !== undefined; depth++) current = current.cause;
  return current;
}
