import mysql from 'mysql2/promise';

/** A pool from MYSQL_URL; MariaDB and Aurora MySQL both speak this protocol. */
export function createMysqlPool(url: string, connectionLimit = 8): mysql.Pool {
  return mysql.createPool({ uri: url, connectionLimit, waitForConnections: true, multipleStatements: false, timezone: 'Z', dateStrings: false, supportBigNumbers: true, bigNumberStrings: true, connectTimeout: 5_000 });
}
