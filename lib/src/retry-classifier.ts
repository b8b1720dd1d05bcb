import { OrbitError } from './errors.js';

/** Socket-level failures: the peer is down or unreachable, so a later attempt may work. */
const TRANSIENT_SYSTEM_CODES: ReadonlySet<string> = new Set([
  'ECONNREFUSED', 'ECONNRESET', 'ECONNABORTED', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH',
  'ENETUNREACH', 'EAI_AGAIN', 'ENOTFOUND', 'ESOCKETTIMEDOUT', 'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
  // mysql2: connection dropped, server shutting down, deadlocks and lock waits.
  'PROTOCOL_CONNECTION_LOST', 'PROTOCOL_SEQUENCE_TIMEOUT', 'ER_CON_COUNT_ERROR',
  'ER_SERVER_SHUTDOWN', 'ER_LOCK_DEADLOCK', 'ER_LOCK_WAIT_TIMEOUT', 'ER_QUERY_INTERRUPTED',
  'ER_CONNECTION_KILLED',
  // A prepared statement whose tables were swapped (a rebuild's RENAME) while it was prepared again: prepared anew next time.
  'ER_NEED_REPREPARE',
  // The database or a table is not there (being restored, or created again empty and not yet migrated):
  // the partition waits for it instead of sending every message to the DLQ meanwhile.
  'ER_BAD_DB_ERROR', 'ER_NO_SUCH_TABLE',
  // Not ER_BAD_FIELD_ERROR (an unknown column): on a current schema it is the statement's own mistake, which a wait
  // would repeat for ever on every message. A database lacking a migration is seen by its schema_migrations instead:
  // services do not start on one (waitForCurrentSchema), and the projector waits on one that falls behind
  // (waitingWhileSchemaBehind).
  // The server refuses Orbit's user (a rotated password, a missing client certificate, a grant taken away) or, after a
  // failover, is read-only: no message is at fault, so each waits for the operator's fix instead of going to the DLQ
  // (where the projector, without its database, could not even record the letter).
  // (A refusal at login never gets here: createMysqlPool makes any connection it cannot open a MysqlConnectError.)
  'ER_ACCESS_DENIED_ERROR', 'ER_DBACCESS_DENIED_ERROR', 'ER_TABLEACCESS_DENIED_ERROR', 'ER_COLUMNACCESS_DENIED_ERROR',
  'ER_SPECIFIC_ACCESS_DENIED_ERROR', 'ER_HOST_IS_BLOCKED', 'ER_HOST_NOT_PRIVILEGED', 'ER_TOO_MANY_USER_CONNECTIONS',
  'ER_USER_LIMIT_REACHED', 'ER_MUST_CHANGE_PASSWORD', 'ER_MUST_CHANGE_PASSWORD_LOGIN', 'ER_ACCOUNT_HAS_BEEN_LOCKED',
  'ER_USER_ACCESS_DENIED_FOR_USER_ACCOUNT_BLOCKED_BY_PASSWORD_LOCK', 'ER_SERVER_OFFLINE_MODE',
  'ER_CLIENT_INTERACTION_TIMEOUT', 'HANDSHAKE_SSL_ERROR', 'HANDSHAKE_NO_SSL_SUPPORT',
  'ER_OPTION_PREVENTS_STATEMENT', 'ER_READ_ONLY_MODE', 'ER_INNODB_READ_ONLY', 'ER_CANT_EXECUTE_IN_READ_ONLY_TRANSACTION',
  // The server is out of disk, memory or transaction slots: the operator's to fix, not the message's.
  'ER_RECORD_FILE_FULL', 'ER_DISK_FULL', 'ER_OUT_OF_RESOURCES', 'ER_OUTOFMEMORY', 'ER_TOO_MANY_CONCURRENT_TRXS',
  // The binary log was switched to STATEMENT format, which refuses READ COMMITTED writes: the server's setting, not the
  // message (the projector refuses such a server at start; this is one switched while it runs).
  'ER_BINLOG_STMT_MODE_AND_ROW_ENGINE',
]);

/**
 * SQLSTATE classes a MySQL server answers with when the session, not the statement, failed: 08, the connection
 * (a Galera node not yet synced answers 08S01), and 28, authorization.
 */
