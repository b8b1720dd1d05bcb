import { Writable } from 'node:stream';
import mysql from 'mysql2/promise';
import { afterAll, describe, expect, it } from 'vitest';
import { checkSchemaCurrent, createLogger, createMysqlPool, databaseOf, waitForCurrentSchema } from '@orbit/lib';
import { testConfig, uniqueSuffix, waitFor } from '../../../../test/helpers/index.js';
import { loadMigrations, migrate, type Migration } from './migrations.js';

/** A database of the test's own, under the `<database>_` names the stack's user may create. */
function scratchTarget(): { url: string; database: string } {
  const database = `${databaseOf(testConfig.MYSQL_URL)}_migrate_${uniqueSuffix()}`;
  const url = new URL(testConfig.MYSQL_URL);
  url.pathname = `/${database}`;
  return { url: url.toString(), database };
}

const pool = createMysqlPool(testConfig.MYSQL_URL, 2);
const created: string[] = [];
afterAll(async () => {
  for (const database of created) await pool.query(`DROP DATABASE IF EXISTS \`${database}\``);
  await pool.end();
});

const columnsOf = async (database: string, table: string): Promise<string[]> => {
  const [rows] = await pool.query<mysql.RowDataPacket[]>(
    'SELECT column_name AS name FROM information_schema.columns WHERE table_schema = ? AND table_name = ? ORDER BY ordinal_position', [database, table]);
  return rows.map((row) => String(row['name']));
};

describe('migrate', () => {
  // DDL commits by itself: a provision killed between two statements of a migration left the first applied and
  // nothing recorded, and every later provision failed on it (ER_DUP_FIELDNAME) for ever.
  it('finishes a migration a crash cut short between its statements', async () => {
    const { url, database } = scratchTarget();
    created.push(database);
    const sql = [
      '-- a table; then two columns; a comment; with a semicolon',
      'CREATE TABLE t (a INT NOT NULL PRIMARY KEY);',
      "ALTER TABLE t ADD COLUMN b VARCHAR(8) NOT NULL DEFAULT 'x;y';",
      'ALTER TABLE t ADD COLUMN c INT NULL, ADD KEY ix_t_c (c);',
      'CREATE INDEX ix_t_b ON t (b);',
    ].join('\n');
    const migration: Migration = { version: '0001', file: '0001_t.sql', sql, checksum: 'c'.repeat(64) };
    await pool.query(`CREATE DATABASE \`${database}\``);
    // What the crashed run had done: all but the last statement, and no record.
    await pool.query(`CREATE TABLE \`${database}\`.t (a INT NOT NULL PRIMARY KEY)`);
    await pool.query(`ALTER TABLE \`${database}\`.t ADD COLUMN b VARCHAR(8) NOT NULL DEFAULT 'x;y'`);
    await pool.query(`ALTER TABLE \`${database}\`.t ADD COLUMN c INT NULL, ADD KEY ix_t_c (c)`);

    const steps = await migrate({ url }, [migration]);
    expect(steps).toEqual([{ kind: 'migration', name: '0001_t.sql', action: 'applied' }]);
    expect(await columnsOf(database, 't')).toEqual(['a', 'b', 'c']);
    const [indexes] = await pool.query<mysql.RowDataPacket[]>(`SHOW INDEX FROM \`${database}\`.t WHERE Key_name = 'ix_t_b'`);
    expect(indexes).toHaveLength(1);
    expect(await migrate({ url }, [migration])).toEqual([{ kind: 'migration', name: '0001_t.sql', action: 'found' }]);
  });

  it('still fails a statement that is wrong, not merely applied before', async () => {
    const { url, database } = scratchTarget();
    created.push(database);
    const migration: Migration = { version: '0001', file: '0001_bad.sql', sql: 'CREATE TABLE t (a INT, a INT);', checksum: 'd'.repeat(64) };
    await expect(migrate({ url }, [migration])).rejects.toMatchObject({ code: 'ER_DUP_FIELDNAME' });
  });

  // Two provisions at once (a stack started twice, two deploy jobs) both applied the same ALTERs, and one failed.
  it('lets two provisions at once take turns, each migration applied once', async () => {
    const { url, database } = scratchTarget();
    created.push(database);
    const [first, second] = await Promise.all([migrate({ url }), migrate({ url })]);
    const applied = [...first, ...second].filter((step) => step.kind === 'migration' && step.action === 'applied').map((step) => step.name);
    const found = [...first, ...second].filter((step) => step.kind === 'migration' && step.action === 'found').map((step) => step.name);
    expect(new Set(applied).size).toBe(applied.length);
    expect([...applied].sort()).toEqual([...found].sort());
    expect(await columnsOf(database, 'upload_completions')).toEqual(expect.arrayContaining(['metadata_sha256', 'content_sha256']));
  }, 60_000);

  // Installs made at ac81eb6 or 9cfa6ad recorded 0006 before a2dd93f edited it, and could never provision again.
  it('upgrades a database that recorded 0006 as it read before its edit', async () => {
    const { url, database } = scratchTarget();
    created.push(database);
    const bundled = loadMigrations();
    await migrate({ url }, bundled.filter((migration) => migration.version <= '0006'));
    await pool.query(`UPDATE \`${database}\`.schema_migrations SET checksum = ? WHERE version = '0006'`, ['2dd03b1bc0add464a9cbfebd0445775d78846d73c49fef2eb1a77f3e759c17b0']);

    const steps = await migrate({ url }, bundled);
    expect(steps).toContainEqual({ kind: 'migration', name: '0006_viewport_outbox_sent.sql', action: 'found' });
    expect(steps.filter((step) => step.action === 'applied').map((step) => step.name)).toEqual(bundled.filter((migration) => migration.version > '0006').map((migration) => migration.file));
  }, 60_000);

  // A service of this build started before `npm run provision` lost messages (ER_BAD_FIELD_ERROR is not retriable);
  // it now waits, naming what is missing, and goes on by itself once the provision ran.
  it('keeps a service of this build waiting until the provision applied its last migration', async () => {
    const { url, database } = scratchTarget();
    created.push(database);
    const bundled = loadMigrations();
    const last = bundled[bundled.length - 1];
    await migrate({ url }, bundled.slice(0, -1));
    const service = createMysqlPool(url, 2);
    try {
      await expect(checkSchemaCurrent(service)).rejects.toMatchObject({ code: 'ORBIT_ERR_SCHEMA_BEHIND', missing: [last?.file] });
      // A service's logger, what it says kept: the wait takes a pino logger, as the services pass it.
      const said: string[] = [];
      const logger = createLogger({ service: 'migrations-test', destination: new Writable({ write(chunk: Buffer, _encoding, done) { said.push(...chunk.toString().split('\n').filter((line) => line !== '').map((line) => String((JSON.parse(line) as { msg?: unknown }).msg))); done(); } }) });
      let current = false;
      let asked = 0;
      const counted = { query: (sql: string) => { asked += 1; return service.query(sql); } };
      const waiting = waitForCurrentSchema(counted, { logger, pollMs: 50 }).then(() => { current = true; });
      // Asked, found behind and asked again: waiting, not gone on.
      await waitFor(() => said.length === 1 && asked >= 2, { timeoutMs: 5_000, intervalMs: 20, what: 'a second look at the schema' });
      expect(current).toBe(false);
      await migrate({ url }, bundled);
      await waiting;
      expect(said).toEqual(['waiting for the MySQL schema this build needs (asked again every few seconds)', 'the MySQL schema is current; going on']);
      await expect(checkSchemaCurrent(service)).resolves.toBeUndefined();
    } finally {
      await service.end();
    }
  }, 60_000);
});
