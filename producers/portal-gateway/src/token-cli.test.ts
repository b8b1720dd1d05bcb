import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { runSourceCli } from '../../../test/helpers/source-cli.js';

const cli = fileURLToPath(new URL('./token-cli.ts', import.meta.url));

/** The command as a person runs it; it reaches no service, so the stack's endpoints are not needed. */
const token = (args: readonly string[], env: Readonly<Record<string, string>> = {}) => runSourceCli(cli, args, { ORBIT_ENVIRONMENT_CHAIN: 'Development,Testing,Staging,Production', ...env }, 25_000);

describe('npm run token', () => {
  it('refuses a misspelt role with exit 2, naming the roles that exist, and prints no token (found by a review)', async () => {
    const run = await token(['ada', '--role', 'release-manger'], { ORBIT_TRANSFER_ROLES: 'Production=release-manager' });
    expect(run.stderr).toContain('needs the role "release-manger": the roles that exist are release-manager');
    expect(run.stdout).toBe('');
    expect(run.code).toBe(2);
  }, 30_000);

  it('knows the roles from the environment chain\'s configuration', async () => {
    const run = await token(['ada', '--role', 'qa'], { ORBIT_TRANSFER_ROLES: 'Staging=qa,Production=release-manager' });
    expect(run.stdout).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+\n$/);
    const claims = JSON.parse(Buffer.from(run.stdout.split('.')[1] ?? '', 'base64url').toString()) as { roles: string[] };
    expect(claims.roles).toEqual(['qa']);
    expect(run.code).toBe(0);
  }, 30_000);
});
