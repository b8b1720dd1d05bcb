import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentProxy, type SilentProxy } from '../../test/helpers/silent-proxy.js';
import { testConfig, uniqueSuffix, waitFor } from '../../test/helpers/index.js';
import { isRetriable } from './retry-classifier.js';
import { createMysqlPool, inTransaction, MysqlSilentError, withAnswerDeadline } from './mysql.js';

const DEADLINE_MS = 1_000;
const table = `silent_${uniqueSuffix().replace(/\W/g, '_')}`;
const direct = createMysqlPool(testConfig.MYSQL_URL, 1);
let proxy: SilentProxy;

/** A bounded pool that reaches MySQL through the proxy. */
function poolThroughProxy(connections: number): ReturnType<typeof createMysqlPool> {
  const url = new URL(testConfig.MYSQL_URL);
  url.host = proxy.address;
  return withAnswerDeadline(createMysqlPool(url.toString(), connections), DEADLINE_MS);
}

async function failsWithin<T>(work: Promise<T>): Promise<{ error: unknown; ms: number }> {
  const started = Date.now();
  const error = await work.then(() => undefined, (caught: unknown) => caught);
  return { error, ms: Date.now() - started };
}

const rowsIn = async (): Promise<string[]> => ((await direct.query(`SELECT name FROM \`${table}\` ORDER BY name`))[0] as { name: string }[]).map((row) => row.name);

beforeAll(async () => {
  const url = new URL(testConfig.MYSQL_URL);
  proxy = await silentProxy(url.hostname, Number(url.port || 3306));
  await direct.query(`CREATE TABLE \`${table}\` (name VARCHAR(64) PRIMARY KEY)`);
});

afterAll(async () => {
  proxy.speak();
  await direct.query(`DROP TABLE IF EXISTS \`${table}\``);
  await direct.end();
  await proxy.close();
});

describe('a MySQL that takes the connection and answers nothing', () => {
  it('fails a query at its deadline with a retriable store error, and the pool answers again once MySQL does', async () => {
    const pool = poolThroughProxy(2);
    try {
      await pool.query('SELECT 1'); // a pooled connection, open before the silence
      proxy.silence();
      const { error, ms } = await failsWithin(pool.query('SELECT 1'));
      expect(error).toBeInstanceOf(MysqlSilentError);
      expect(isRetriable(error)).toBe(true);
      expect((error as MysqlSilentError).outcomeUnknown).toBe(false);
      expect(ms).toBeGreaterThanOrEqual(DEADLINE_MS - 50);
      expect(ms).toBeLessThan(DEADLINE_MS + 2_000);
      proxy.speak();
      // The silent connection was dropped, not handed out again with its query still waiting on it.
      const [rows] = await pool.query('SELECT 41 + 1 AS answer');
      expect(rows).toEqual([{ answer: 42 }]);
    } finally {
      proxy.speak();
      await pool.end();
    }
  }, 20_000);

  it('bounds the wait for a connection when every connection is held by the silence', async () => {
    const pool = poolThroughProxy(1);
    try {
      await pool.query('SELECT 1');
      proxy.silence();
      const answers = await Promise.all([failsWithin(pool.query('SELECT 1')), failsWithin(pool.execute('SELECT 2')), failsWithin(pool.getConnection())]);
      for (const { error, ms } of answers) {
        expect(error).toBeInstanceOf(MysqlSilentError);
        expect(ms).toBeLessThan(DEADLINE_MS * 2 + 2_000);
      }
      proxy.speak();
      const [rows] = await pool.execute('SELECT 7 AS answer');
      expect(rows).toEqual([{ answer: 7 }]);
    } finally {
      proxy.speak();
      await pool.end();
    }
  }, 20_000);

  it('leaves nothing of a transaction whose work met the silence, and says a silent COMMIT may have been applied', async () => {
    const pool = poolThroughProxy(2);
    try {
      const beforeCommit = await failsWithin(inTransaction(pool, async (connection) => {
        await connection.query(`INSERT INTO \`${table}\` (name) VALUES ('half-written')`);
        proxy.silence();
        await connection.query(`INSERT INTO \`${table}\` (name) VALUES ('never-sent')`);
      }));
      expect(beforeCommit.error).toBeInstanceOf(MysqlSilentError);
      expect((beforeCommit.error as MysqlSilentError).outcomeUnknown).toBe(false);
      proxy.speak();

      const atCommit = await failsWithin(inTransaction(pool, async (connection) => {
        await connection.query(`INSERT INTO \`${table}\` (name) VALUES ('at-commit')`);
        proxy.silence();
      }));
      expect(atCommit.error).toBeInstanceOf(MysqlSilentError);
      expect((atCommit.error as MysqlSilentError).outcomeUnknown).toBe(true);
      expect((atCommit.error as Error).message).toMatch(/MySQL is unavailable/);
      proxy.speak();
      // As a resumed server does, MySQL read the COMMIT that waited for it before it saw the connection closed:
      // the caller was told it failed, and it did not. The transaction cut short before its COMMIT left nothing.
      await waitFor(async () => (await rowsIn()).length > 0, { timeoutMs: 10_000, what: 'the silent COMMIT applied' });
      expect(await rowsIn()).toEqual(['at-commit']);
      await inTransaction(pool, (connection) => connection.query(`INSERT INTO \`${table}\` (name) VALUES ('after')`));
      expect(await rowsIn()).toEqual(['after', 'at-commit']);
    } finally {
      proxy.speak();
      await pool.end();
    }
  }, 30_000);
});
