import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testConfig } from '../../../test/helpers/index.js';
import { runSourceCli } from '../../../test/helpers/source-cli.js';
import { stallingProxy, type StallingProxy } from '../../../test/helpers/stalling-proxy.js';

const cli = fileURLToPath(new URL('./ops-cli.ts', import.meta.url));

let proxy: StallingProxy;
beforeAll(async () => { const mysql = new URL(testConfig.MYSQL_URL);
  // The login and a statement or two pass; then nothing, either way, for ever.
  proxy = await stallingProxy(mysql.hostname, Number(mysql.port), { serverBytes: 400 }); });
afterAll(async () => { await proxy.close(); });

describe('viewport:checksum against a MySQL that logs it in and then falls silent', () => {
  it('fails in seconds naming the server and the deadline, exit 1 (found by a review: held with no bound, nothing printed)', async () => {
    const url = new URL(testConfig.MYSQL_URL);
    url.port = String(proxy.port);
    const run = await runSourceCli(cli, ['checksum'], { MYSQL_URL: url.toString(), ORBIT_MYSQL_ANSWER_TIMEOUT_SECONDS: '2' }, 30_000);
    expect(run.stderr).toMatch(new RegExp(`^viewport:checksum failed: .*MySQL at 127\\.0\\.0\\.1:${proxy.port}${url.pathname} did not answer within 2 s`, 'm'));
    expect(run.stderr).not.toContain('orbit:'); // the URL's credentials
    expect(run.code).toBe(1);
    expect(run.seconds).toBeLessThan(15);
  }, 40_000);
});
