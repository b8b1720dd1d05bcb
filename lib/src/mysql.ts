import mysql from 'mysql2/promise';
import { answerWithin } from './deadline.js';
import { StoreUnavailableError } from './errors.js';

/** The database a mysql:// URL names (its path, decoded). */
export const databaseOf = (mysqlUrl: string): string => decodeURIComponent(new URL(mysqlUrl).pathname.replace(/^\//, ''));

type Call = (...args: unknown[]) => Promise<unknown>;

/** What a connection is asked to do that waits for the server's answer. */
const ANSWERED_CALLS: ReadonlySet<PropertyKey> = new Set(['query', 'execute', 'beginTransaction', 'commit', 'rollback', 'ping']);

/**
 * MySQL would not give Orbit a connection: down, unreachable, or refusing at login (a rotated password, an
 * expired or locked account, offline mode, a TLS mismatch, too many connections). No statement ran, so no
 * message is at fault whatever the server's code says: the work waits for MySQL (or the operator) instead of
 * going to the DLQ. The server's own error is the cause.
 */
export class MysqlConnectError extends StoreUnavailableError {
  /** mysql2's code for why (ER_ACCESS_DENIED_ERROR, HANDSHAKE_SSL_ERROR, ECONNREFUSED), for the log beside the message. */
  readonly mysqlCode: string | undefined;
  /**
   * The server's error number and SQLSTATE when it answered: mysql2 names codes from MySQL's table, so MariaDB's
   * own read wrong by name (its 4151, a locked account, is named after a bulk-load parser error).
   */
  readonly errno: number | undefined;
  readonly sqlState: string | undefined;
  constructor(cause: unknown) {
    super('MySQL', cause);
    const { code, errno, sqlState } = typeof cause === 'object' && cause !== null ? (cause as { code?: unknown; errno?: unknown; sqlState?: unknown }) : {};
    this.mysqlCode = typeof code === 'string' ? code : undefined;
    this.errno = typeof errno === 'number' ? errno : undefined;
    this.sqlState = typeof sqlState === 'string' ? sqlState : undefined;
  }
}

/**
 * A pool from MYSQL_URL (and its TLS, see mysqlTarget); MariaDB and Aurora MySQL both speak this protocol.
 * A connection it cannot open fails with MysqlConnectError, for `query` and `execute` too (they borrow one).
 */
export function createMysqlPool(url: string, connectionLimit = 8, ssl?: mysql.SslOptions): mysql.Pool {
  const pool = mysql.createPool({ uri: url, ...(ssl ? { ssl } : {}), connectionLimit, waitForConnections: true, multipleStatements: false, timezone: 'Z', dateStrings: false, supportBigNumbers: true, bigNumberStrings: true, connectTimeout: 5_000 });
  return withConnectFailuresUnavailable(pool);
}

/**
 * Server codes after which the session may stay refused though the server or the account is put right, so the
 * connection is dropped rather than pooled again:
 * - MariaDB lets a user whose password expired log in to a sandbox that refuses every statement, for as long as
 *   the connection lives;
 * - a writer demoted to read-only by a failover (Aurora, MaxScale) keeps its sockets, while the writer's name now
 *   points elsewhere. mysql2's own pool.query drops these (its Aurora remedy); Orbit borrows connections itself,
 *   and in transactions too, so it does the same.
 */
const SESSION_REFUSED: ReadonlySet<unknown> = new Set([
  'ER_MUST_CHANGE_PASSWORD', 'ER_OPTION_PREVENTS_STATEMENT', 'ER_READ_ONLY_MODE', 'ER_INNODB_READ_ONLY', 'ER_CANT_EXECUTE_IN_READ_ONLY_TRANSACTION',
]);

/**
 * `pool` whose connection failures are MysqlConnectError, told apart from a statement's failure, and whose
 * connections are dropped, not pooled again, once the server refuses their session.
 */
function withConnectFailuresUnavailable(pool: mysql.Pool): mysql.Pool {
  const droppedWhenRefused = (connection: mysql.PoolConnection): mysql.PoolConnection => new Proxy(connection, {
    get(target, property, receiver) {
      const value: unknown = Reflect.get(target, property, receiver);
      if (!ANSWERED_CALLS.has(property) || typeof value !== 'function') return value;
      return (...args: unknown[]) => (value as Call).apply(target, args).catch((error: unknown) => {
        if (typeof error === 'object' && error !== null && SESSION_REFUSED.has((error as { code?: unknown }).code)) target.destroy();
        throw error;
      });
    },
  });
  const acquire = (): Promise<mysql.PoolConnection> => pool.getConnection().then(droppedWhenRefused, (error: unknown) => {
    // A failure to connect always has a code (a socket's, the server's, mysql2's handshake); one without is Orbit's
    // own, such as a pool already ended ("Pool is closed."), and is not an outage.
    const { code, errno } = typeof error === 'object' && error !== null ? (error as { code?: unknown; errno?: unknown }) : {};
    throw code === undefined && errno === undefined ? error : new MysqlConnectError(error);
  });
  return withBorrowedConnections(pool, acquire);
}

/**
 * `pool` whose getConnection is `acquire`, and whose query and execute run on a connection from it (mysql2's own
 * would take theirs from the pool unseen).
 */
function withBorrowedConnections(pool: mysql.Pool, acquire: () => Promise<mysql.PoolConnection>): mysql.Pool {
  const onBorrowed = (property: 'query' | 'execute') => async (...args: unknown[]): Promise<unknown> => {
    const connection = await acquire();
    try {
      return await (connection[property] as Call)(...args);
    } finally {
      connection.release(); // a no-op for a connection already destroyed
    }
  };
  return new Proxy(pool, {
    get(target, property, receiver) {
      if (property === 'getConnection') return acquire;
      if (property === 'query' || property === 'execute') return onBorrowed(property);
      return Reflect.get(target, property, receiver);
    },
  });
}

export interface TransactionOptions {
  /** For this transaction only; READ COMMITTED takes no gap locks on reads, which batch writers side by side want. */
  readonly isolation?: 'READ COMMITTED' | 'REPEATABLE READ';
}

/** Runs `work` in one transaction on a pooled connection: committed if it returns, rolled back if it throws. */
export async function inTransaction<T>(pool: mysql.Pool, work: (connection: mysql.PoolConnection) => Promise<T>, options: TransactionOptions = {}): Promise<T> {
  const connection = await pool.getConnection();
  try {
    if (options.isolation) await connection.query(`SET TRANSACTION ISOLATION LEVEL ${options.isolation}`);
    await connection.beginTransaction();
    const result = await work(connection);
    await connection.commit();
    return result;
  } catch (error) {
    await connection.rollback().catch(() => undefined);
    throw error;
  } finally {
    connection.release();
  }
}

/**
 * MySQL took the connection and answered nothing within the deadline (a
 * hung or paused server, a lost network path). The connection is dropped,
 * so the server rolls back whatever it had not committed.
 */
export class MysqlSilentError extends StoreUnavailableError {
  /** True when the silence met a COMMIT: the server may have committed it. */
  readonly outcomeUnknown: boolean;
  constructor(what: string, waitedMs: number, outcomeUnknown: boolean) {
    super('MySQL', new Error(`MySQL answered nothing to ${what} within ${waitedMs} ms; the connection was dropped`));
    this.outcomeUnknown = outcomeUnknown;
  }
}

/**
 * `pool` with every answer bounded by `answerTimeoutMs`: a connection whose
 * server stays silent that long is destroyed (never handed out again) and the
 * call fails with MysqlSilentError; waiting for a free connection is bounded
 * too. mysql2's own per-query `timeout` leaves the silent connection in the
 * pool with its command still queued, so the next caller would hang behind it.
 */
export function withAnswerDeadline(pool: mysql.Pool, answerTimeoutMs: number): mysql.Pool {
  const withinDeadline = <T>(what: string, answer: Promise<T>, onSilence: () => void, outcomeUnknown = false): Promise<T> =>
    answerWithin(answer, answerTimeoutMs, () => new MysqlSilentError(what, answerTimeoutMs, outcomeUnknown), onSilence);

  const bounded = (connection: mysql.PoolConnection): mysql.PoolConnection => new Proxy(connection, {
    get(target, property, receiver) {
      const value: unknown = Reflect.get(target, property, receiver);
      if (!ANSWERED_CALLS.has(property) || typeof value !== 'function') return value;
      return (...args: unknown[]) => withinDeadline(String(property), (value as Call).apply(target, args), () => target.destroy(), property === 'commit');
    },
  });

  const acquire = (): Promise<mysql.PoolConnection> => {
    let gaveUp = false;
    const connection = pool.getConnection();
    // A connection that arrives after the caller gave up goes back to the pool, not astray.
    connection.then((late) => { if (gaveUp) late.release(); }, () => undefined);
    return withinDeadline('a connection', connection, () => { gaveUp = true; }).then(bounded);
  };

  return withBorrowedConnections(pool, acquire);
}