const TRANSIENT_SQL_STATE_CLASSES: ReadonlySet<string> = new Set(['08', '28']);
/**
 * MariaDB's own numbers, which mysql2 names from MySQL's table (wrongly, or not at all): 1927, the connection killed
 * (a DBA's KILL, SQLSTATE 70100); 4151, the account locked (HY000). Read only from a server's answer (with a sqlState).
 */
const TRANSIENT_MARIADB_ERRNOS: ReadonlySet<number> = new Set([1927, 4151]);
/** Reported as 08S01, yet the statement's own fault: it is larger than the server takes. */
const STATEMENT_TOO_LARGE = 'ER_NET_PACKET_TOO_LARGE';

/** AWS error names that mean "later", whatever the HTTP status says. */
const TRANSIENT_AWS_NAMES: ReadonlySet<string> = new Set([
  'TimeoutError', 'RequestTimeout', 'RequestTimeoutException', 'ThrottlingException',
  'Throttling', 'SlowDown', 'ServiceUnavailable', 'InternalError', 'InternalServerError',
  'ProvisionedThroughputExceededException', 'RequestLimitExceeded', 'TransactionConflictException',
  // S3's 409 to a conditional write racing another on the same key: "On a 409 failure you should retry".
  'ConditionalRequestConflict',
]);

/** kafkajs errors that say "not retriable" about kafkajs's own retries, not about what failed; their cause says that. */
const KAFKAJS_GAVE_UP: ReadonlySet<string> = new Set(['KafkaJSNumberOfRetriesExceeded', 'KafkaJSNonRetriableError']);

function field(error: object, key: string): unknown {
  return (error as Record<string, unknown>)[key];
}

/**
 * True when `error` says a later attempt may succeed. Reads only data the
 * libraries put on their errors (flags, codes, statuses), never message text.
 */
export function isRetriable(error: unknown): boolean {
  return judged(error, new Set());
}

/** isRetriable of `error`, the errors already `seen` down its causes judged no further: a cycle of causes ends. */
function judged(error: unknown, seen: Set<object>): boolean {
  if (typeof error !== 'object' || error === null || seen.has(error)) return false;
  seen.add(error);
  if (error instanceof OrbitError) return error.retriable;
  if (error instanceof AggregateError) return error.errors.some((inner) => judged(inner, seen));
  const retriable = field(error, 'retriable');
  // kafkajs gives up after its own retries with retriable: false, whatever failed (a broker down for those
  // ~15 s is up again a moment later), and an outer retrier wraps that in a KafkaJSNonRetriableError
  // (a send on a producer whose broker went away). Whether to try again is the cause's to say.
  if (KAFKAJS_GAVE_UP.has(String(field(error, 'name')))) return judged(field(error, 'cause'), seen);
  if (typeof retriable === 'boolean') return retriable; // kafkajs
  const code = field(error, 'code');
  if (typeof code === 'string' && TRANSIENT_SYSTEM_CODES.has(code)) return true;
  // mysql2 marks fatal an error that ended the connection: the socket's, the TLS handshake's, a server's error
  // packet that came unasked (a shutdown, an idle timeout). It also marks fatal a result it could not parse, which has
  // no code and may be the message's doing, so a code is asked for.
  if (field(error, 'fatal') === true && typeof code === 'string' && code !== STATEMENT_TOO_LARGE) return true;
  const sqlState = field(error, 'sqlState');
  if (typeof sqlState === 'string' && TRANSIENT_SQL_STATE_CLASSES.has(sqlState.slice(0, 2)) && code !== STATEMENT_TOO_LARGE) return true;
  const errno = field(error, 'errno');
  if (typeof sqlState === 'string' && typeof errno === 'number' && TRANSIENT_MARIADB_ERRNOS.has(errno)) return true;
  const name = field(error, 'name');
  if (typeof name === 'string' && TRANSIENT_AWS_NAMES.has(name)) return true;
  if (field(error, '$retryable') !== undefined) return true;
  const metadata = field(error, '$metadata');
  if (typeof metadata === 'object' && metadata !== null) {
    const status = field(metadata, 'httpStatusCode');
    if (status === undefined) return true; // no HTTP answer at all: the endpoint is down
    if (typeof status === 'number' && (status >= 500 || status === 429)) return true;
  }
  return judged(field(error, 'cause'), seen);
}
