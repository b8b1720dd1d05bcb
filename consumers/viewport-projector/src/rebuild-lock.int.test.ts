import mysql, { type PoolConnection } from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMysqlPool, databaseOf } from '@orbit/lib';
import { quietLogger, testConfig, uniqueSuffix } from '../../../test/helpers/index.js';
import { closeSwapGate, lockRebuild, RebuildLockLostError, rebuildLockName, RebuildRunningError, renameWithinLockWait, SwapBlockedError, SwapGateLostError, type SwapGate } from './rebuild.js';
import { asRoot } from '../../../test/helpers/mysql-root.js';
import { privateViewport } from '../../../test/helpers/viewport-db.js';


const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

describe('the rebuild lock', () => {
  // Its connections are opened while the server's wait_timeout is short: no other test's transaction is held on them.
  const pool = createMysqlPool(testConfig.MYSQL_URL, 1);
  // A database name of its own: the lock is per database, and a real rebuild of the stack's must not be refused.
  const database = `${databaseOf(testConfig.MYSQL_URL)}_lock_${uniqueSuffix()}`;
  const deps = { mysqlUrl: testConfig.MYSQL_URL, logger: quietLogger };
  let savedWaitTimeout: number | undefined;
  beforeAll(() => asRoot(async (root) => {
    const [rows] = await root.query<mysql.RowDataPacket[]>('SELECT @@GLOBAL.wait_timeout AS seconds');
    savedWaitTimeout = Number(rows[0]?.['seconds']);
    await root.query('SET GLOBAL wait_timeout = 2');
  }));
  afterAll(() => asRoot(async (root) => {
    await pool.end();
    if (savedWaitTimeout !== undefined) await root.query('SET GLOBAL wait_timeout = ?', [savedWaitTimeout]);
  }));

  // The replay runs for minutes on other connections while the lock's sits idle; the server used to close it after
  // its wait_timeout, freeing the lock, and a second rebuild then dropped the first one's shadow under it.
  it('still refuses a second rebuild after the first idled past the server\'s wait_timeout', async () => {
    const first = await lockRebuild(deps, database);
    try {
      await sleep(3_500);
      await expect(lockRebuild(deps, database)).rejects.toBeInstanceOf(RebuildRunningError);
      await expect(first.assertHeld('swapping the tables')).resolves.toBeUndefined();
    } finally {
      await first.release();
    }
    const next = await lockRebuild(deps, database);
    await next.release();
  }, 20_000);

  it('says so, before the rebuild drops or renames anything, once its connection is gone', async () => {
    const lock = await lockRebuild(deps, database);
    try {
      const [rows] = await pool.query<mysql.RowDataPacket[]>('SELECT IS_USED_LOCK(?) AS holder', [rebuildLockName(database)]);
      await pool.query(`KILL ${Number(rows[0]?.['holder'])}`);
      const lost = await lock.assertHeld('dropping viewport_previous').then(() => undefined, (error: unknown) => error);
      expect(lost).toBeInstanceOf(RebuildLockLostError);
      expect(lost).toMatchObject({ code: 'ORBIT_ERR_REBUILD_LOCK_LOST' });
      expect((lost as Error).message).toMatch(/stopped before dropping viewport_previous/);
    } finally {
      await lock.release();
    }
  });
});

describe('the swap', () => {
  const pool = createMysqlPool(testConfig.MYSQL_URL, 4);
  const live = `${databaseOf(testConfig.MYSQL_URL)}_swaplive_${uniqueSuffix()}`;
  const shadow = `${live}_shadow`;
  const previous = `${live}_previous`;
  const renames = [`\`${live}\`.t TO \`${previous}\`.t`, `\`${shadow}\`.t TO \`${live}\`.t`];
  const patience = { lockWaitSeconds: 1, attempts: 2, pauseMs: 200 };
  const noLockCheck = (): Promise<void> => Promise.resolve();
  beforeAll(async () => {
    for (const name of [live, shadow, previous]) await pool.query(`CREATE DATABASE \`${name}\``);
    await pool.query(`CREATE TABLE \`${live}\`.t (id INT PRIMARY KEY)`);
    await pool.query(`CREATE TABLE \`${shadow}\`.t (id INT PRIMARY KEY)`);
    await pool.query(`INSERT INTO \`${shadow}\`.t VALUES (2)`);
  });
  afterAll(async () => {
    for (const name of [live, shadow, previous]) await pool.query(`DROP DATABASE IF EXISTS \`${name}\``);
    await pool.end();
  });

  // One open transaction that read a live table (a DBA's session, a report) held the RENAME for the server's
  // lock_wait_timeout, a day on MariaDB, with every gateway read queued behind it and the live projector at the gate.
  it('gives up within seconds, swapping nothing, while another session keeps a live table in an open transaction', async () => {
    const reader = await pool.getConnection();
    const swapper = await pool.getConnection();
    try {
      await reader.query('START TRANSACTION');
      await reader.query(`SELECT COUNT(*) FROM \`${live}\`.t`);
      const started = Date.now();
      const blocked = await renameWithinLockWait(swapper, live, renames, noLockCheck, patience).then(() => undefined, (error: unknown) => error);
      expect(blocked).toBeInstanceOf(SwapBlockedError);
      expect(blocked).toMatchObject({ code: 'ORBIT_ERR_SWAP_BLOCKED' });
      expect(Date.now() - started).toBeLessThan(10_000);
      await reader.query('COMMIT');
      const [rows] = await pool.query<mysql.RowDataPacket[]>(`SELECT id FROM \`${live}\`.t`);
      expect(rows).toEqual([]); // the live table is still the live one
    } finally {
      reader.release();
      swapper.release();
    }
  }, 20_000);

  it('swaps once the other session ends its transaction between tries', async () => {
    const reader = await pool.getConnection();
    const swapper = await pool.getConnection();
    try {
      await reader.query('START TRANSACTION');
      await reader.query(`SELECT COUNT(*) FROM \`${live}\`.t`);
      setTimeout(() => { reader.query('COMMIT').catch(() => undefined); }, 1_100);
      await renameWithinLockWait(swapper, live, renames, noLockCheck, { ...patience, attempts: 3 });
      const [rows] = await pool.query<mysql.RowDataPacket[]>(`SELECT id FROM \`${live}\`.t`);
      expect(rows).toEqual([{ id: 2 }]);
    } finally {
      reader.release();
      swapper.release();
    }
  }, 20_000);
});

