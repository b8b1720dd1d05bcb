import { childSpan, createMysqlPool, type EventEnvelope } from '@orbit/lib';
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

describe('the gateway command outbox against MariaDB', () => {
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

  it('publishes at once and keeps nothing when the broker takes it', async () => {
    const event = sampleEvents()['orbit.upload.requested'];
    const published: EventEnvelope[] = [];
    await mysqlCommandOutbox(pool, { publish: async (_topic, sent) => { published.push(sent); } }, quietLogger).send('orbit.upload.requested', event, childSpan(undefined));
    expect(published).toEqual([event]);
    expect(await kept(event.eventId)).toBe(0);
  });
});
