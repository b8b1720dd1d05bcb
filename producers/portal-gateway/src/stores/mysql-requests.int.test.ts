import { randomUUID } from 'node:crypto';
import { createMysqlPool } from '@orbit/lib';
import { afterAll, describe, expect, it } from 'vitest';
import { testConfig } from '../../../../test/helpers/index.js';
import { mysqlRequestStore } from './mysql-requests.js';

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
});
