import mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMysqlPool, databaseOf } from '@orbit/lib';
import { testConfig, uniqueSuffix } from '../../../../test/helpers/index.js';
import { asRoot } from '../../../../test/helpers/mysql-root.js';
import { migrate, MigrationBlockedError, type Migration } from './migrations.js';

// `npm run provision` while another session kept a table in an open transaction (a DBA's session, a report,
// `mysqldump --single-transaction`): the migration's ALTER waited the server's lock_wait_timeout (a day on
// MariaDB), and every gateway query on that table queued behind it for as long.

/** A database of the test's own, under the `<database>_` names the stack's user may create. */
const database = `${databaseOf(testConfig.MYSQL_URL)}_migrate_${uniqueSuffix()}`;
const urlAs = (user?: { name: string; password: string }): string => {
  const url = new URL(testConfig.MYSQL_URL);
  url.pathname = `/${database}`;
  if (user) {
    url.username = user.name;
    url.password = user.password;
  }
  return url.toString();
};
/** An account that may see other sessions' transactions (PROCESS), as a DBA's provision would run with. */
const seer = { name: `orbit_mig_${uniqueSuffix()}`, password: `pw-${uniqueSuffix()}` };
const account = `'${seer.name}'@'%'`;

const table: Migration = { version: '0001', file: '0001_t.sql', sql: 'CREATE TABLE t (a INT NOT NULL PRIMARY KEY);\nINSERT INTO t VALUES (1), (2);', checksum: 'a'.repeat(64) };
const column: Migration = { version: '0002', file: '0002_t_b.sql', sql: 'ALTER TABLE t ADD COLUMN b INT NULL;', checksum: 'b'.repeat(64) };
const patience = { lockWaitSeconds: 1, attempts: 3, pauseMs: 500 };

const pool = createMysqlPool(testConfig.MYSQL_URL, 2);
beforeAll(async () => {
  await pool.query(`CREATE DATABASE \`${database}\``);
  await asRoot(async (root) => {
    await root.query(`CREATE USER ${account} IDENTIFIED BY '${seer.password}'`);
    await root.query(`GRANT PROCESS ON *.* TO ${account}`);
    await root.query(`GRANT ALL PRIVILEGES ON \`${database}\`.* TO ${account}`);
  });
  await migrate({ url: urlAs() }, [table]);
});
afterAll(async () => {
  await asRoot((root) => root.query(`DROP USER IF EXISTS ${account}`));
  await pool.query(`DROP DATABASE IF EXISTS \`${database}\``);
  await pool.end();
});

const columnsOfT = async (): Promise<string[]> => {
  const [rows] = await pool.query<mysql.RowDataPacket[]>(
    'SELECT column_name AS name FROM information_schema.columns WHERE table_schema = ? AND table_name = ? ORDER BY ordinal_position', [database, 't']);
  return rows.map((row) => String(row['name']));
};
const recorded = async (): Promise<string[]> => {
  const [rows] = await pool.query<mysql.RowDataPacket[]>(`SELECT version FROM \`${database}\`.schema_migrations ORDER BY version`);
  return rows.map((row) => String(row['version']));
};

/** A session in an open transaction that has read t, as a report or a backup holds it; its connection id. */
async function holdT(): Promise<{ id: number; end: () => Promise<void> }> {
  const holder = await mysql.createConnection({ uri: urlAs() });
  await holder.query('START TRANSACTION');
  await holder.query('SELECT COUNT(*) FROM t');
  const [rows] = await holder.query<mysql.RowDataPacket[]>('SELECT CONNECTION_ID() AS id');
  return { id: Number(rows[0]?.['id']), end: async () => { await holder.query('COMMIT'); await holder.end(); } };
}

