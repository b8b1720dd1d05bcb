import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { RowDataPacket } from 'mysql2/promise';
import { describe, expect, it } from 'vitest';
import { testConfig, uniqueSuffix, waitFor } from '../../../test/helpers/index.js';
import { asRoot } from '../../../test/helpers/mysql-root.js';
import { runSourceCli } from '../../../test/helpers/source-cli.js';
import { privateViewport, type PrivateViewport } from '../../../test/helpers/viewport-db.js';
import { rebuildLockName } from './rebuild.js';

const cli = fileURLToPath(new URL('./ops-cli.ts', import.meta.url));

describe('viewport:rebuild stopped by a signal', () => {
  // It had no handler: Ctrl-C or a SIGTERM killed it where it stood, its consumer group left behind with its offsets.
  it.each([['SIGINT', 130], ['SIGTERM', 143]] as const)('stops before its swap on %s, saying so, and exits %i', async (signal, code) => {
    // A private database: the rebuild replays the stack's topics into a shadow of it, and is stopped long before its swap.
    const viewport = await privateViewport(`cli${code}`);
    const url = new URL(testConfig.MYSQL_URL);
    url.pathname = `/${viewport.database}`;
    const child = spawn(process.execPath, ['--conditions=@orbit/source', '--import', 'tsx', cli, 'rebuild'], {
      stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, MYSQL_URL: url.toString() },
    });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => { stderr += chunk.toString(); });
    const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
    const schemas = async (): Promise<string[]> => {
      const [rows] = await viewport.pool.query<RowDataPacket[]>('SELECT SCHEMA_NAME AS name FROM information_schema.SCHEMATA WHERE SCHEMA_NAME IN (?, ?)', [`${viewport.database}_rebuild`, `${viewport.database}_previous`]);
      return rows.map((row) => String(row['name']));
    };
    try {
      await waitFor(async () => ((await schemas()).includes(`${viewport.database}_rebuild`) ? true : undefined), { what: 'the rebuild to start its replay', timeoutMs: 60_000, intervalMs: 20 });
      child.kill(signal);
      expect(await exited).toBe(code);
      expect(stderr).toContain(`${signal}: stopping the rebuild before its swap`);
      expect(stderr).toContain('ORBIT_ERR_REBUILD_INTERRUPTED: the rebuild was stopped before its swap; nothing was swapped');
      // Nothing swapped: no previous copy made, the live tables as they were (empty).
      expect(await schemas()).toEqual([`${viewport.database}_rebuild`]);
      const [rows] = await viewport.pool.query<RowDataPacket[]>('SELECT COUNT(*) AS n FROM viewport_applied_offsets');
      expect(Number(rows[0]?.['n'])).toBe(0);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
      await viewport.drop();
    }
  }, 120_000);
});

describe('viewport:rebuild while another runs', () => {
  it('does nothing and exits 75 (try again later), told apart from 1, as transfers:reconcile and dlq:redrive do', async () => {
    const viewport = await privateViewport('cli75');
    const url = new URL(testConfig.MYSQL_URL);
    url.pathname = `/${viewport.database}`;
    // The other run: its lock held on a connection of the test's own.
    const holder = await viewport.pool.getConnection();
    try {
      await holder.query('SELECT GET_LOCK(?, 0)', [rebuildLockName(viewport.database)]);
      const child = spawn(process.execPath, ['--conditions=@orbit/source', '--import', 'tsx', cli, 'rebuild'], {
        stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, MYSQL_URL: url.toString() },
      });
      let stderr = '';
      child.stderr.on('data', (chunk: Buffer) => { stderr += chunk.toString(); });
      expect(await new Promise<number | null>((resolve) => child.on('exit', resolve))).toBe(75);
      expect(stderr).toContain('ORBIT_ERR_REBUILD_RUNNING');
    } finally {
      await holder.query('SELECT RELEASE_LOCK(?)', [rebuildLockName(viewport.database)]);
      holder.release();
      await viewport.drop();
    }
  }, 60_000);
});

describe('viewport:checksum and viewport:rebuild refused by MySQL (found by a review: "MySQL is unavailable", exit 1)', () => {
  /**
   * An account of the test's own on a private database, with only `grants`; dropped afterwards. The command runs as it,
   * with `password` (its own unless told).
   */
  async function asAccountWith(label: string, grants: (database: string, account: string) => readonly string[], command: 'checksum' | 'rebuild', password?: string) {
    const viewport: PrivateViewport = await privateViewport(label);
    const user = `vpdeny_${uniqueSuffix()}`;
    const account = `'${user}'@'%'`;
    try {
      await asRoot(async (root) => {
        await root.query(`CREATE USER ${account} IDENTIFIED BY 'pw-${user}'`);
        for (const grant of grants(viewport.database, account)) await root.query(grant);
      });
      const url = new URL(testConfig.MYSQL_URL);
      url.username = user;
      url.password = password ?? `pw-${user}`;
      url.pathname = `/${viewport.database}`;
      const run = await runSourceCli(cli, [command], { MYSQL_URL: url.toString() }, 60_000);
      return { run, user, database: viewport.database };
    } finally {
      await asRoot((root) => root.query(`DROP USER IF EXISTS ${account}`));
      await viewport.drop();
    }
  }

  it('says a wrong password is refused, naming the user and database, with exit 77', async () => {
    const { run, user, database } = await asAccountWith('deny1045', () => [], 'checksum', 'not-its-password');
    expect(run.stderr).toContain(`ORBIT_ERR_MYSQL_ACCESS_DENIED: MySQL denied user ${user} access to database ${database} (ER_ACCESS_DENIED_ERROR: Access denied for user '${user}'`);
    expect(run.stderr).toContain('check the user name and password MYSQL_URL holds');
    expect(run.stderr).not.toContain('unavailable');
    expect(run.code).toBe(77);
  }, 90_000);

  it('says an account without a grant on the database is denied it', async () => {
    const { run, user, database } = await asAccountWith('deny1044', () => [], 'checksum');
    expect(run.stderr).toContain(`ORBIT_ERR_MYSQL_ACCESS_DENIED: MySQL denied user ${user} access to database ${database} (ER_DBACCESS_DENIED_ERROR`);
    expect(run.stderr).toContain(`grant ${user} what the command needs on ${database}`);
    expect(run.code).toBe(77);
  }, 90_000);

  it('says a table not granted is denied, not missing (information_schema hides it: "run npm run provision first")', async () => {
    const { run, user, database } = await asAccountWith('deny1142', (db, account) => [`GRANT SELECT ON \`${db}\`.\`viewport_requests\` TO ${account}`], 'checksum');
    expect(run.stderr).toContain(`ORBIT_ERR_MYSQL_ACCESS_DENIED: MySQL denied user ${user} access to database ${database} (ER_TABLEACCESS_DENIED_ERROR`);
    expect(run.stderr).not.toContain('ORBIT_ERR_NOT_PROVISIONED');
    expect(run.code).toBe(77);
  }, 90_000);

  it('says a rebuild may not create its shadow database, naming it', async () => {
    const { run, user, database } = await asAccountWith('deny_rebuild', (db, account) => [`GRANT SELECT ON \`${db}\`.* TO ${account}`], 'rebuild');
    expect(run.stderr).toContain(`ORBIT_ERR_MYSQL_ACCESS_DENIED: MySQL denied user ${user} access to database ${database}_rebuild (ER_DBACCESS_DENIED_ERROR`);
    expect(run.stderr).toContain(`(a rebuild also creates and drops ${database}_rebuild and ${database}_previous)`);
    expect(run.code).toBe(77);
  }, 90_000);
});
