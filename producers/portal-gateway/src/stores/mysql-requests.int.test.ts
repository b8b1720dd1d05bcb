import { randomUUID } from 'node:crypto';
import { createMysqlPool } from '@orbit/lib';
import type { RowDataPacket } from 'mysql2/promise';
import { afterAll, describe, expect, it } from 'vitest';
import { testConfig } from '../../../../test/helpers/index.js';
import { mysqlImageNames, mysqlRequestStore } from './mysql-requests.js';

const pool = createMysqlPool(testConfig.MYSQL_URL, 2);
afterAll(async () => { await pool.end(); });

async function requestWith(status: string): Promise<string> {
  const requestId = `req-${randomUUID()}`;
  await pool.query(
    "INSERT INTO viewport_requests (request_id, kind, image_uid, user_login, status, created_at, updated_at) VALUES (?, 'upload', ?, 'dev1', ?, NOW(3), NOW(3))",
    [requestId, 'W'.repeat(60), status],
  );
  return requestId;
}

describe('the gateway request store against MariaDB', () => {
  it('tells which of many requests have finished, for long polls', async () => {
    const store = mysqlRequestStore(pool);
    const [accepted, running, succeeded, failed] = await Promise.all(['accepted', 'running', 'succeeded', 'failed'].map(requestWith));
    const unknown = `req-${randomUUID()}`;
    expect(await store.finishedAmong([accepted!, running!, succeeded!, failed!, unknown])).toEqual(new Set([succeeded, failed]));
    expect(await store.finishedAmong([])).toEqual(new Set());
    await pool.query('DELETE FROM viewport_requests WHERE request_id IN (?)', [[accepted, running, succeeded, failed]]);
  });

  it('gives a name one UID for good, and none while the check before a new name refuses', async () => {
    const imageName = `names-${randomUUID()}`;
    let refusing = true;
    let asked = 0;
    const names = mysqlImageNames(pool, async () => {
      asked += 1;
      if (refusing) throw new Error('ViewPort lost');
    });
    await expect(names.uidFor('dev1', imageName)).rejects.toThrow('ViewPort lost');
    const [none] = await pool.query<RowDataPacket[]>('SELECT COUNT(*) AS n FROM image_names WHERE image_name = ?', [imageName]);
    expect(Number(none[0]?.['n'])).toBe(0);

    refusing = false;
    const [first, racing] = await Promise.all([names.uidFor('dev1', imageName), names.uidFor('dev1', imageName)]);
    expect(first).toMatch(/^[A-Za-z0-9]{60}$/);
    expect(racing).toBe(first);
    const checks = asked;
    // A known name is not checked again: the check is for the first use only.
    expect(await names.uidFor('dev1', imageName)).toBe(first);
    expect(asked).toBe(checks);
    expect(await names.uidFor('dev2', imageName)).not.toBe(first);
    await pool.query('DELETE FROM image_names WHERE image_name = ?', [imageName]);
  });
});
