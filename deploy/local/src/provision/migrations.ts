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
 * Applies, in order, every migration the database has not recorded, each recorded in `schema_migrations` with
 * its checksum. MySQL DDL commits by itself, so a crash can land between two statements of a migration or
 * before its record: each statement runs alone, and one that finds its column, index or table already there is
 * taken as applied. Two provisions at once take turns on a named lock, so the second finds the first's records.
 */
export async function migrate(target: MysqlTarget, migrations: readonly Migration[] = loadMigrations()): Promise<ProvisionStep[]> {
  const created = await ensureDatabase(target);
  const database = databaseOf(target.url);
  const connection = await createMysqlConnection(target.url, target.ssl);
  try {
    const [locked] = await connection.query<mysql.RowDataPacket[]>('SELECT GET_LOCK(?, ?) AS taken', [migrationLockName(database), MIGRATION_LOCK_WAIT_S]);
    if (Number(locked[0]?.['taken']) !== 1) throw new MigrationLockedError(database, MIGRATION_LOCK_WAIT_S);
    // Ended, the connection frees the lock too (a crash, or the end below).
    return [...created, ...(await migrateLocked(connection, migrations))];
  } finally {
    await connection.end();
  }
}

async function migrateLocked(connection: mysql.Connection, migrations: readonly Migration[]): Promise<ProvisionStep[]> {
  await connection.query(`CREATE TABLE IF NOT EXISTS schema_migrations (
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
      await connection.query(statement).catch((error: unknown) => {
        if (!alreadyApplied(statement, error)) throw error;
      });
    }
    await connection.query('INSERT INTO schema_migrations (version, file, checksum) VALUES (?, ?, ?)', [migration.version, migration.file, migration.checksum]);
    steps.push({ kind: 'migration', name: migration.file, action: 'applied' });
  }
  return steps;
}
