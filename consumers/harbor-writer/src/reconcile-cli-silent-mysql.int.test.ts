import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testConfig } from '../../../test/helpers/index.js';
import { runSourceCli } from '../../../test/helpers/source-cli.js';
import { stallingProxy, type StallingProxy } from '../../../test/helpers/stalling-proxy.js';
import { privateViewport, type PrivateViewport } from '../../../test/helpers/viewport-db.js';

const cli = fileURLToPath(new URL('./reconcile-cli.ts', import.meta.url));

/** COM_QUIT as a client sends it: a one-byte packet, sequence 0. */
const QUIT = Buffer.from([1, 0, 0, 0, 1]);

let proxy: StallingProxy;
let viewport: PrivateViewport;
beforeAll(async () => {
  const mysql = new URL(testConfig.MYSQL_URL);
  // Everything but a goodbye is answered: a connection that says QUIT hears nothing more, and is never closed.
  proxy = await stallingProxy(mysql.hostname, Number(mysql.port), { clientChunk: (chunk) => chunk.subarray(0, QUIT.length).equals(QUIT) });
  // Empty: nothing to check, so the run is its report and its goodbye (no S3, no Kafka).
  viewport = await privateViewport('reconcile_quit');
});
afterAll(async () => {
  await viewport.drop();
  await proxy.close();
});

describe('transfers:reconcile when MySQL falls silent once the work is done', () => {
  it.each([[['--dry-run']], [[]]])('prints its report and exits with its code in seconds (%j; found by a review: the report, then no exit)', async (args) => {
    const url = new URL(testConfig.MYSQL_URL);
    url.port = String(proxy.port);
    url.pathname = `/${viewport.database}`;
    const run = await runSourceCli(cli, args, { MYSQL_URL: url.toString() }, 30_000);
    expect(run.stdout).toContain('checked 0 succeeded and 0 stuck transfers; 0 need repair');
    expect(run.code).toBe(0);
    // The lock's goodbye and the pool's, 3 s each at most.
    expect(run.seconds).toBeLessThan(15);
  }, 40_000);
});
