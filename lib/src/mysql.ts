import mysql from 'mysql2/promise';
import { answerWithin } from './deadline.js';
import { StoreUnavailableError } from './errors.js';

/** The database a mysql:// URL names (its path, decoded). */
export const databaseOf = (mysqlUrl: string): string => decodeURIComponent(new URL(mysqlUrl).pathname.replace(/^\//, ''));

/** A pool from MYSQL_URL (and its TLS, see mysqlTarget); MariaDB and Aurora MySQL both speak this protocol. */
export function createMysqlPool(url: string, connectionLimit = 8, ssl?: mysql.SslOptions): mysql.Pool {
  return mysql.createPool({ uri: url, ...(ssl ? { ssl } : {}), connectionLimit, waitForConnections: true, multipleStatements: false, timezone: 'Z', dateStrings: false, supportBigNumbers: true, bigNumberStrings: true, connectTimeout: 5_000 });
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

type Call = (...args: unknown[]) => Promise<unknown>;

/** What a connection is asked to do that waits for the server's answer. */
const ANSWERED_CALLS: ReadonlySet<PropertyKey> = new Set(['query', 'execute', 'beginTransaction', 'commit', 'rollback', 'ping']);

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

  const onBorrowed = (property: 'query' | 'execute') => async (...args: unknown[]): Promise<unknown> => {
    const connection = await acquire();
    try {
      return await (connection[property] as Call)(...args);
    } finally {
      connection.release(); // a no-op for a connection destroyed by its deadline
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
