import { connect, createServer, type AddressInfo, type Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testConfig } from '../../../test/helpers/index.js';
import { runSourceCli } from '../../../test/helpers/source-cli.js';
import { privateViewport, type PrivateViewport } from '../../../test/helpers/viewport-db.js';

const cli = fileURLToPath(new URL('./reconcile-cli.ts', import.meta.url));

/** COM_QUIT as a client sends it: a one-byte packet, sequence 0. */
const QUIT = Buffer.from([1, 0, 0, 0, 1]);

/** MySQL behind a proxy that answers everything but a goodbye: a connection that says QUIT hears nothing more, and is never closed. */
async function silentAtGoodbye(upstream: URL): Promise<{ readonly port: number; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    const mysql = connect(Number(upstream.port), upstream.hostname);
    let silent = false;
    for (const socket of [client, mysql]) sockets.add(socket.on('error', () => socket.destroy()));
    client.on('data', (chunk: Buffer) => {
      if (chunk.subarray(0, QUIT.length).equals(QUIT)) silent = true;
      if (!silent) mysql.write(chunk);
    });
    mysql.on('data', (chunk: Buffer) => { if (!silent) client.write(chunk); });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

let proxy: Awaited<ReturnType<typeof silentAtGoodbye>>;
let viewport: PrivateViewport;
beforeAll(async () => {
  proxy = await silentAtGoodbye(new URL(testConfig.MYSQL_URL));
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
