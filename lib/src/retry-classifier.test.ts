import { createServer, type AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { DecodeError, StoreUnavailableError } from './errors.js';
import { createKafka } from './kafka/client.js';
import { createLogger } from './logger.js';
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

  it('waits for a MySQL database or table that is not there (a restore under way) and for a server that refuses the user, but not for a refused statement', () => {
    expect(isRetriable(withFields('Error', { code: 'ER_BAD_DB_ERROR', errno: 1049 }))).toBe(true);
    expect(isRetriable(withFields('Error', { code: 'ER_NO_SUCH_TABLE', errno: 1146 }))).toBe(true);
    // An unknown column is the statement's mistake on a current schema; a missing migration is waited for by
    // waitForCurrentSchema and waitingWhileSchemaBehind, which read schema_migrations.
    expect(isRetriable(withFields('Error', { code: 'ER_BAD_FIELD_ERROR', errno: 1054, sqlState: '42S22' }))).toBe(false);
    // Its tables swapped by a rebuild while it was prepared again: prepared anew, it works.
    expect(isRetriable(withFields('Error', { code: 'ER_NEED_REPREPARE', errno: 1615 }))).toBe(true);
    expect(isRetriable(withFields('Error', { code: 'ER_DATA_TOO_LONG', errno: 1406, sqlState: '22001' }))).toBe(false);
    // Refused as a user, not for a message: a rotated password, a client certificate gone, a failover's read-only
    // replica, a full disk. Shaped as mysql2 makes a server's error packet: errno and sqlState, never fatal.
    expect(isRetriable(withFields('Error', { code: 'ER_ACCESS_DENIED_ERROR', errno: 1045, sqlState: '28000' }))).toBe(true);
    expect(isRetriable(withFields('Error', { code: 'ER_TABLEACCESS_DENIED_ERROR', errno: 1142, sqlState: '42000' }))).toBe(true);
    expect(isRetriable(withFields('Error', { code: 'ER_OPTION_PREVENTS_STATEMENT', errno: 1290, sqlState: 'HY000' }))).toBe(true);
    expect(isRetriable(withFields('Error', { code: 'ER_READ_ONLY_MODE', errno: 1836, sqlState: 'HY000' }))).toBe(true);
    expect(isRetriable(withFields('Error', { code: 'ER_MUST_CHANGE_PASSWORD', errno: 1820, sqlState: 'HY000' }))).toBe(true);
    expect(isRetriable(withFields('Error', { code: 'ER_RECORD_FILE_FULL', errno: 1114, sqlState: 'HY000' }))).toBe(true);
    // The binary log switched to STATEMENT format under a running projector: every write refused, none of them at fault.
    expect(isRetriable(withFields('Error', { code: 'ER_BINLOG_STMT_MODE_AND_ROW_ENGINE', errno: 1665, sqlState: 'HY000' }))).toBe(true);
    // MariaDB's own numbers, which mysql2 names wrongly (4151, account locked) or not at all (1927, a DBA's KILL).
    expect(isRetriable(withFields('Error', { code: 'ER_BULK_PARSER_INCOMPLETE_ESCAPE_SEQUENCE', errno: 4151, sqlState: 'HY000' }))).toBe(true);
    expect(isRetriable(withFields('Error', { errno: 1927, sqlState: '70100' }))).toBe(true);
    // A Galera node not yet synced.
    expect(isRetriable(withFields('Error', { code: 'ER_UNKNOWN_COM_ERROR', errno: 1047, sqlState: '08S01' }))).toBe(true);
    // Ending the connection, marked fatal by mysql2: a TLS handshake that failed, a server's unasked error packet.
    expect(isRetriable(withFields('Error', { code: 'HANDSHAKE_SSL_ERROR', fatal: true }))).toBe(true);
    expect(isRetriable(withFields('Error', { code: 'ER_CLIENT_INTERACTION_TIMEOUT', errno: 4031, sqlState: 'HY000', fatal: true }))).toBe(true);
    // A result mysql2 could not parse is marked fatal too, with no code: it may be the message's doing.
    expect(isRetriable(withFields('TypeError', { fatal: true }))).toBe(false);
    // The server hangs up on a statement too large for it: that statement is at fault, though reported as 08S01.
    expect(isRetriable(withFields('Error', { code: 'ER_NET_PACKET_TOO_LARGE', errno: 1153, sqlState: '08S01' }))).toBe(false);
    expect(isRetriable(withFields('Error', { code: 'ER_SIGNAL_EXCEPTION', errno: 1644, sqlState: '45000' }))).toBe(false);
    expect(isRetriable(withFields('Error', { code: 'ER_DUP_ENTRY', errno: 1062, sqlState: '23000' }))).toBe(false);
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

  it('asks the cause when kafkajs ran out of its own retries', () => {
    const exhausted = (cause: Error): Error => withFields('KafkaJSNumberOfRetriesExceeded', { retriable: false, cause });
    expect(isRetriable(exhausted(withFields('KafkaJSConnectionError', { retriable: true, code: 'ECONNREFUSED' })))).toBe(true);
    expect(isRetriable(exhausted(withFields('KafkaJSProtocolError', { retriable: false })))).toBe(false);
    // An outer kafkajs retrier wraps the inner one's give-up (a send whose broker went away mid-way); kafkajs
    // copies the root cause up. The crash test dead-lettered an ImageStored this way during a broker restart.
    const wrapped = (cause: Error): Error => withFields('KafkaJSNonRetriableError', { retriable: false, cause });
    expect(isRetriable(wrapped(withFields('KafkaJSConnectionError', { retriable: true, code: 'ECONNREFUSED' })))).toBe(true);
    expect(isRetriable(wrapped(withFields('KafkaJSProtocolError', { retriable: false, type: 'TOPIC_AUTHORIZATION_FAILED' })))).toBe(false);
    // Thrown as such for bad input, with nothing behind it: not retriable.
    expect(isRetriable(withFields('KafkaJSNonRetriableError', { retriable: false }))).toBe(false);
  });

  it('retries a real kafkajs client that gave up on a broker that is not there', async () => {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    await new Promise<void>((resolve) => server.close(() => resolve()));
    // A port nobody listens on any more: every connect is refused, as during a broker restart.
    const kafka = createKafka({ clientId: 'classifier-test', brokers: [`127.0.0.1:${port}`], retries: 1, logger: createLogger({ service: 'classifier-test', level: 'silent' }) });
    const admin = kafka.admin();
    const failure = await admin.connect().then(() => undefined, (error: unknown) => error);
    expect(failure).toMatchObject({ name: 'KafkaJSNumberOfRetriesExceeded', retriable: false });
    expect(isRetriable(failure)).toBe(true);
  });

  it('never retries programming errors or the message text alone', () => {
    expect(isRetriable(new TypeError('ECONNREFUSED'))).toBe(false);
    expect(isRetriable('ECONNREFUSED')).toBe(false);
  });

  const selfCaused = new Error('its own cause');
  Object.assign(selfCaused, { cause: selfCaused });
  const wrapping = new Error('wraps the next');
  const wrapped = new Error('wraps the first');
  Object.assign(wrapping, { cause: wrapped });
  Object.assign(wrapped, { cause: wrapping });
  it.each<[string, unknown, boolean]>([
    ['a packet too large for the server, though mysql2 marks it fatal and 08S01', withFields('Error', { code: 'ER_NET_PACKET_TOO_LARGE', errno: 1153, sqlState: '08S01', fatal: true }), false],
    ['an AWS call that got no HTTP answer at all', withFields('X', { $metadata: {} }), true],
    ['an AWS 500 under a name not listed', withFields('X', { $metadata: { httpStatusCode: 500 } }), true],
    ['an AWS 429 under a name not listed', withFields('X', { $metadata: { httpStatusCode: 429 } }), true],
    ['an AWS error the SDK marks $retryable', withFields('X', { $retryable: { throttling: false } }), true],
    ['S3\'s 409 to a conditional write racing another', withFields('ConditionalRequestConflict', { $metadata: { httpStatusCode: 409 } }), true],
    ['an authorization failure (SQLSTATE class 28) under a code not listed', withFields('Error', { code: 'ER_SOMETHING_NEW', errno: 9999, sqlState: '28000' }), true],
    ['a reset connection', withFields('Error', { code: 'ECONNRESET' }), true],
    ['an error whose cause is itself (answered, without recursing forever)', selfCaused, false],
    ['two errors each the other\'s cause (answered, without overflowing the stack)', wrapping, false],
    ['several failures of which one is transient', new AggregateError([withFields('Error', { code: 'ER_DUP_ENTRY', errno: 1062, sqlState: '23000' }), withFields('Error', { code: 'ECONNRESET' })]), true],
  ])('says whether to try again after %s', (_, error, retriable) => {
    expect(isRetriable(error)).toBe(retriable);
  });

  it('looks through causes', () => {
    expect(isRetriable(new Error('wrapped', { cause: withFields('Error', { code: 'ETIMEDOUT' }) }))).toBe(true);
  });
});
