import { describe, expect, it } from 'vitest';
import type { Pool, PoolConnection } from 'mysql2/promise';
import { closeSwapGate, gateIdleSeconds, PROJECTION_TABLES, renameWithinLockWait, SwapBlockedError, swapRenames } from './rebuild.js';

/** A connection whose RENAME waits out its lock wait every time, as behind another session's open transaction. */
function blockedConnection(renamesBeforeGoingThrough = Infinity): { connection: PoolConnection; statements: string[] } {
  const statements: string[] = [];
  let renames = 0;
  const query = (sql: string, values?: unknown[]): Promise<unknown> => {
    statements.push(values ? `${sql} ${JSON.stringify(values)}` : sql);
    if (!sql.startsWith('RENAME')) return Promise.resolve([[], []]);
    renames += 1;
    if (renames > renamesBeforeGoingThrough) return Promise.resolve([[], []]);
    return Promise.reject(Object.assign(new Error('Lock wait timeout exceeded; try restarting transaction'), { code: 'ER_LOCK_WAIT_TIMEOUT', errno: 1205 }));
  };
  return { connection: { query } as unknown as PoolConnection, statements };
}

const patience = { lockWaitSeconds: 5, attempts: 3, pauseMs: 1 };
const held = (): Promise<void> => Promise.resolve();

describe('renameWithinLockWait', () => {
  // The server's default wait is a day (MariaDB): the rename waited that long, gateway reads queued behind it.
  it('bounds each wait for the tables with the session\'s lock_wait_timeout, before the rename', async () => {
    const { connection, statements } = blockedConnection(0);
    await renameWithinLockWait(connection, 'viewport', ['a TO b'], held, patience);
    expect(statements).toEqual(['SET SESSION lock_wait_timeout = ? [5]', 'RENAME TABLE a TO b']);
  });

  it('tries a few times, then gives up saying what holds it, so the caller opens the gate again', async () => {
    const { connection, statements } = blockedConnection();
    const error = await renameWithinLockWait(connection, 'viewport', ['a TO b'], held, patience).then(() => undefined, (caught: unknown) => caught);
    expect(error).toBeInstanceOf(SwapBlockedError);
    expect(error).toMatchObject({ code: 'ORBIT_ERR_SWAP_BLOCKED' });
    expect((error as Error).message).toMatch(/open transaction.*nothing was swapped/);
    expect(statements.filter((sql) => sql.startsWith('RENAME'))).toHaveLength(3);
  });

  it('checks the rebuild still holds its lock before every try', async () => {
    const { connection, statements } = blockedConnection();
    const lost = new Error('lock lost');
    let checks = 0;
    const error = await renameWithinLockWait(connection, 'viewport', ['a TO b'], () => (checks++ === 1 ? Promise.reject(lost) : Promise.resolve()), patience)
      .then(() => undefined, (caught: unknown) => caught);
    expect(error).toBe(lost);
    expect(statements.filter((sql) => sql.startsWith('RENAME'))).toHaveLength(1);
  });
});

describe('closeSwapGate', () => {
  // The rebuild's 30 s was a timer in its own process: stopped (SIGSTOP), it held the live projector for as long as it stood still.
  it('bounds the gate on the server: its session\'s wait_timeout is set before the gate row is locked', async () => {
    const statements: string[] = [];
    const connection = {
      query: (sql: string, values?: unknown[]) => {
        statements.push(values ? `${sql} ${JSON.stringify(values)}` : sql);
        return Promise.resolve([[], []]);
      },
      beginTransaction: () => {
        statements.push('BEGIN');
        return Promise.resolve();
      },
    };
    const pool = { getConnection: () => Promise.resolve(connection) } as unknown as Pool;
    await closeSwapGate(pool, 'viewport', gateIdleSeconds(30_000));
    expect(statements).toEqual([
      'SET SESSION wait_timeout = ? [45]',
      'INSERT IGNORE INTO `viewport`.viewport_swap_gate (id) VALUES (1)',
      'BEGIN',
      'SELECT id FROM `viewport`.viewport_swap_gate WHERE id = 1 FOR UPDATE',
    ]);
  });
});

describe('swapRenames', () => {
  // The previous copy used to be dropped before the gate: a rebuild that then failed left none.
  it('replaces the previous copy in the one RENAME that swaps the tables, moving the one before into the shadow', () => {
    const renames = swapRenames('viewport', 'viewport_rebuild', 'viewport_previous', ['wp_posts']);
    expect(renames[0]).toBe('`viewport_previous`.`wp_posts` TO `viewport_rebuild`.`replaced_wp_posts`');
    expect(renames.slice(1, 3)).toEqual(['`viewport`.`wp_image_uid` TO `viewport_previous`.`wp_image_uid`', '`viewport_rebuild`.`wp_image_uid` TO `viewport`.`wp_image_uid`']);
    expect(renames).toHaveLength(1 + 2 * PROJECTION_TABLES.length);
    // A first rebuild finds no previous copy: nothing to move aside.
    expect(swapRenames('viewport', 'viewport_rebuild', 'viewport_previous', [])).toHaveLength(2 * PROJECTION_TABLES.length);
  });
});
