import { describe, expect, it } from 'vitest';
import { DecodeError, StoreUnavailableError } from './errors.js';
import { isRetriable } from './retry-classifier.js';

function withFields(name: string, fields: Record<string, unknown>): Error {
  return Object.assign(new Error('any text at all'), { name, ...fields });
}

describe('isRetriable', () => {
  it('trusts the flag of our own errors', () => {
    expect(isRetriable(new StoreUnavailableError('s3', undefined))).toBe(true);
    expect(isRetriable(new DecodeError('t', undefined))).toBe(false);
  });

  it('treats a refused or reset connection as transient', () => {
    expect(isRetriable(withFields('Error', { code: 'ECONNREFUSED' }))).toBe(true);
    expect(isRetriable(new AggregateError([withFields('Error', { code: 'ECONNREFUSED' })]))).toBe(true);
    expect(isRetriable(withFields('Error', { code: 'PROTOCOL_CONNECTION_LOST', fatal: true }))).toBe(true);
  });

  it('reads AWS statuses: 5xx and throttling retry, 4xx does not', () => {
    expect(isRetriable(withFields('InternalError', { $metadata: { httpStatusCode: 500 } }))).toBe(true);
    expect(isRetriable(withFields('Whatever', { $metadata: { httpStatusCode: 503 } }))).toBe(true);
    expect(isRetriable(withFields('NoSuchKey', { $metadata: { httpStatusCode: 404 } }))).toBe(false);
    expect(isRetriable(withFields('ConditionalCheckFailedException', { $metadata: { httpStatusCode: 400 } }))).toBe(false);
  });

  it('follows kafkajs retriable flags', () => {
    expect(isRetriable(withFields('KafkaJSConnectionError', { retriable: true }))).toBe(true);
    expect(isRetriable(withFields('KafkaJSProtocolError', { retriable: false }))).toBe(false);
  });

  it('never retries programming errors or the message text alone', () => {
    expect(isRetriable(new TypeError('ECONNREFUSED'))).toBe(false);
    expect(isRetriable('ECONNREFUSED')).toBe(false);
  });

  it('looks through causes', () => {
    expect(isRetriable(new Error('wrapped', { cause: withFields('Error', { code: 'ETIMEDOUT' }) }))).toBe(true);
  });
});
