import mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentProxy, type SilentProxy } from '../../test/helpers/silent-proxy.js';
import { testConfig, uniqueSuffix, waitFor } from '../../test/helpers/index.js';
import { isRetriable } from './retry-classifier.js';
import { createMysqlConnection, createMysqlPool, databaseOf, inTransaction, MysqlConnectError, MysqlSilentError, withAnswerDeadline } from './mysql.js';
import { asRoot } from '../../test/helpers/mysql-root.js';

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


describe('a MySQL that refuses Orbit at login', () => {
  const user = `orbit_refused_${uniqueSuffix()}`;
  const accounts = [`'${user}'@'127.0.0.1'`, `'${user}'@'localhost'`];
  const urlOf = (): string => {
    const url = new URL(testConfig.MYSQL_URL);
    url.username = user;
    url.password = 'refused';
    return url.toString();
  };

  beforeAll(() => asRoot(async (root) => {
    for (const account of accounts) {
      await root.query(`CREATE USER ${account} IDENTIFIED BY 'refused'`);
      await root.query(`GRANT SELECT ON \`${databaseOf(testConfig.MYSQL_URL)}\`.* TO ${account}`);
    }
  }));
  afterAll(() => asRoot(async (root) => {
    for (const account of accounts) await root.query(`DROP USER IF EXISTS ${account}`);
  }));

  const alterAccounts = (change: string): Promise<void> => asRoot(async (root) => {
    for (const account of accounts) await root.query(`ALTER USER ${account} ${change}`);
  });

  // Whatever the code the server gives (MariaDB's 4151 here, which mysql2 names after something else), no statement
  // ran: a consumer waits for the fix rather than setting its message aside, and the pool answers once the account does.
  it('fails a locked account as MySQL unavailable, for a query, a borrowed connection and a transaction', async () => {
    const pool = createMysqlPool(urlOf(), 1);
    try {
      await alterAccounts('ACCOUNT LOCK');
      const answers = await Promise.all([
        failsWithin(pool.query('SELECT 1')),
        failsWithin(pool.execute('SELECT 2')),
        failsWithin(pool.getConnection()),
        failsWithin(inTransaction(pool, (connection) => connection.query('SELECT 3'))),
      ]);
      for (const { error } of answers) {
        expect(error).toBeInstanceOf(MysqlConnectError);
        expect(isRetriable(error)).toBe(true);
        expect(error).toMatchObject({ code: 'ORBIT_ERR_STORE_UNAVAILABLE', errno: 4151, sqlState: 'HY000' });
        expect((error as Error).cause).toMatchObject({ errno: expect.any(Number) as number, sqlState: expect.any(String) as string });
      }
      await alterAccounts('ACCOUNT UNLOCK');
      const [rows] = await pool.query('SELECT 41 + 1 AS answer');
      expect(rows).toEqual([{ answer: 42 }]);
    } finally {
      await pool.end();
    }
  }, 20_000);

  // MariaDB logs such a user in to a sandbox that refuses every statement for the connection's life (MySQL refuses
  // the login): the refusal is transient, and the sandboxed connection is dropped, so with the password set again
  // the pool's only connection is a fresh one that works.
  it('fails an expired password as transient and drops the sandboxed connection', async () => {
    const pool = createMysqlPool(urlOf(), 1);
    try {
      await pool.query('SELECT 1');
      await alterAccounts('PASSWORD EXPIRE');
      await pool.query('SELECT 1'); // a session opened before the expiry is not sandboxed
      const borrowed = await pool.getConnection();
      borrowed.destroy(); // the next connection logs in after the expiry
      const answers = [
        await failsWithin(pool.query('SELECT 1')),
        await failsWithin(pool.execute('SELECT 2')),
        await failsWithin(inTransaction(pool, (connection) => connection.query('SELECT 3'))),
      ];
      for (const { error } of answers) {
        expect(error).toBeInstanceOf(Error);
        expect(isRetriable(error)).toBe(true);
      }
      await alterAccounts("IDENTIFIED BY 'refused'");
      const [rows] = await pool.query('SELECT 41 + 1 AS answer');
      expect(rows).toEqual([{ answer: 42 }]);
    } finally {
      await pool.end();
    }
  }, 20_000);

  it('leaves a statement\'s own failure as the server gave it', async () => {
    const pool = createMysqlPool(testConfig.MYSQL_URL, 1);
    try {
      const { error } = await failsWithin(pool.query('SELECT * FROM no_such_table_here_ever'));
      expect(error).not.toBeInstanceOf(MysqlConnectError);
      expect(error).toMatchObject({ code: 'ER_NO_SUCH_TABLE' });
      const signalled = await failsWithin(pool.query("SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'the statement is at fault'"));
      expect(signalled.error).toMatchObject({ code: 'ER_SIGNAL_EXCEPTION' });
      expect(isRetriable(signalled.error)).toBe(false);
    } finally {
      await pool.end();
    }
  });
});

