import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import mysql from 'mysql2/promise';
import { createMysqlConnection, databaseOf, OrbitError, type MysqlTarget } from '@orbit/lib';
import type { ProvisionStep } from './report.js';

/** deploy/mysql/migrations, from src/provision or dist/provision alike. */
export const MIGRATIONS_DIR = fileURLToPath(new URL('../../../mysql/migrations/', import.meta.url));

/** An applied migration's file was edited afterwards: write a new migration instead. */
export class MigrationChangedError extends OrbitError {
  constructor(readonly version: string) {
    super('ORBIT_ERR_MIGRATION_CHANGED', `migration ${version} was edited after it was applied; add a new migration instead`);
  }
}

export interface Migration {
  readonly version: string;
  readonly file: string;
  readonly sql: string;
  readonly checksum: string;
}

/**
 * Checksums an applied migration may be recorded with besides its file's own: earlier texts of it, each applied by a
 * release, that left a database exactly as today's text does. Anything else recorded is still MigrationChangedError.
 */
export const EQUIVALENT_CHECKSUMS: Readonly<Record<string, readonly string[]>> = {
  // a2dd93f took `IF NOT EXISTS` (MariaDB's) out of ADD COLUMN sent_at / ADD KEY ix_viewport_outbox_sent, 43 minutes
  // after ac81eb6 added the file: installs made at ac81eb6 or 9cfa6ad recorded that text, and hold the same column and key.
  '0006': ['2dd03b1bc0add464a9cbfebd0445775d78846d73c49fef2eb1a77f3e759c17b0'],
};

/** Whether `recorded`, the checksum schema_migrations holds for `migration`, is of a text that left the same schema. */
export function isRecordedAs(migration: Migration, recorded: string): boolean {
  return recorded === migration.checksum || (EQUIVALENT_CHECKSUMS[migration.version] ?? []).includes(recorded);
}

/** `0001_name.sql` files in version order. */
export function loadMigrations(dir: string = MIGRATIONS_DIR): Migration[] {
  return readdirSync(dir)
    .filter((file) => /^\d{4}_[a-z0-9_]+\.sql$/.test(file))
    .sort()
    .map((file) => {
      const sql = readFileSync(join(dir, file), 'utf8');
      return { version: file.slice(0, 4), file, sql, checksum: createHash('sha256').update(sql).digest('hex') };
    });
}

/**
 * Creates the database when it is not there (lost, or dropped to start
 * again): provisioning is the first step of a rebuild from nothing. Only
 * then, so an account without the right to create databases can still
 * migrate one a DBA made.
 */
async function ensureDatabase({ url: mysqlUrl, ssl }: MysqlTarget): Promise<ProvisionStep[]> {
  const database = databaseOf(mysqlUrl);
  const probe = await createMysqlConnection(mysqlUrl, ssl).catch((error: unknown) => {
    if ((error as { code?: unknown }).code === 'ER_BAD_DB_ERROR') return undefined;
    throw error;
  });
  if (probe) {
    await probe.end();
    return [];
  }
  const url = new URL(mysqlUrl);
  url.pathname = '/';
  const server = await createMysqlConnection(url.toString(), ssl);
  try {
    await server.query(`CREATE DATABASE IF NOT EXISTS ${mysql.escapeId(database)} CHARACTER SET utf8mb4 COLLATE utf8mb4_bin`);
  } finally {
    await server.end();
  }
  return [{ kind: 'database', name: database, action: 'created' }];
}

/** Another provision held the migration lock for longer than the wait: two at once would apply the same DDL twice. */
export class MigrationLockedError extends OrbitError {
  constructor(database: string, seconds: number) {
    super('ORBIT_ERR_MIGRATION_LOCKED', `another provision has been migrating ${database} for over ${seconds} s (it holds the migration lock); let it finish, or end it, and run again`);
  }
}

/** MySQL lock names are at most 64 characters; database names can be as long on their own. */
export const migrationLockName = (database: string): string => `orbit-migrate-${createHash('sha256').update(database).digest('hex').slice(0, 40)}`;

