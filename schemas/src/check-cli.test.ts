import { spawnSync } from 'node:child_process';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { runSourceCli } from '../../test/helpers/source-cli.js';

const CHECK_CLI = fileURLToPath(new URL('../dist/check-cli.js', import.meta.url));
const CHECK_SOURCE = fileURLToPath(new URL('./check-cli.ts', import.meta.url));

/** A port that refuses connections: one just given up by a server of this test. */
async function refusingPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

const check = (registryUrl: string, ...args: string[]) => spawnSync(process.execPath, [CHECK_CLI, ...args], {
  env: { PATH: process.env['PATH'] ?? '', LOG_LEVEL: 'info', SCHEMA_REGISTRY_URL: registryUrl }, encoding: 'utf8', timeout: 15_000,
});

describe('npm run schemas:check', () => {
  it('answers --help with what it checks, without asking the registry', async () => {
    const help = check(`http://127.0.0.1:${await refusingPort()}/apis/ccompat/v7`, '--help');
    expect(help.status).toBe(0);
    expect(help.stdout).toMatch(/^usage: npm run schemas:check .*BACKWARD_TRANSITIVE.*\n$/);
    expect(help.stderr).toBe('');
  }, 20_000);

  it('says in one line that the registry does not answer, and exits 1', async () => {
    const port = await refusingPort();
    const unreachable = check(`http://127.0.0.1:${port}/apis/ccompat/v7`);
    expect(unreachable.status).toBe(1);
    expect(unreachable.stdout).toBe('');
    expect(unreachable.stderr).toMatch(new RegExp(`^schemas:check failed: StoreUnavailableError: schema registry at http://127\\.0\\.0\\.1:${port}/apis/ccompat/v7 is unavailable[^\\n]*ECONNREFUSED[^\\n]*\\n$`));
  }, 20_000);
});

describe('npm run schemas:check, from its source', () => {
  it('names the registry it asked by its URL (without credentials) when it does not answer', async () => {
    const port = await refusingPort();
    const run = await runSourceCli(CHECK_SOURCE, [], { LOG_LEVEL: 'info', SCHEMA_REGISTRY_URL: `http://checker:s3cret@127.0.0.1:${port}/apis/ccompat/v7` }, 30_000);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(new RegExp(`^schemas:check failed: StoreUnavailableError: schema registry at http://127\\.0\\.0\\.1:${port}/apis/ccompat/v7 is unavailable[^\\n]*ECONNREFUSED`));
    expect(run.stderr).not.toContain('s3cret');
  }, 40_000);
});