describe('a session MySQL will not let write (a writer demoted by a failover keeps its sockets)', () => {
  // A read-only session stands in for the demoted writer: each of its statements that writes is refused, whether it
  // runs alone or in a transaction, until the connection is dropped for a fresh one.
  it('drops the connection instead of pooling it again, so the next statement gets a fresh one', async () => {
    const pool = createMysqlPool(testConfig.MYSQL_URL, 1);
    const sessionId = async (): Promise<string> => String(((await pool.query('SELECT CONNECTION_ID() AS id'))[0] as { id: unknown }[])[0]?.id);
    try {
      for (const write of [
        () => pool.query(`INSERT INTO \`${table}\` (name) VALUES ('read-only')`),
        () => inTransaction(pool, (connection) => connection.query(`INSERT INTO \`${table}\` (name) VALUES ('read-only-tx')`)),
      ]) {
        const demoted = await sessionId();
        await pool.query('SET SESSION TRANSACTION READ ONLY');
        const { error } = await failsWithin(write());
        expect(error).toMatchObject({ code: 'ER_CANT_EXECUTE_IN_READ_ONLY_TRANSACTION' });
        expect(isRetriable(error)).toBe(true);
        expect(await sessionId()).not.toBe(demoted);
      }
      await pool.query(`INSERT INTO \`${table}\` (name) VALUES ('written')`);
      expect(await rowsIn()).toContain('written');
    } finally {
      await pool.end();
    }
  });

  it('fails a pool already ended as the bug it is, not as MySQL unavailable', async () => {
    const pool = createMysqlPool(testConfig.MYSQL_URL, 1);
    await pool.end();
    const { error } = await failsWithin(pool.query('SELECT 1'));
    expect(error).toBeInstanceOf(Error);
    expect(error).not.toBeInstanceOf(MysqlConnectError);
    expect(isRetriable(error)).toBe(false);
  });
});

// Orbit's SQL and its dates assume a session the server need not default to: mysql2 escapes with backslashes, which
// NO_BACKSLASH_ESCAPES reads as plain characters, and dates go as UTC while NOW() is in the session's zone.
describe('a MySQL whose defaults are not what Orbit is written for', () => {
  const injection = "') OR 1=1 -- ";
  let saved: { mode: string; zone: string } | undefined;
  beforeAll(() => asRoot(async (root) => {
    const [rows] = await root.query<mysql.RowDataPacket[]>('SELECT @@GLOBAL.sql_mode AS mode, @@GLOBAL.time_zone AS zone');
    saved = { mode: String(rows[0]?.['mode']), zone: String(rows[0]?.['zone']) };
    await root.query("SET GLOBAL sql_mode = 'NO_BACKSLASH_ESCAPES,ANSI_QUOTES,PIPES_AS_CONCAT', GLOBAL time_zone = '+09:00'");
    await direct.query(`INSERT INTO \`${table}\` (name) VALUES ('other owner''s')`);
  }));
  afterAll(() => asRoot(async (root) => {
    if (saved) await root.query('SET GLOBAL sql_mode = ?, GLOBAL time_zone = ?', [saved.mode, saved.zone]);
    await direct.query(`DELETE FROM \`${table}\` WHERE name = 'other owner''s'`);
  }));

  /** What a search answers for `term`, and how far a date written now is from the server's NOW(3), in seconds. */
  const session = async (connection: Pick<mysql.Connection, 'query'>): Promise<{ found: unknown[]; skew: number }> => {
    const [found] = await connection.query<mysql.RowDataPacket[]>(`SELECT name FROM \`${table}\` WHERE name LIKE CONCAT('%', ?, '%') AND (name = ?)`, [injection, injection]);
    const [[row]] = await connection.query<mysql.RowDataPacket[]>('SELECT ABS(TIMESTAMPDIFF(SECOND, ?, NOW(3))) AS skew', [new Date()]) as unknown as [mysql.RowDataPacket[]];
    return { found: found.map((match) => match['name'] as unknown), skew: Number(row?.['skew']) };
  };

  it('keeps a quoted value a value and dates in UTC on every pooled connection, also one opened after the last was killed', async () => {
    const pool = createMysqlPool(testConfig.MYSQL_URL, 1);
    try {
      expect(await session(pool)).toEqual({ found: [], skew: 0 });
      const [[{ id }]] = await pool.query('SELECT CONNECTION_ID() AS id') as unknown as [[{ id: number }]];
      await asRoot((root) => root.query(`KILL ${Number(id)}`));
      await waitFor(async () => pool.query('SELECT 1').then(() => true, () => false), { timeoutMs: 5_000, what: 'a new connection' });
      const borrowed = await pool.getConnection();
      try {
        expect(await session(borrowed)).toEqual({ found: [], skew: 0 });
      } finally {
        borrowed.release();
      }
    } finally {
      await pool.end();
    }
  });

  it('does the same for a connection opened on its own', async () => {
    const connection = await createMysqlConnection(testConfig.MYSQL_URL);
    try {
      expect(await session(connection)).toEqual({ found: [], skew: 0 });
    } finally {
      await connection.end();
    }
  });
});