/** How long a provision waits for another one's migrations before it gives up. */
const MIGRATION_LOCK_WAIT_S = 120;

/**
 * Whether `error` is what `statement` of an applied migration says when it runs again: its column or index is
 * there already (1060 ER_DUP_FIELDNAME, 1061 ER_DUP_KEYNAME from an ALTER TABLE or CREATE INDEX), or its table
 * (1050 ER_TABLE_EXISTS_ERROR from a CREATE TABLE). One DDL statement is applied whole or not at all, so it is done.
 * Only from those statements: a CREATE TABLE naming a column twice is a mistake to hear about.
 */
function alreadyApplied(statement: string, error: unknown): boolean {
  const errno = typeof error === 'object' && error !== null ? (error as { errno?: unknown }).errno : undefined;
  if (errno === 1060 || errno === 1061) return /^(ALTER\s+TABLE|CREATE\s+(UNIQUE\s+|FULLTEXT\s+|SPATIAL\s+)?INDEX)\b/i.test(statement);
  return errno === 1050 && /^CREATE\s+TABLE\b/i.test(statement);
}

/**
 * A migration's statements, one by one: split at semicolons outside quotes and comments. Run apart so a re-run
 * can pass over the ones applied before a crash; the file, and its checksum, stay as they are.
 */
export function statementsOf(sql: string): string[] {
  const statements: string[] = [];
  let current = '';
  let index = 0;
  const at = (offset: number): string => sql.charAt(index + offset);
  while (index < sql.length) {
    const char = at(0);
    if ((char === '-' && at(1) === '-' && /\s/.test(at(2) || ' ')) || char === '#') {
      const end = sql.indexOf('\n', index);
      index = end < 0 ? sql.length : end + 1;
      current += '\n';
    } else if (char === '/' && at(1) === '*') {
      // Kept: MySQL runs the text of a /*! ... */ comment.
      const end = sql.indexOf('*/', index + 2);
      const next = end < 0 ? sql.length : end + 2;
      current += sql.slice(index, next);
      index = next;
    } else if (char === "'" || char === '"' || char === '`') {
      let end = index + 1;
      while (end < sql.length && !(sql.charAt(end) === char && sql.charAt(end + 1) !== char)) end += sql.charAt(end) === '\\' || sql.charAt(end) === char ? 2 : 1;
      current += sql.slice(index, end + 1);
      index = end + 1;
    } else if (char === ';') {
      statements.push(current);
      current = '';
      index += 1;
    } else {
      current += char;
      index += 1;
    }
  }
  statements.push(current);
  return statements.map((statement) => statement.trim()).filter((statement) => statement !== '');
}

/**
 * How long each statement of a migration waits for the metadata lock of its table, how often it tries, and the
 * pause between tries. The server's default wait is a day (MariaDB's lock_wait_timeout): an ALTER TABLE waiting
 * behind one open transaction that had read its table (a DBA's session, a report, `mysqldump --single-transaction`)
 * waited that long, and every gateway query on the table queued behind it. Bounded, they queue a few seconds at a
 * time and go through in the pauses; as the rebuild's swap does its RENAME (renameWithinLockWait).
 */
export interface MigrationPatience {
  readonly lockWaitSeconds: number;
  readonly attempts: number;
  readonly pauseMs: number;
}
const MIGRATION_PATIENCE: MigrationPatience = { lockWaitSeconds: 5, attempts: 3, pauseMs: 1_000 };

/** A session that may be what a migration waited for: found holding the table, or in a transaction older than the wait. */
export interface LockHolder {
  readonly id: number;
  readonly user: string | undefined;
  readonly host: string | undefined;
  readonly database: string | undefined;
  readonly command: string | undefined;
  /** In its command (idle, for Sleep) for so long. */
  readonly seconds: number | undefined;
  /** Its transaction open for so long, when that could be seen. */
  readonly transactionSeconds: number | undefined;
}

/**
 * How the holders were found: from MariaDB's METADATA_LOCK_INFO plugin (the sessions holding the table), from
 * INNODB_TRX (open transactions older than the wait; it needs the PROCESS privilege), or only among this
 * account's own sessions (all the process list shows without that privilege), which may not be it.
 */
