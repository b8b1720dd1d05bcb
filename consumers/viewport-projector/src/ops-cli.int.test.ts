import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { RowDataPacket } from 'mysql2/promise';
import { describe, expect, it } from 'vitest';
import { testConfig, waitFor } from '../../../test/helpers/index.js';
import { privateViewport } from '../../../test/helpers/viewport-db.js';
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
