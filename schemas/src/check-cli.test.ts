import { spawnSync } from 'node:child_process';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const CHECK_CLI = fileURLToPath(new URL('../dist/check-cli.js', import.meta.url));

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
    expect(unreachable.stderr).toMatch(/^schemas:check failed: StoreUnavailableError: schema-registry is unavailable[^\n]*ECONNREFUSED[^\n]*\n$/);
  }, 20_000);
});
