import type { Socket } from 'node:net';
import mysql from 'mysql2/promise';
import { env } from './config.js';
import { answerWithin } from './deadline.js';
import { StoreUnavailableError } from './errors.js';
import type { Logger } from './logger.js';

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
 * The session Orbit's SQL is written for, whatever the server's defaults. UTC, because the pool reads and writes
 * dates as UTC (`timezone: 'Z'`) while NOW(3) and DEFAULT CURRENT_TIMESTAMP(3) are in the session's zone: on a
 * server in +09:00 a claim written as a JS date was nine hours old at once. The SQL mode because mysql2 escapes
 * values client-side with backslashes: under NO_BACKSLASH_ESCAPES a quote in a search term ended the string and
 * the rest ran as SQL; ANSI_QUOTES and PIPES_AS_CONCAT would change what the statements mean too, and strictness
 * is what refuses a too-long value instead of cutting it. These modes mean the same on MariaDB 10.x/11.x and
 * MySQL 8.0/8.4 (MariaDB's default NO_AUTO_CREATE_USER is gone from MySQL 8, and only concerns GRANT).
 */
export const ORBIT_SQL_MODE = 'STRICT_TRANS_TABLES,NO_ZERO_IN_DATE,NO_ZERO_DATE,ERROR_FOR_DIVISION_BY_ZERO,NO_ENGINE_SUBSTITUTION';
const SESSION_SETUP = `SET SESSION time_zone = '+00:00', SESSION sql_mode = '${ORBIT_SQL_MODE}'`;

/** What every connection Orbit opens is made with: dates as UTC, big numbers as strings, one statement a call. */
const connectionOptions = (url: string, ssl: mysql.SslOptions | undefined) => ({
  uri: url, ...(ssl ? { ssl } : {}), multipleStatements: false, timezone: 'Z', dateStrings: false, supportBigNumbers: true, bigNumberStrings: true, connectTimeout: 5_000,
}) as const;

/** mysql2's callback connection, which its pool hands to 'connection' listeners whatever its promise types say. */
interface CallbackConnection {
  query(sql: string, callback: (error: unknown) => void): unknown;
}

/**
 * A pool from MYSQL_URL (and its TLS, see mysqlTarget); MariaDB and Aurora MySQL both speak this protocol.
 * Every connection it opens gets Orbit's session (ORBIT_SQL_MODE, UTC) before anything else runs on it. A connection
 * it cannot open, or whose session it cannot set, fails with MysqlConnectError, for `query` and `execute` too (they borrow one).
 */
export function createMysqlPool(url: string, connectionLimit = 8, ssl?: mysql.SslOptions): mysql.Pool {
  const pool = mysql.createPool({ ...connectionOptions(url, ssl), connectionLimit, waitForConnections: true });
  const sessions = new WeakMap<object, Promise<void>>();
  const opened = new Set<Socket>();
  // Emitted as the pool opens a connection, before the borrower gets it: the SET is the first command queued on it,
  // and mysql2 runs a connection's commands in order. A pool never reconnects a connection; it opens a new one, and
  // comes back here. Borrowers wait for the answer (sessionOf), so a refused SET fails the borrow, not later statements.
  pool.on('connection', (connection) => {
    const core = connection as unknown as CallbackConnection;
    const set = new Promise<void>((resolve, reject) => {
      core.query(SESSION_SETUP, (error) => { if (error) reject(error); else resolve(); });
    });
    set.catch(() => undefined); // awaited by the borrower; a rejection before it looks is not unhandled
    sessions.set(connection, set);
    const { stream } = connection as unknown as { stream: Socket };
    opened.add(stream);
    stream.once('close', () => opened.delete(stream));
  });
  const sessionOf = async (connection: mysql.PoolConnection): Promise<mysql.PoolConnection> => {
    try {
      await sessions.get(connection.connection);
      return connection;
    } catch (error) {
      connection.destroy();
      throw new MysqlConnectError(error);
    }
  };
  const wrapped = withConnectFailuresUnavailable(pool, sessionOf);
  OPENED.set(wrapped, opened);
  STOPPERS.set(wrapped, (threadId) => killQuery(url, ssl, threadId));
  return wrapped;
}

/** How to stop a statement still running on a connection of each pool of createMysqlPool, by the connection's thread id. */
const STOPPERS = new WeakMap<object, (threadId: number) => Promise<void>>();

/**
 * How long a KILL QUERY's connection may take to log in, and then the KILL to be answered: a server that answers at
 * all answers both at once, and one that does not has nothing to be told.
 */
const KILL_TIMEOUT_MS = 3_000;

/** The server's answer when the thread is gone: its statement ended and the server saw the connection closed. */
const NO_SUCH_THREAD = 'ER_NO_SUCH_THREAD';

/**
 * Stops the statement thread `threadId` is running, with KILL QUERY (MariaDB and MySQL alike) on a connection of its
 * own, opened for this and dropped after: the pool's may all be taken (by the very statements that outlived their
 * deadline), and a side connection kept open would sit idle almost always, be closed by wait_timeout, need reopening
 * and ending with the pool, and hold a slot of max_connections for nothing. Kills are rare (one a statement given up
 * on), so a login each is cheap; at most one is open at a time per connection given up on, so never more than the pool's size.
 * The same account as the pool's: any account may KILL its own threads, no privilege needed. Resolves when the thread
 * is already gone; rejects with why the KILL could not be said, within 2 × KILL_TIMEOUT_MS whatever the server does.
 */
async function killQuery(url: string, ssl: mysql.SslOptions | undefined, threadId: number): Promise<void> {
  let gaveUp = false;
  let side: mysql.Connection | undefined;
  const drop = (connection: mysql.Connection): void => {
    connection.destroy();
    // mysql2's destroy only half-closes the socket, which would hold an operations command open until the server closes its side.
    (connection as unknown as { connection: { stream?: Socket } }).connection.stream?.destroy();
  };
  const kill = async (): Promise<void> => {
    const connection = await mysql.createConnection({ ...connectionOptions(url, ssl), connectTimeout: KILL_TIMEOUT_MS });
    connection.on('error', () => undefined);
    if (gaveUp) {
      drop(connection);
      return;
    }
    side = connection;
    await connection.query(`KILL QUERY ${Math.trunc(threadId)}`).catch((error: unknown) => {
      if ((error as { code?: unknown } | null)?.code !== NO_SUCH_THREAD) throw error;
    });
  };
  try {
    // The login is bounded by mysql2's connectTimeout (ETIMEDOUT), this by what is left for the KILL's answer.
    await answerWithin(kill(), 2 * KILL_TIMEOUT_MS, () => new Error(`MySQL did not answer a KILL QUERY within ${secondsOf(KILL_TIMEOUT_MS)} s`), () => { gaveUp = true; });
  } finally {
    if (side) drop(side);
  }
}

/** The sockets of each pool of createMysqlPool still open, for endMysqlPool to drop when the server will not say goodbye. */
const OPENED = new WeakMap<object, ReadonlySet<Socket>>();

/**
 * Ends `pool`: a QUIT on each connection (mysql2's pool.end), then up to `ms` for the server to close them; what is
 * still open then is dropped, so a command that has done its work exits instead of waiting on a silent server's
 * goodbye (the server rolls back whatever was left open, as for a killed process). mysql2's own end and destroy
 * only half-close the socket, which stays open, holding the process, until the server closes its side. Never
 * throws: the work's outcome is the caller's to say.
 */
export async function endMysqlPool(pool: mysql.Pool, ms: number): Promise<void> {
  const opened = OPENED.get(pool) ?? new Set<Socket>();
  const allClosed = async (): Promise<void> => {
    await pool.end();
    await Promise.all([...opened].map((socket) => new Promise((resolve) => socket.once('close', resolve))));
  };
  await answerWithin(allClosed(), ms, () => new Error(`MySQL did not close the pool's connections within ${ms} ms`)).catch(() => undefined);
  for (const socket of opened) socket.destroy();
}

/** `MySQL at host:port/database`: the server an operations command names when it falls silent (never the URL's credentials). */
export function mysqlStoreName(url: string): string {
  const { host, pathname } = new URL(url);
  return `MySQL at ${host}${pathname === '/' ? '' : pathname}`;
}

/**
 * One connection outside any pool (provisioning), with Orbit's session set before it is returned, as the pool's
 * are. Failing to connect throws the driver's error as it is (a caller may look for ER_BAD_DB_ERROR).
 */
export async function createMysqlConnection(url: string, ssl?: mysql.SslOptions): Promise<mysql.Connection> {
  const connection = await mysql.createConnection(connectionOptions(url, ssl));
  // A connection the server closes while idle (wait_timeout, a restart) says so with an 'error' event, which would
  // end the process unheard; its next command fails with the reason anyway.
  connection.on('error', () => undefined);
  // A server that took the login and then fell silent held the caller (a lock's holder, provisioning) for ever.
  const silent = () => new MysqlSilentError('the session to be set', SESSION_SETUP_TIMEOUT_MS, false, mysqlStoreName(url));
  try {
    await answerWithin(connection.query(SESSION_SETUP), SESSION_SETUP_TIMEOUT_MS, silent);
    return connection;
  } catch (error) {
    connection.destroy();
    throw error instanceof MysqlSilentError ? error : new MysqlConnectError(error);
  }
}

/** A SET of a few session variables answers at once from a server that answers at all. */
const SESSION_SETUP_TIMEOUT_MS = 10_000;

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
function withConnectFailuresUnavailable(pool: mysql.Pool, prepared: (connection: mysql.PoolConnection) => Promise<mysql.PoolConnection>): mysql.Pool {
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
  const acquire = (): Promise<mysql.PoolConnection> => pool.getConnection().then(prepared, (error: unknown) => {
    // A failure to connect always has a code (a socket's, the server's, mysql2's handshake); one without is Orbit's
    // own, such as a pool already ended ("Pool is closed."), and is not an outage.
    const { code, errno } = typeof error === 'object' && error !== null ? (error as { code?: unknown; errno?: unknown }) : {};
    throw code === undefined && errno === undefined ? error : new MysqlConnectError(error);
  }).then(droppedWhenRefused);
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
  /** `store`: 'MySQL', or which one (mysqlStoreName) where a person reads the message. */
  constructor(what: string, waitedMs: number, outcomeUnknown: boolean, store = 'MySQL') {
    super(store, new Error(`${store} did not answer within ${secondsOf(waitedMs)} s (waiting for ${what}); the connection was dropped`));
    this.outcomeUnknown = outcomeUnknown;
  }
}

/** 10 s, 0.5 s: a deadline as a person reads it. */
const secondsOf = (ms: number): number => Math.round(ms / 100) / 10;

/**
 * `pool` with every answer bounded by `answerTimeoutMs`: a connection whose
 * server stays silent that long is destroyed (never handed out again) and the
 * call fails with MysqlSilentError; waiting for a free connection is bounded
 * too. mysql2's own per-query `timeout` leaves the silent connection in the
 * pool with its command still queued, so the next caller would hang behind it.
 * On a pool of createMysqlPool the statement given up on is also stopped on the
 * server (KILL QUERY, see dropAndStop); `logger` hears, once per reason, when it
 * could not be.
 */
export function withAnswerDeadline(pool: mysql.Pool, answerTimeoutMs: number, store = 'MySQL', logger?: Pick<Logger, 'warn'>): mysql.Pool {
  const withinDeadline = <T>(what: string, answer: Promise<T>, onSilence: () => void, outcomeUnknown = false): Promise<T> =>
    answerWithin(answer, answerTimeoutMs, () => new MysqlSilentError(what, answerTimeoutMs, outcomeUnknown, store), onSilence);

  const stop = STOPPERS.get(pool);
  const told = new Set<string>();
  /**
   * Drops `connection` and stops on the server what it was asked (KILL QUERY): a dropped connection alone leaves
   * its statement running (a filesort, a lock wait) until the server has a result to send, holding a thread and its
   * locks on the database the whole pipeline shares, while the caller's retry starts another. Best effort: a
   * failure is logged once per reason and never reaches the caller, who has its MysqlSilentError already.
   *
   * The drop comes first, so the KILL can only reach the statement that was given up on, never a next one: KILL QUERY
   * stops whatever the thread runs when it arrives, and with the connection destroyed Orbit sends nothing more on
   * that thread (mysql2 sends a connection's commands one at a time, so none was queued behind the statement on the
   * server). If the statement ended just as its deadline passed, the KILL finds the thread idle or gone (ER_NO_SUCH_THREAD)
   * and does nothing. A thread's id is not reused by the server while the thread lives, and MariaDB and MySQL hand out
   * new ids from an increasing counter (wrapping only after some four billion connections), so a thread that ended
   * before the KILL arrives cannot lend its id to another connection meanwhile; and an account can KILL only its own
   * threads. The KILL goes to the pool's URL: a name that spreads connections over several servers (not a writer
   * endpoint, which names one) could take it to another server, where the id is another thread of the account.
   */
  const dropAndStop = (connection: mysql.PoolConnection): void => {
    const { threadId } = connection;
    connection.destroy();
    if (!stop || typeof threadId !== 'number') return;
    stop(threadId).catch((error: unknown) => {
      const reason = String((error as { code?: unknown } | null)?.code ?? (error instanceof Error ? error.message : error));
      if (told.has(reason)) return;
      told.add(reason);
      logger?.warn({ err: error, store, threadId }, 'could not stop a statement MySQL did not answer in time; it runs on until it ends (told once per reason)');
    });
  };

  const bounded = (connection: mysql.PoolConnection): mysql.PoolConnection => new Proxy(connection, {
    get(target, property, receiver) {
      const value: unknown = Reflect.get(target, property, receiver);
      if (!ANSWERED_CALLS.has(property) || typeof value !== 'function') return value;
      return (...args: unknown[]) => withinDeadline(String(property), (value as Call).apply(target, args), () => dropAndStop(target), property === 'commit');
    },
  });

  const acquire = (): Promise<mysql.PoolConnection> => {
    let gaveUp = false;
    const connection = pool.getConnection();
    // A connection that arrives after the caller gave up goes back to the pool, not astray.
    connection.then((late) => { if (gaveUp) late.release(); }, () => undefined);
    return withinDeadline('a connection', connection, () => { gaveUp = true; }).then(bounded);
  };

  const deadlined = withBorrowedConnections(pool, acquire);
  const opened = OPENED.get(pool);
  if (opened) OPENED.set(deadlined, opened);
  return deadlined;
}

/**
 * How long an operations command (viewport:checksum, transfers:reconcile) waits for one answer from MySQL by default
 * (ORBIT_MYSQL_ANSWER_TIMEOUT_SECONDS sets it). Longer than the gateway's 10 s: a checksum reads chunks of 5000 rows
 * (a run of posts' metas each sorted), and waits meanwhile for a rebuild's swap to let go of the swap gate (up to 30 s);
 * a person waits, not a request.
 */
export const OPS_MYSQL_ANSWER_TIMEOUT_SECONDS = 60;

/** The variable an operations command's MySQL deadline is read from: the gateway's, with the commands' own default. */
export const opsMysqlEnv = {
  /** Seconds an operations command waits for one answer from MySQL. @default 60 (OPS_MYSQL_ANSWER_TIMEOUT_SECONDS) */
  ORBIT_MYSQL_ANSWER_TIMEOUT_SECONDS: env.int(OPS_MYSQL_ANSWER_TIMEOUT_SECONDS, 1, 3600),
};

/** How long an operations command that has done its work waits for MySQL's goodbye before it drops its connections. */
export const OPS_MYSQL_END_TIMEOUT_MS = 3_000;

/**
 * An operations command's pool: every answer, and every wait for a free connection, bounded by `answerTimeoutMs`
 * (withAnswerDeadline), its silence said as "MySQL at host:port/database did not answer within N s". Without it a
 * server that took the login and then fell silent held viewport:checksum and transfers:reconcile with no bound.
 */
export function createOpsMysqlPool(target: { readonly url: string; readonly ssl?: mysql.SslOptions | undefined }, answerTimeoutMs: number, connectionLimit = 8, logger?: Pick<Logger, 'warn'>): mysql.Pool {
  return withAnswerDeadline(createMysqlPool(target.url, connectionLimit, target.ssl), answerTimeoutMs, mysqlStoreName(target.url), logger);
}
