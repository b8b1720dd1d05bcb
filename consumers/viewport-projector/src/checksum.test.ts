import { MysqlSilentError, withAnswerDeadline } from '@orbit/lib';
import type { Pool } from 'mysql2/promise';
import { describe, expect, it } from 'vitest';
import { projectionChecksum } from './checksum.js';

/**
 * A pool of one connection that answers the transaction's statements, never answers a read of a table, and once
 * destroyed refuses every command as mysql2 does: what the checksum met when a read outlasted the answer deadline.
 */
function silentOnReads(): Pool {
  let destroyed = false;
  const connection = {
    query: (sql: string): Promise<unknown> => {
      if (destroyed) return Promise.reject(new Error("Can't add new command when connection is in closed state"));
      if (/^(SET|START|COMMIT|SELECT id FROM viewport_swap_gate)/.test(sql)) return Promise.resolve([[], []]);
      return new Promise(() => undefined);
    },
    destroy: () => { destroyed = true; },
    release: () => undefined,
  };
  return { getConnection: () => Promise.resolve(connection) } as unknown as Pool;
}

describe('projectionChecksum when MySQL falls silent in a read', () => {
  it('fails naming what did not answer and the deadline (found by a review: "Can\'t add new command when connection is in closed state", from the COMMIT after)', async () => {
    const pool = withAnswerDeadline(silentOnReads(), 100, 'MySQL at db:3306/viewport');
    const failure = await projectionChecksum(pool).then(() => undefined, (error: unknown) => error);
    expect(failure).toBeInstanceOf(MysqlSilentError);
    expect((failure as MysqlSilentError).cause).toEqual(new Error('MySQL at db:3306/viewport did not answer within 0.1 s (waiting for query); the connection was dropped'));
  });
});
