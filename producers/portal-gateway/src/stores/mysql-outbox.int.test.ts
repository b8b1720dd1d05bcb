import { randomUUID } from 'node:crypto';
import { Writable } from 'node:stream';
import { childSpan, createLogger, createMysqlPool, StoreUnavailableError, type EventEnvelope, type Logger } from '@orbit/lib';
import { sampleEvents } from '@orbit/schemas';
import type { RowDataPacket } from 'mysql2/promise';
import { afterAll, describe, expect, it } from 'vitest';
import { quietLogger, testConfig } from '../../../../test/helpers/index.js';
import { mysqlCommandOutbox } from './mysql-outbox.js';

const pool = createMysqlPool(testConfig.MYSQL_URL, 2);
afterAll(async () => { await pool.end(); });

async function kept(eventId: string): Promise<number> {
  const [rows] = await pool.query<RowDataPacket[]>('SELECT COUNT(*) AS n FROM gateway_outbox WHERE payload LIKE ?', [`%${eventId}%`]);
  return Number(rows[0]?.['n']);
}

async function statusOf(requestId: string): Promise<string | undefined> {
  const [rows] = await pool.query<RowDataPacket[]>('SELECT status FROM viewport_requests WHERE request_id = ?', [requestId]);
  return rows[0] ? String(rows[0]['status']) : undefined;
}

/** A logger whose lines are kept, parsed. */
function keptLines(): { logger: Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const destination = new Writable({ write(chunk: Buffer, _encoding, done) { lines.push(JSON.parse(chunk.toString('utf8')) as Record<string, unknown>); done(); } });
  return { logger: createLogger({ service: 'test', level: 'info', destination }), lines };
}

