import { describe, expect, it } from 'vitest';
import { StoreUnavailableError } from '../errors.js';
import { kafkaFailureCode } from './failure-code.js';

/** kafkajs's error as the client throws it (kafkajs itself is client.ts's alone): no code, its kind in its name. */
class KafkaJSNoBrokerAvailableError extends Error {
  override readonly name = 'KafkaJSNoBrokerAvailableError';
  readonly retriable = true;
}

describe('kafkaFailureCode', () => {
  it('calls a Kafka client failure a store outage, and keeps any other error\'s own code', () => {
    expect(kafkaFailureCode(new KafkaJSNoBrokerAvailableError('Failed to connect: broker at 127.0.0.1:1 not available'))).toBe('ORBIT_ERR_STORE_UNAVAILABLE');
    expect(kafkaFailureCode(new StoreUnavailableError('schema registry', new Error('refused')))).toBe('ORBIT_ERR_STORE_UNAVAILABLE');
    expect(kafkaFailureCode(Object.assign(new Error('listen'), { code: 'EADDRINUSE' }))).toBe('EADDRINUSE');
    expect(kafkaFailureCode(new TypeError('x is undefined'))).toBe('TypeError');
  });

  it('looks through what kafkajs wraps around a failure of the service\'s own handler (found by a review)', () => {
    const wrapped = (name: string, cause: Error): Error => Object.assign(new Error(cause.message, { cause }), { name });
    expect(kafkaFailureCode(wrapped('KafkaJSNumberOfRetriesExceeded', new TypeError('x is undefined')))).toBe('TypeError');
    expect(kafkaFailureCode(wrapped('KafkaJSNonRetriableError', new StoreUnavailableError('mysql', new Error('gone'))))).toBe('ORBIT_ERR_STORE_UNAVAILABLE');
    expect(kafkaFailureCode(wrapped('KafkaJSNumberOfRetriesExceeded', new KafkaJSNoBrokerAvailableError('no broker')))).toBe('ORBIT_ERR_STORE_UNAVAILABLE');
    expect(kafkaFailureCode(wrapped('KafkaJSNumberOfRetriesExceeded', Object.assign(new Error('listen'), { code: 'EADDRINUSE' })))).toBe('EADDRINUSE');
  });
});