/** The gateway: a simple read of t every 20 ms, timed, until stopped. */
function probeT(): { stop: () => Promise<number> } {
  let stopped = false;
  let worst = 0;
  const probing = (async () => {
    const probe = await mysql.createConnection({ uri: urlAs() });
    try {
      while (!stopped) {
        const started = Date.now();
        await probe.query('SELECT a FROM t WHERE a = 1');
        worst = Math.max(worst, Date.now() - started);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    } finally {
      await probe.end();
    }
  })();
  return { stop: async () => { stopped = true; await probing; return worst; } };
}

describe('migrate, while another session keeps a table in an open transaction', () => {
  it('keeps queries on the table waiting seconds at most, and gives up naming the session, nothing applied', async () => {
    const holder = await holdT();
    const gateway = probeT();
    try {
      const started = Date.now();
      const blocked = await migrate({ url: urlAs(seer) }, [table, column], patience).then(() => undefined, (error: unknown) => error);
      const took = Date.now() - started;
      const worst = await gateway.stop();
      expect(blocked).toBeInstanceOf(MigrationBlockedError);
      expect(blocked).toMatchObject({ code: 'ORBIT_ERR_MIGRATION_BLOCKED', table: 't', seen: 'transactions' });
      expect((blocked as MigrationBlockedError).holders.map((held) => held.id)).toContain(holder.id);
      const message = (blocked as Error).message;
      expect(message).toContain(`migration 0002_t_b.sql waited 3 times 1 s for table t of ${database}`);
      expect(message).toMatch(new RegExp(`session ${holder.id} \\(orbit@[^,]+, database ${database}, transaction open \\d+ s, Sleep for \\d+ s\\)`));
      expect(message).toContain(`KILL ${holder.id}`);
      expect(message).toContain('not while a backup runs');
      // Three waits of 1 s and two pauses, not the server's day; the gateway's read queued 1 s at a time at most.
      expect(took).toBeLessThan(8_000);
      expect(worst).toBeLessThan(2_000);
      // Nothing half-applied: the column is not there, 0002 not recorded.
      expect(await columnsOfT()).toEqual(['a']);
      expect(await recorded()).toEqual(['0001']);
    } finally {
      await gateway.stop();
      await holder.end();
    }
    // Once the session is gone, the next provision applies it.
    expect(await migrate({ url: urlAs(seer) }, [table, column], patience)).toEqual([
      { kind: 'migration', name: '0001_t.sql', action: 'found' },
      { kind: 'migration', name: '0002_t_b.sql', action: 'applied' },
    ]);
    expect(await columnsOfT()).toEqual(['a', 'b']);
    expect(await recorded()).toEqual(['0001', '0002']);
    await pool.query(`ALTER TABLE \`${database}\`.t DROP COLUMN b`);
    await pool.query(`DELETE FROM \`${database}\`.schema_migrations WHERE version = '0002'`);
  }, 30_000);

  it('goes on when the session ends its transaction between tries', async () => {
    const holder = await holdT();
    const gateway = probeT();
    try {
      setTimeout(() => { holder.end().catch(() => undefined); }, 1_200);
      const steps = await migrate({ url: urlAs(seer) }, [table, column], patience);
      expect(steps).toContainEqual({ kind: 'migration', name: '0002_t_b.sql', action: 'applied' });
      expect(await gateway.stop()).toBeLessThan(2_000);
      expect(await columnsOfT()).toEqual(['a', 'b']);
    } finally {
      await gateway.stop();
      await holder.end().catch(() => undefined);
    }
    await pool.query(`ALTER TABLE \`${database}\`.t DROP COLUMN b`);
    await pool.query(`DELETE FROM \`${database}\`.schema_migrations WHERE version = '0002'`);
  }, 30_000);

  // The stack's account lacks PROCESS: it sees neither transactions nor other accounts' sessions, only its own.
  it('says so when its account may not see transactions, naming its own sessions idle since before the wait', async () => {
    const holder = await holdT();
    try {
      const blocked = await migrate({ url: urlAs() }, [table, column], patience).then(() => undefined, (error: unknown) => error);
      expect(blocked).toMatchObject({ code: 'ORBIT_ERR_MIGRATION_BLOCKED', seen: 'own-sessions' });
      const message = (blocked as Error).message;
      expect(message).toContain('it lacks the PROCESS privilege');
      expect(message).toContain(`session ${holder.id} (orbit@`);
      expect(message).toContain('information_schema.INNODB_TRX');
      expect(await columnsOfT()).toEqual(['a']);
    } finally {
      await holder.end();
    }
  }, 30_000);
});
