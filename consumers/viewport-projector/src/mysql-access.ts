import { databaseOf, OrbitError } from '@orbit/lib';
import type { Pool } from 'mysql2/promise';

/**
 * The exit code of a viewport command MySQL refused access: EX_NOPERM, so a script or a CronJob tells a missing grant or
 * a wrong password (a person must act) from 1 (MySQL away, anything else) and from 75 (another rebuild, try later).
 */
export const EXIT_ACCESS_DENIED = 77;

/**
 * The server's numbers for a refusal of the account, not of the statement: a login refused (1045), a database
 * (1044), a table or column (1142, 1143) or a privilege such as CREATE USER (1227) not granted. By number, as mysql2
 * names MariaDB's codes from MySQL's table.
 */
const ACCESS_DENIED_ERRNOS: ReadonlyMap<number, string> = new Map([
  [1044, 'ER_DBACCESS_DENIED_ERROR'], [1045, 'ER_ACCESS_DENIED_ERROR'], [1142, 'ER_TABLEACCESS_DENIED_ERROR'],
  [1143, 'ER_COLUMNACCESS_DENIED_ERROR'], [1227, 'ER_SPECIFIC_ACCESS_DENIED_ERROR'],
  // The account itself refused (found by a bug reread: they read as "MySQL is unavailable"): no password where the
  // server wants the socket's user (1698), an expired password (1820, 1862), a locked account (MySQL 3118, MariaDB 4151).
  [1698, 'ER_ACCESS_DENIED_NO_PASSWORD_ERROR'], [1820, 'ER_MUST_CHANGE_PASSWORD'], [1862, 'ER_MUST_CHANGE_PASSWORD_LOGIN'],
  [3118, 'ER_ACCOUNT_HAS_BEEN_LOCKED'], [4151, 'ER_ACCOUNT_HAS_BEEN_LOCKED'],
]);
/** Refusals of the login, not of a grant: the password or the account is what to check. */
const LOGIN_REFUSALS: ReadonlySet<number> = new Set([1045, 1698, 1820, 1862, 3118, 4151]);
const NO_SUCH_TABLE = 1146;

/**
 * MySQL refused the account MYSQL_URL names: its password, or a grant the command needs. Not "MySQL is unavailable",
 * which sends an operator looking at a server that is up; waiting does not help either.
 */
export class MysqlAccessDeniedError extends OrbitError {
  readonly user: string;
  readonly database: string;
  readonly errno: number;
  /** `database` is the one the server named; `urlDatabase` MYSQL_URL's, beside which a rebuild creates its own two. */
  constructor(where: { user: string; database: string; urlDatabase: string; errno: number; serverMessage: string }, cause: unknown) {
    const code = ACCESS_DENIED_ERRNOS.get(where.errno) ?? String(where.errno);
    const whatToDo = LOGIN_REFUSALS.has(where.errno)
      ? 'check the user name and password MYSQL_URL holds, and that the account is not locked or expired'
      : `grant ${where.user} what the command needs on ${where.urlDatabase} (a rebuild also creates and drops ${where.urlDatabase}_rebuild and ${where.urlDatabase}_previous)`;
    super('ORBIT_ERR_MYSQL_ACCESS_DENIED', `MySQL denied user ${where.user} access to database ${where.database} (${code}: ${where.serverMessage}): ${whatToDo}`, { cause });
    this.user = where.user;
    this.database = where.database;
    this.errno = where.errno;
  }
}

interface ServerError {
  readonly errno: number;
  readonly message: string;
}

/** The first error along the cause chain that is MySQL refusing the account (the pool wraps a refused login in MysqlConnectError). */
function serverErrorOf(error: unknown, wanted: (errno: number) => boolean): ServerError | undefined {
  for (let current = error, depth = 0; typeof current === 'object' && current !== null && depth < 10; current = (current as { cause?: unknown }).cause, depth += 1) {
    // Orbit's own wrappers copy the server's number beside a message of their own ("MySQL is unavailable").
    if (current instanceof OrbitError) continue;
    const { errno, message } = current as { errno?: unknown; message?: unknown };
    if (typeof errno === 'number' && wanted(errno)) return { errno, message: typeof message === 'string' ? message : '' };
  }
  return undefined;
}

/**
 * The database the server named in its refusal ("to database 'viewport_rebuild'", "for table `viewport`.`wp_posts`"),
 * which may not be MYSQL_URL's own: a rebuild creates databases beside it.
 */
function refusedDatabaseOf(serverMessage: string, fallback: string): string {
  return /to database '([^']+)'/.exec(serverMessage)?.[1] ?? /for table [`']([^`']+)[`']\.[`']/.exec(serverMessage)?.[1] ?? fallback;
}

/** `error` as a MysqlAccessDeniedError when MySQL refused the account `mysqlUrl` names, else undefined. */
export function accessDeniedOf(error: unknown, mysqlUrl: string): MysqlAccessDeniedError | undefined {
  if (error instanceof MysqlAccessDeniedError) return error;
  const refused = serverErrorOf(error, (errno) => ACCESS_DENIED_ERRNOS.has(errno));
  if (!refused) return undefined;
  const database = databaseOf(mysqlUrl);
  const where = { user: decodeURIComponent(new URL(mysqlUrl).username), database: refusedDatabaseOf(refused.message, database), urlDatabase: database };
  return new MysqlAccessDeniedError({ ...where, errno: refused.errno, serverMessage: refused.message }, error);
}

/**
 * Fails with MysqlAccessDeniedError when the account may not read one of `tables`, which information_schema does not
 * tell: it hides the tables an account holds no grant on, so a database the account may not read looked unprovisioned.
 * A table that is really missing answers "no such table" and passes; one not granted answers 1142 whether it exists or
 * not, and is reported as not granted (a grant is needed first either way).
 */
export async function assertReadable(pool: Pool, mysqlUrl: string, tables: readonly string[]): Promise<void> {
  const database = quoteName(databaseOf(mysqlUrl));
  for (const table of tables) {
    try {
      await pool.query(`SELECT 1 FROM ${database}.${quoteName(table)} LIMIT 0`);
    } catch (error) {
      if (serverErrorOf(error, (errno) => errno === NO_SUCH_TABLE)) continue;
      throw accessDeniedOf(error, mysqlUrl) ?? error;
    }
  }
}

const quoteName = (name: string): string => `\`${name.replaceAll('`', '``')}\``;