export type HoldersSeen = 'metadata-locks' | 'transactions' | 'own-sessions' | 'nothing';

/** A migration's statement could not have its table: another session keeps it in an open transaction. */
export class MigrationBlockedError extends OrbitError {
  constructor(
    readonly what: string, readonly database: string, readonly table: string | undefined, readonly attempts: number, readonly seconds: number,
    readonly holders: readonly LockHolder[], readonly seen: HoldersSeen,
  ) {
    super('ORBIT_ERR_MIGRATION_BLOCKED', `${what} waited ${attempts} times ${seconds} s for ${table === undefined ? 'a table' : `table ${table}`} of ${database}, `
      + 'which another session keeps in an open transaction (a DBA\'s session, a report, a backup such as mysqldump --single-transaction); '
      + 'that statement was not applied (those before it were, and a provision passes over them), the migrations before it are recorded. '
      + `${holdersSaid(holders, seen)}; then run npm run provision again (not while a backup runs)`);
  }
}

function describeHolder(holder: LockHolder): string {
  const about = [
    holder.user === undefined ? undefined : `${holder.user}@${holder.host ?? '?'}`,
    holder.database === undefined ? undefined : `database ${holder.database}`,
    holder.transactionSeconds === undefined ? undefined : `transaction open ${holder.transactionSeconds} s`,
    holder.command === undefined ? undefined : `${holder.command} for ${holder.seconds ?? '?'} s`,
  ].filter((part) => part !== undefined);
  return `session ${holder.id}${about.length > 0 ? ` (${about.join(', ')})` : ''}`;
}

function holdersSaid(holders: readonly LockHolder[], seen: HoldersSeen): string {
  const named = holders.map(describeHolder).join('; ');
  const kill = holders.map((holder) => `KILL ${holder.id}`).join(', ');
  const asAdministrator = 'an administrator sees it in information_schema.INNODB_TRX (trx_mysql_thread_id, trx_started) and SHOW PROCESSLIST';
  if (holders.length > 0 && seen === 'metadata-locks') return `Held by ${named}: end ${holders.length === 1 ? 'it' : 'them'} (${kill}) or wait until done`;
  if (holders.length > 0 && seen === 'transactions') return `Transactions open since before the wait: ${named}: end the one holding it (${kill}) or wait until it is done`;
  if (holders.length > 0) return `This account may not see transactions nor other accounts' sessions (it lacks the PROCESS privilege); its own sessions idle or busy since before the wait, which may be it: ${named}; end the one holding it (${kill}) or wait until it is done; else ${asAdministrator}`;
  if (seen === 'transactions') return `No transaction older than the wait is open now (it may have just ended); else ${asAdministrator}: end that session or wait until it is done`;
  return `This account may not see which session it is (it lacks the PROCESS privilege); ${asAdministrator}: end that session or wait until it is done`;
}

/** The table a migration statement changes, to name it and look for its holders; undefined when not said plainly. */
export function tableOf(statement: string): string | undefined {
  const match = /^(?:ALTER\s+(?:ONLINE\s+|IGNORE\s+)*TABLE|CREATE\s+(?:UNIQUE\s+|FULLTEXT\s+|SPATIAL\s+)?INDEX\s+(?:IF\s+NOT\s+EXISTS\s+)?`?\w+`?\s+ON|CREATE\s+TABLE(?:\s+IF\s+NOT\s+EXISTS)?|DROP\s+TABLE(?:\s+IF\s+EXISTS)?|INSERT\s+(?:IGNORE\s+)?INTO|UPDATE|DELETE\s+FROM|RENAME\s+TABLE)\s+`?(\w+)`?/i.exec(statement);
  return match?.[1];
}

const numberOr = (value: unknown): number | undefined => (value === null || value === undefined ? undefined : Number(value));
const stringOr = (value: unknown): string | undefined => (value === null || value === undefined || value === '' ? undefined : String(value));
const holderOf = (row: mysql.RowDataPacket): LockHolder => ({
  id: Number(row['id']), user: stringOr(row['user']), host: stringOr(row['host']), database: stringOr(row['db']),
  command: stringOr(row['command']), seconds: numberOr(row['seconds']), transactionSeconds: numberOr(row['transactionSeconds']),
});