/** A private ViewPort whose swap gate a rebuild closed (idle bound 2 s), and a connection the live projector would use. */
async function withGate(name: string, test: (held: { viewport: Awaited<ReturnType<typeof privateViewport>>; gate: SwapGate; projector: PoolConnection }) => Promise<void>): Promise<void> {
  const viewport = await privateViewport(name);
  const url = new URL(testConfig.MYSQL_URL);
  url.pathname = `/${viewport.database}`;
  const gatePool = createMysqlPool(url.toString(), 2);
  const projector = await viewport.pool.getConnection();
  try {
    await test({ viewport, gate: await closeSwapGate(gatePool, viewport.database, 2), projector });
  } finally {
    projector.release();
    await gatePool.end();
    await viewport.drop();
  }
}

describe('the swap gate', () => {
  // A rebuild stopped (SIGSTOP) right after it closed the gate held the live projector for as long as it stood still:
  // its 30 s was a timer in the stopped process. The server now ends the gate's transaction by itself.
  it('is let go by the server once the rebuild holding it stops issuing statements, and the rebuild then refuses to swap', async () => {
    await withGate('gate', async ({ viewport, gate, projector }) => {
      // As the live projector's transaction passes the gate: it waits there, then goes on once the server closed the idle gate.
      await projector.query('SET SESSION innodb_lock_wait_timeout = 20');
      await projector.query('START TRANSACTION');
      const started = Date.now();
      await projector.query(`SELECT id FROM \`${viewport.database}\`.viewport_swap_gate WHERE id = 1 FOR UPDATE`);
      const waited = Date.now() - started;
      await projector.query('COMMIT');
      expect(waited).toBeGreaterThan(1_000);
      expect(waited).toBeLessThan(8_000);
      // Woken again, the rebuild finds the gate gone before its RENAME, and says so; nothing was swapped.
      const lost = await gate.assertHeld('swapping the tables').then(() => undefined, (error: unknown) => error);
      expect(lost).toBeInstanceOf(SwapGateLostError);
      expect(lost).toMatchObject({ code: 'ORBIT_ERR_SWAP_GATE_LOST' });
      expect((lost as Error).message).toMatch(/after 2 s without a statement.*stopped before swapping the tables; nothing was swapped/);
      expect(await gate.open()).toBe(false);
    });
  }, 30_000);

  it('holds the live projector while the rebuild goes on pinging it, and lets it go when opened', async () => {
    await withGate('gateheld', async ({ viewport, gate, projector }) => {
      await projector.query('SET SESSION innodb_lock_wait_timeout = 1');
      for (let round = 0; round < 3; round += 1) {
        await sleep(1_000);
        await gate.assertHeld('swapping the tables');
      }
      await projector.query('START TRANSACTION');
      await expect(projector.query(`SELECT id FROM \`${viewport.database}\`.viewport_swap_gate WHERE id = 1 FOR UPDATE`)).rejects.toMatchObject({ code: 'ER_LOCK_WAIT_TIMEOUT' });
      await projector.query('ROLLBACK');
      expect(await gate.open()).toBe(true);
      await projector.query('START TRANSACTION');
      await projector.query(`SELECT id FROM \`${viewport.database}\`.viewport_swap_gate WHERE id = 1 FOR UPDATE`);
      await projector.query('COMMIT');
    });
  }, 30_000);
});
