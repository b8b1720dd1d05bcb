import { afterAll, describe, expect, it } from 'vitest';
import { silentProxy } from '../../test/helpers/silent-proxy.js';
import { testConfig, waitFor } from '../../test/helpers/index.js';
import { createMysqlPool, createOpsMysqlPool, MysqlSilentError, withAnswerDeadline } from './mysql.js';

const DEADLINE_MS = 1_000;
/** Outside every pool under test: what the server says each thread is doing. */
const observer = createMysqlPool(testConfig.MYSQL_URL, 1);

afterAll(async () => {
  await observer.end();
});

/** The statement thread `id` is running, if any (an idle or closed thread runs none). */
async function runningOn(id: number): Promise<string | undefined> {
  const [rows] = await observer.query("SELECT INFO AS info FROM information_schema.PROCESSLIST WHERE ID = ? AND COMMAND = 'Query'", [id]);
  const [row] = rows as { info: string | null }[];
  return row?.info ?? undefined;
}

// The gateway answers 503 at its deadline; a statement it gave up on that went on running (a filesort, a SLEEP) held a
// thread of the MariaDB the whole pipeline shares for minutes, each client retry adding another.
describe('a statement that outlives its answer deadline', () => {
  it.each([
    ['the gateway\'s', () => withAnswerDeadline(createMysqlPool(testConfig.MYSQL_URL, 1), DEADLINE_MS)],
    ['an operations command\'s', () => createOpsMysqlPool({ url: testConfig.MYSQL_URL }, DEADLINE_MS, 1)],
  ])('on %s pool is stopped on the server, not only dropped by the client, and the pool answers afterwards', async (_, poolOf) => {
    const pool = poolOf();
    try {
      const connection = await pool.getConnection();
      const { threadId } = connection;
      const started = Date.now();
      const error = await connection.query('SELECT SLEEP(20) AS slept').then(() => undefined, (caught: unknown) => caught);
      connection.release();
      expect(error).toBeInstanceOf(MysqlSilentError);
      expect(Date.now() - started).toBeLessThan(DEADLINE_MS + 2_000);
      await waitFor(async () => (await runningOn(threadId)) === undefined, { timeoutMs: 2_000, intervalMs: 100, what: `thread ${threadId}'s SLEEP(20) stopped on the server` });
      const [rows] = await pool.query('SELECT 41 + 1 AS answer');
      expect(rows).toEqual([{ answer: 42 }]);
    } finally {
      await pool.end();
    }
  }, 30_000);

  it('leaves a statement that answered in time, and the connection that ran it, alone', async () => {
    const pool = withAnswerDeadline(createMysqlPool(testConfig.MYSQL_URL, 1), DEADLINE_MS);
    try {
      const connection = await pool.getConnection();
      try {
        const { threadId } = connection;
        await connection.query('SELECT SLEEP(0.5)');
        // No KILL was sent for it: the next statement on the same thread runs to its end (a KILL QUERY would cut a SLEEP short).
        const started = Date.now();
        const [rows] = await connection.query('SELECT SLEEP(0.5) AS slept, CONNECTION_ID() AS id');
        expect(rows).toEqual([{ slept: 0, id: threadId }]);
        expect(Date.now() - started).toBeGreaterThanOrEqual(450);
      } finally {
        connection.release();
      }
    } finally {
      await pool.end();
    }
  }, 30_000);

  it('fails the caller with its deadline, not the KILL\'s, when MySQL will not hear the KILL either, and says so once per reason', async () => {
    const url = new URL(testConfig.MYSQL_URL);
    const proxy = await silentProxy(url.hostname, Number(url.port || 3306));
    url.host = proxy.address;
    const warnings: unknown[] = [];
    const pool = withAnswerDeadline(createMysqlPool(url.toString(), 2), DEADLINE_MS, 'MySQL', { warn: (...args: unknown[]) => { warnings.push(args); } });
    try {
      await Promise.all([pool.query('SELECT 1'), pool.query('SELECT 2')]); // both connections open before the silence
      proxy.silence();
      const errors = await Promise.all(['SELECT 1', 'SELECT 2'].map((sql) => pool.query(sql).then(() => undefined, (caught: unknown) => caught)));
      for (const error of errors) expect(error).toBeInstanceOf(MysqlSilentError);
      // Each KILL's connection waits for a login the silence never answers, and gives up (ETIMEDOUT): one line for both.
      await waitFor(() => warnings.length > 0, { timeoutMs: 8_000, intervalMs: 100, what: 'the KILL given up on' });
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      expect(warnings).toHaveLength(1);
      expect(warnings[0]).toMatchObject([{ err: { code: 'ETIMEDOUT' } }, expect.any(String)]);
      proxy.speak();
      const [rows] = await pool.query('SELECT 41 + 1 AS answer');
      expect(rows).toEqual([{ answer: 42 }]);
    } finally {
      proxy.speak();
      await pool.end();
      await proxy.close();
    }
  }, 30_000);
});