/** At most this many sessions named: the oldest are the likely ones. */
const HOLDERS_NAMED = 5;

/**
 * The sessions that may hold `table` of `database`, which a statement waited for over `waitedSeconds`: the best
 * this account may see. A query it may not run (the plugin not loaded, the privilege lacking) gives way to the next.
 */
async function holdersOf(connection: mysql.Connection, database: string, table: string | undefined, waitedSeconds: number): Promise<{ holders: LockHolder[]; seen: HoldersSeen }> {
  const rows = async (sql: string, values: unknown[]): Promise<LockHolder[] | undefined> =>
    connection.query<mysql.RowDataPacket[]>(sql, values).then(([found]) => found.map(holderOf), () => undefined);
  // Its granted locks only, so not the sessions queued behind the statement; an account without PROCESS sees
  // every holder's id, but the process list says who only for its own sessions.
  const locking = await rows(`SELECT DISTINCT l.THREAD_ID AS id, p.USER AS user, p.HOST AS host, p.DB AS db, p.COMMAND AS command, p.TIME AS seconds
    FROM information_schema.METADATA_LOCK_INFO l LEFT JOIN information_schema.PROCESSLIST p ON p.ID = l.THREAD_ID
    WHERE l.TABLE_SCHEMA = ? AND (? IS NULL OR l.TABLE_NAME = ?) AND l.THREAD_ID <> CONNECTION_ID() ORDER BY p.TIME DESC LIMIT ${HOLDERS_NAMED}`, [database, table ?? null, table ?? null]);
  if (locking !== undefined && locking.length > 0) return { holders: locking, seen: 'metadata-locks' };
  // The holder took the lock before the statement first waited, so its transaction is at least that old (a second's
  // rounding). Those of the server's other databases are listed too, after the sessions using this one: a session
  // may read a table of a database other than its current one.
  const since = Math.max(0, Math.floor(waitedSeconds) - 1);
  const open = await rows(`SELECT t.trx_mysql_thread_id AS id, p.USER AS user, p.HOST AS host, p.DB AS db, p.COMMAND AS command, p.TIME AS seconds,
      TIMESTAMPDIFF(SECOND, t.trx_started, NOW()) AS transactionSeconds
    FROM information_schema.INNODB_TRX t LEFT JOIN information_schema.PROCESSLIST p ON p.ID = t.trx_mysql_thread_id
    WHERE t.trx_mysql_thread_id <> CONNECTION_ID() AND t.trx_started <= NOW() - INTERVAL ? SECOND
    ORDER BY p.DB <=> ? DESC, t.trx_started LIMIT ${HOLDERS_NAMED}`, [since, database]);
  if (open !== undefined) return { holders: open, seen: 'transactions' };
  // Without PROCESS the process list holds this account's sessions only, and says nothing of their transactions.
  const own = await rows(`SELECT ID AS id, USER AS user, HOST AS host, DB AS db, COMMAND AS command, TIME AS seconds FROM information_schema.PROCESSLIST
    WHERE ID <> CONNECTION_ID() AND TIME >= ? AND COMMAND NOT IN ('Daemon', 'Binlog Dump') AND COALESCE(STATE, '') NOT LIKE 'Waiting for%lock'
    ORDER BY DB <=> ? DESC, TIME DESC LIMIT ${HOLDERS_NAMED}`, [since, database]);
  return own === undefined ? { holders: [], seen: 'nothing' } : { holders: own, seen: 'own-sessions' };
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Runs `statement` on `connection` (whose session's lock_wait_timeout is the patience's), again after a pause each
 * time it timed out waiting for a lock, at most `patience.attempts` times. A statement that timed out did nothing
 * (DDL is applied whole or not at all; DML is rolled back), so it can run again. Says how long it waited when it
 * never had the lock; any other error is thrown.
 */
async function runWithinLockWait(connection: mysql.Connection, statement: string, values: unknown[], patience: MigrationPatience): Promise<{ blocked: false } | { blocked: true; waitedSeconds: number }> {
  const started = Date.now();
  for (let attempt = 1; ; attempt += 1) {
    try {
      await connection.query(statement, values);
      return { blocked: false };
    } catch (error) {
      if ((error as { code?: unknown }).code !== 'ER_LOCK_WAIT_TIMEOUT') throw error;
      if (attempt >= patience.attempts) return { blocked: true, waitedSeconds: (Date.now() - started) / 1000 };
      await sleep(patience.pauseMs);
    }
  }
}

/**
 * Applies, in order, every migration the database has not recorded, each recorded in `schema_migrations` with
 * its checksum. MySQL DDL commits by itself, so a crash can land between two statements of a migration or
 * before its record: each statement runs alone, and one that finds its column, index or table already there is
 * taken as applied. Two provisions at once take turns on a named lock, so the second finds the first's records.
 * Each statement waits seconds for its table's metadata lock, not the server's day (`patience`, for tests);
 * one that never has it fails the provision with MigrationBlockedError, naming who holds the table.
 */
export async function migrate(target: MysqlTarget, migrations: readonly Migration[] = loadMigrations(), patience: MigrationPatience = MIGRATION_PATIENCE): Promise<ProvisionStep[]> {
  const created = await ensureDatabase(target);
  const database = databaseOf(target.url);
  const connection = await createMysqlConnection(target.url, target.ssl);
  try {
    const [locked] = await connection.query<mysql.RowDataPacket[]>('SELECT GET_LOCK(?, ?) AS taken', [migrationLockName(database), MIGRATION_LOCK_WAIT_S]);
    if (Number(locked[0]?.['taken']) !== 1) throw new MigrationLockedError(database, MIGRATION_LOCK_WAIT_S);
    // Ended, the connection frees the lock too (a crash, or the end below).
    await connection.query('SET SESSION lock_wait_timeout = ?', [patience.lockWaitSeconds]);
    return [...created, ...(await migrateLocked(connection, database, migrations, patience))];
  } finally {
    await connection.end();
  }
}

async function migrateLocked(connection: mysql.Connection, database: string, migrations: readonly Migration[], patience: MigrationPatience): Promise<ProvisionStep[]> {
  /** Runs one statement of `what` within the lock wait, or fails naming who holds its table. */
  const run = async (what: string, statement: string, values: unknown[] = []): Promise<void> => {
    const outcome = await runWithinLockWait(connection, statement, values, patience);
    if (!outcome.blocked) return;
    const table = tableOf(statement);
    const { holders, seen } = await holdersOf(connection, database, table, outcome.waitedSeconds);
    throw new MigrationBlockedError(what, database, table, patience.attempts, patience.lockWaitSeconds, holders, seen);
  };
  await run('the table of applied migrations', `CREATE TABLE IF NOT EXISTS schema_migrations (
    version VARCHAR(16) NOT NULL PRIMARY KEY,
    file VARCHAR(255) NOT NULL,
    checksum CHAR(64) NOT NULL,
    applied_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3)
  ) ENGINE=InnoDB`);
  const [rows] = await connection.query<mysql.RowDataPacket[]>('SELECT version, checksum FROM schema_migrations');
  const applied = new Map(rows.map((row) => [String(row['version']), String(row['checksum'])]));
  const steps: ProvisionStep[] = [];
  for (const migration of migrations) {
    const checksum = applied.get(migration.version);
    if (checksum !== undefined) {
      if (!isRecordedAs(migration, checksum)) throw new MigrationChangedError(migration.version);
      steps.push({ kind: 'migration', name: migration.file, action: 'found' });
      continue;
    }
    for (const statement of statementsOf(migration.sql)) {
      await run(`migration ${migration.file}`, statement).catch((error: unknown) => {
        if (!alreadyApplied(statement, error)) throw error;
      });
    }
    await run(`the record of migration ${migration.file}`, 'INSERT INTO schema_migrations (version, file, checksum) VALUES (?, ?, ?)', [migration.version, migration.file, migration.checksum]);
    steps.push({ kind: 'migration', name: migration.file, action: 'applied' });
  }
  return steps;
}