describe('the gateway command outbox against MariaDB', () => {
  it('logs each command it publishes, at once or by the sweep, with its pid, correlationId and imageUID, as every service logs a message', async () => {
    const at = (lines: Record<string, unknown>[], eventId: string) => lines.filter((line) => line['eventId'] === eventId)
      .map((line) => [line['level'], line['msg'], line['pid'], line['correlationId'], line['imageUID']]);
    const event = sampleEvents(undefined, `req-${randomUUID()}`)['orbit.upload.requested'];
    const trail = [event.pid, event.correlationId, event.imageUID];
    const up = keptLines();
    await mysqlCommandOutbox(pool, { publish: async () => undefined }, up.logger).send('orbit.upload.requested', event, childSpan(undefined));
    expect(at(up.lines, event.eventId)).toEqual([['info', 'command published', ...trail]]);

    const later = sampleEvents(undefined, `req-${randomUUID()}`)['orbit.upload.requested'];
    const down = keptLines();
    await mysqlCommandOutbox(pool, { publish: async () => { throw new Error('broker restarting'); } }, down.logger, 0).send('orbit.upload.requested', later, childSpan(undefined));
    expect(at(down.lines, later.eventId)).toEqual([['warn', 'command kept in the outbox; the sweep will publish it', later.pid, later.correlationId, later.imageUID]]);
    const sweeper = keptLines();
    const outbox = mysqlCommandOutbox(pool, { publish: async () => undefined }, sweeper.logger, 0);
    for (let i = 0; i < 10 && at(sweeper.lines, later.eventId).length === 0; i++) await outbox.sweep();
    expect(at(sweeper.lines, later.eventId)).toEqual([['info', 'command published by the outbox sweep', later.pid, later.correlationId, later.imageUID]]);
  });

  it('keeps a command the broker refused and publishes it once on a later sweep', async () => {
    const event = sampleEvents()['orbit.upload.requested'];
    const down = mysqlCommandOutbox(pool, { publish: async () => { throw new Error('broker restarting'); } }, quietLogger, 0);
    await down.send('orbit.upload.requested', event, childSpan(undefined));
    expect(await kept(event.eventId)).toBe(1);

    const published: EventEnvelope[] = [];
    const up = mysqlCommandOutbox(pool, { publish: async (_topic, sent) => { published.push(sent); } }, quietLogger, 0);
    for (let i = 0; i < 10 && !published.some((sent) => sent.eventId === event.eventId); i++) await up.sweep();
    expect(published.filter((sent) => sent.eventId === event.eventId)).toHaveLength(1);
    expect(published.find((sent) => sent.eventId === event.eventId)).toEqual(event);
    expect(await kept(event.eventId)).toBe(0);
  });

  it('accepts a request whose command went out even when MySQL goes away before the outbox row is cleared', async () => {
    const event = sampleEvents(undefined, `req-${randomUUID()}`)['orbit.upload.requested'];
    const request = { requestId: event.requestId, kind: 'upload' as const, imageUID: event.imageUID, imageVersion: 'v1-0-00', owner: 'dev1' };
    // The same pool, except that MariaDB is gone by the time the published command's row is deleted.
    const goneAfterCommit = new Proxy(pool, {
      get(target, key, receiver) {
        if (key !== 'execute') return Reflect.get(target, key, receiver) as unknown;
        return (sql: string, values?: unknown) => (sql.startsWith('DELETE FROM gateway_outbox')
          ? Promise.reject(Object.assign(new Error('Connection lost: The server closed the connection.'), { code: 'PROTOCOL_CONNECTION_LOST', fatal: true }))
          : target.execute(sql, values as never));
      },
    });
    const published: EventEnvelope[] = [];
    const outbox = mysqlCommandOutbox(goneAfterCommit, { publish: async (_topic, sent) => { published.push(sent); } }, quietLogger);
    await expect(outbox.send('orbit.upload.requested', event, childSpan(undefined), request)).resolves.toBeUndefined();
    expect(published.map((sent) => sent.eventId)).toEqual([event.eventId]);
    expect(await statusOf(event.requestId)).toBe('accepted');
    // The row stays for the sweep (a repeat the consumers recognise), not lost.
    expect(await kept(event.eventId)).toBe(1);
    await pool.query('DELETE FROM gateway_outbox WHERE payload LIKE ?', [`%${event.eventId}%`]);
  });

  it('goes past a command that can never be published, keeping it, instead of holding back the ones behind it', async () => {
    const stuck = randomUUID();
    await pool.query("INSERT INTO gateway_outbox (topic, payload, traceparent, created_at) VALUES ('orbit.upload.requested', ?, NULL, UTC_TIMESTAMP(3) - INTERVAL 1 HOUR)", [`not json ${stuck}`]);
    const event = sampleEvents()['orbit.upload.requested'];
    const down = mysqlCommandOutbox(pool, { publish: async () => { throw new StoreUnavailableError('kafka', 'broker restarting'); } }, quietLogger, 0);
    await down.send('orbit.upload.requested', event, childSpan(undefined));
    const published: EventEnvelope[] = [];
    const up = mysqlCommandOutbox(pool, { publish: async (_topic, sent) => { published.push(sent); } }, quietLogger, 0);
    for (let i = 0; i < 10 && !published.some((sent) => sent.eventId === event.eventId); i++) await up.sweep();
    expect(published.filter((sent) => sent.eventId === event.eventId)).toHaveLength(1);
    expect(await kept(stuck)).toBe(1);
    await pool.query('DELETE FROM gateway_outbox WHERE payload LIKE ?', [`%${stuck}%`]);
  });

  it('records the request and its command together, or neither', async () => {
    const event = sampleEvents(undefined, `req-${randomUUID()}`)['orbit.upload.requested'];
    const request = { requestId: event.requestId, kind: 'upload' as const, imageUID: event.imageUID, imageVersion: 'v1-0-00', owner: 'dev1' };
    const down = mysqlCommandOutbox(pool, { publish: async () => { throw new Error('broker restarting'); } }, quietLogger);
    await down.send('orbit.upload.requested', event, childSpan(undefined), request);
    expect(await statusOf(event.requestId)).toBe('accepted');
    expect(await kept(event.eventId)).toBe(1);
    await pool.query('DELETE FROM gateway_outbox WHERE payload LIKE ?', [`%${event.eventId}%`]);

    // The command cannot be stored (a topic longer than its column): the request row goes with it.
    const lost = sampleEvents(undefined, `req-${randomUUID()}`)['orbit.upload.requested'];
    await expect(down.send('t'.repeat(300), lost, childSpan(undefined), { ...request, requestId: lost.requestId })).rejects.toThrow();
    expect(await statusOf(lost.requestId)).toBeUndefined();
  });

  it('publishes at once and keeps nothing when the broker takes it', async () => {
    const event = sampleEvents()['orbit.upload.requested'];
    const published: EventEnvelope[] = [];
    await mysqlCommandOutbox(pool, { publish: async (_topic, sent) => { published.push(sent); } }, quietLogger).send('orbit.upload.requested', event, childSpan(undefined));
    expect(published).toEqual([event]);
    expect(await kept(event.eventId)).toBe(0);
  });
});
