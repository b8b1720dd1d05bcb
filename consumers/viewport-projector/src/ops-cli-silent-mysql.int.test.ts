import { connect, createServer, type AddressInfo, type Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testConfig } from '../../../test/helpers/index.js';
import { runSourceCli } from '../../../test/helpers/source-cli.js';

const cli = fileURLToPath(new URL('./ops-cli.ts', import.meta.url));

/** MySQL behind a proxy that passes the server's first `bytes` (the login, a statement or two) and then nothing, either way, for ever. */
async function silentAfter(upstream: URL, bytes: number): Promise<{ readonly port: number; close(): Promise<void> }> {
  let budget = bytes;
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    const server_ = connect(Number(upstream.port), upstream.hostname);
    for (const socket of [client, server_]) sockets.add(socket.on('error', () => socket.destroy()));
    client.on('data', (chunk: Buffer) => { if (budget > 0) server_.write(chunk); });
    server_.on('data', (chunk: Buffer) => {
      const passed = chunk.subarray(0, Math.max(budget, 0));
      budget -= chunk.length;
      if (passed.length > 0) client.write(passed);
    });
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

let proxy: Awaited<ReturnType<typeof silentAfter>>;
beforeAll(async () => { proxy = await silentAfter(new URL(testConfig.MYSQL_URL), 400); });
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
