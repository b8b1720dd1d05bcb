import type { Pool } from 'mysql2/promise';
import { describe, expect, it } from 'vitest';
import { quietLogger } from '../../../../test/helpers/index.js';
import { mysqlCommandOutbox } from './mysql-outbox.js';

/**
 * The outbox's table as a fake pool: its rows by id, a named lock, deletes, leases (never running out here). Only what
 * the sweep and release say.
 */
function fakeOutboxTable(rows: readonly { id: number; topic: string; payload: string; traceparent: null }[]): Pool {
  const table = new Map(rows.map((row) => [row.id, { ...row, leased: 0 }]));
  const execute = async (sql: string, values: number[]) => {
    const id = Number(values[values.length - 1]);
    if (sql.startsWith('DELETE FROM gateway_outbox')) table.delete(id);
    else if (sql.startsWith('UPDATE gateway_outbox SET sending_until')) { const row = table.get(id); if (row) row.leased = sql.includes('NULL') ? 0 : 1; }
    else throw new Error(`unexpected statement: ${sql}`);
    return [{}];
  };
  const connection = {
    query: async (sql: string) => {
      if (sql.includes('GET_LOCK')) return [[{ taken: 1 }]];
      if (sql.includes('RELEASE_LOCK')) return [[{ released: 1 }]];
      if (sql.startsWith('SELECT id, topic')) return [[...table.values()].sort((left, right) => left.id - right.id)];
      throw new Error(`unexpected statement: ${sql}`);
    },
    execute, release: () => undefined, destroy: () => undefined,
  };
  return { getConnection: async () => connection, execute } as unknown as Pool;
}

const envelope = (id: number) => ({ eventId: `e${id}`, pid: `p${id}`, correlationId: `c${id}`, imageUID: 'img-X', occurredAt: 0 });

describe('the gateway outbox sweep', () => {
  it('keeps commands in order behind a row whose own send still tries (found by a reread: the later command of the image went first)', async () => {
    const rows = [1, 2].map((id) => ({ id, topic: 't', payload: JSON.stringify(envelope(id)), traceparent: null as null }));
    const onKafka: string[] = [];
    let letFirstGo = (): void => undefined;
    const publisher = {
      publish: async (_topic: string, event: { eventId: string }) => {
        if (event.eventId === 'e1') await new Promise<void>((resolve) => { letFirstGo = resolve; });
        onKafka.push(event.eventId);
        return event;
      },
    };
    const outbox = mysqlCommandOutbox(fakeOutboxTable(rows), publisher as never, quietLogger, 60, 10);
    // Row 1's send is still trying after the caller's wait; row 2 was left by a send that failed.
    await outbox.release({ id: 1, topic: 't', eventId: 'e1', trail: envelope(1), payload: rows[0]!.payload, traceparent: '' } as never);
    await outbox.sweep();
    letFirstGo();
    await new Promise((resolve) => setTimeout(resolve, 20));
    await outbox.sweep();
    expect(onKafka).toEqual(['e1', 'e2']);
  });

  it('stops at a row another gateway\'s send still holds (its lease runs), keeping the rows behind it for a later sweep', async () => {
    const rows = [1, 2].map((id) => ({ id, topic: 't', payload: JSON.stringify(envelope(id)), traceparent: null as null }));
    const pool = fakeOutboxTable(rows);
    // Another replica's release leases row 1 (as holdLease does), then its send ends without Kafka and gives it up.
    await pool.execute('UPDATE gateway_outbox SET sending_until = UTC_TIMESTAMP(3) + INTERVAL ? SECOND WHERE id = ?', [60, 1]);
    const onKafka: string[] = [];
    const outbox = mysqlCommandOutbox(pool, { publish: async (_topic: string, event: { eventId: string }) => { onKafka.push(event.eventId); } } as never, quietLogger, 60, 10);
    expect(await outbox.sweep()).toBe(0);
    await pool.execute('UPDATE gateway_outbox SET sending_until = NULL WHERE id = ?', [1]);
    expect(await outbox.sweep()).toBe(2);
    expect(onKafka).toEqual(['e1', 'e2']);
  });
});
