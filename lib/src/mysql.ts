import mysql from 'mysql2/promise';

/** The database a mysql:// URL names (its path, decoded). */
export const databaseOf = (mysqlUrl: string): string => decodeURIComponent(new URL(mysqlUrl).pathname.replace(/^\//, ''));

/** A pool from MYSQL_URL; MariaDB and Aurora MySQL both speak this protocol. */
export function createMysqlPool(url: string, connectionLimit = 8): mysql.Pool {
  return mysql.createPool({ uri: url, connectionLimit, waitForConnections: true, multipleStatements: false, timezone: 'Z', dateStrings: false, supportBigNumbers: true, bigNumberStrings: true, connectTimeout: 5_000 });
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
