import { describe, expect, it } from 'vitest';
import { StoreUnavailableError } from '../errors.js';
import { MysqlConnectError, MysqlSilentError } from '../mysql.js';
import { RegistryUnavailableError } from '../registry/registry-errors.js';
import { SchemaBehindError } from '../schema-migrations.js';
import { RETRY_REASONS, retryReasonOf } from './instrumentation.js';

/** kafkajs's error as the client throws it: its kind in its name. */
class KafkaJSConnectionError extends Error {
  override readonly name = 'KafkaJSConnectionError';
  readonly retriable = true;
}

const aws = (awsCall: string, fields: Record<string, unknown> = {}): Error => Object.assign(new Error('socket hang up'), { awsCall, $metadata: {}, ...fields });

describe('the reason of a retry', () => {
  it('names the dependency an error carries, down its causes, from the errors\' own fields', () => {
    const said: [unknown, string][] = [
      [aws('HeadObject s3://orbit-uploads/u/1', { code: 'ECONNRESET' }), 's3'],
      [aws('BatchWriteItem events', { code: 'ECONNRESET' }), 'dynamodb'],
      [aws('TransactWriteItems requests, images'), 'dynamodb'],
      [aws('Query images'), 'dynamodb'],
      [new StoreUnavailableError('dynamodb', 'BatchWriteItem kept leaving items unprocessed'), 'dynamodb'],
      [new StoreUnavailableError('S3', new Error('raced')), 's3'],
      [new MysqlConnectError(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED', fatal: true })), 'mysql'],
      [new MysqlSilentError('a COMMIT', 10_000, true, 'MySQL at db:3306/viewport'), 'mysql'],
      [Object.assign(new Error('Deadlock found'), { code: 'ER_LOCK_DEADLOCK', errno: 1213, sqlState: '40001' }), 'mysql'],
      [Object.assign(new Error('Connection lost'), { code: 'PROTOCOL_CONNECTION_LOST', fatal: true }), 'mysql'],
      [new SchemaBehindError(['0042']), 'mysql'],
      [new RegistryUnavailableError('harbor.example', new Error('fetch failed')), 'registry'],
      [new StoreUnavailableError('schema-registry', new Error('status 400: connect ECONNREFUSED')), 'schema-registry'],
      [new StoreUnavailableError('the schema registry at registry:8081', new Error('down')), 'schema-registry'],
      [new StoreUnavailableError('Kafka at kafka-0:9092', new Error('down')), 'kafka'],
      [new KafkaJSConnectionError('Connection error: connect ECONNREFUSED'), 'kafka'],
      // A store of its own words, wrapping an S3 error: the S3 call names it.
      [new StoreUnavailableError('the uploaded archive stream', aws('GetObject s3://orbit-uploads/u/1')), 's3'],
      [new StoreUnavailableError('the zstd decoder', new Error('killed')), 'other'],
      [Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }), 'other'],
      ['a string', 'other'],
      [undefined, 'other'],
    ];
    expect(said.map(([error]) => retryReasonOf(error))).toEqual(said.map(([, reason]) => reason));
  });

  it('is one of a few values whatever the error, and ends on a cycle of causes', () => {
    const looped = new Error('a') as Error & { cause?: unknown };
    looped.cause = new Error('b', { cause: looped });
    expect(retryReasonOf(looped)).toBe('other');
    expect(RETRY_REASONS).toEqual(['s3', 'dynamodb', 'mysql', 'registry', 'schema-registry', 'kafka', 'other']);
  });
});
