import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import mysql from 'mysql2/promise';
import { databaseOf, OrbitError, type MysqlTarget } from '@orbit/lib';
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
  const probe = await mysql.createConnection({ uri: mysqlUrl, ...(ssl ? { ssl } : {}) }).catch((error: unknown) => {
    if ((error as { code?: unknown }).code === 'ER_BAD_DB_ERROR') return undefined;
    throw error;
  });
  if (probe) {
    await probe.end();
    return [];
  }
  const url = new URL(mysqlUrl);
  url.pathname = '/';
  const server = await mysql.createConnection({ uri: url.toString(), ...(ssl ? { ssl } : {}) });
  try {
    await server.query(`CREATE DATABASE IF NOT EXISTS ${mysql.escapeId(database)} CHARACTER SET utf8mb4 COLLATE utf8mb4_bin`);
  } finally {
    await server.end();
  }
  return [{ kind: 'database', name: database, action: 'created' }];
}

/**
 * Applies, in order, every migration the database has not recorded, each
 * recorded in `schema_migrations` with its checksum. MySQL DDL commits
 * implicitly, so each file must be safe to re-run (IF NOT EXISTS) should a
 * crash land between the DDL and the record.
 */
export async function migrate(target: MysqlTarget, migrations: readonly Migration[] = loadMigrations()): Promise<ProvisionStep[]> {
  const created = await ensureDatabase(target);
  const connection = await mysql.createConnection({ uri: target.url, ...(target.ssl ? { ssl: target.ssl } : {}), multipleStatements: true });
  try {
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
        if (checksum !== migration.checksum) throw new MigrationChangedError(migration.version);
        steps.push({ kind: 'migration', name: migration.file, action: 'found' });
        continue;
      }
      await connection.query(migration.sql);
      await connection.query('INSERT INTO schema_migrations (version, file, checksum) VALUES (?, ?, ?)', [migration.version, migration.file, migration.checksum]);
      steps.push({ kind: 'migration', name: migration.file, action: 'applied' });
    }
    return [...created, ...steps];
  } finally {
    await connection.end();
  }
}
