/**
 * A TCP proxy to a server that falls silent for good part way through, as a hung store does after it let a client in:
 * it passes bytes until `stallsAt` says so, then nothing either way, and never closes a connection. Tests of commands
 * that must end (an ops CLI against a silent MySQL or Kafka) put it between the command and the real server.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { connect, createServer, type AddressInfo, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * When the proxy falls silent: wholly, after the server's first `serverBytes` (every connection together); or one
 * connection, at a client chunk `clientChunk` picks (a goodbye), the others going on.
 */
export interface StallRule {
  readonly serverBytes?: number;
  readonly clientChunk?: (chunk: Buffer) => boolean;
}

export interface StallingProxy {
  readonly port: number;
  /** Whether it has fallen silent, wholly or on one connection. */
  silent(): boolean;
  /** How many clients' connections are still open: one the client has not closed holds its process. */
  openClients(): number;
  close(): Promise<void>;
}

export async function stallingProxy(upstreamHost: string, upstreamPort: number, rule: StallRule): Promise<StallingProxy> {
  let budget = rule.serverBytes ?? Number.POSITIVE_INFINITY;
  let stalled = false;
  const sockets = new Set<Socket>();
  const clients = new Set<Socket>();
  const server = createServer((client) => {
    clients.add(client);
    client.on('close', () => clients.delete(client));
    const upstream = connect(upstreamPort, upstreamHost);
    let stalledHere = false;
    for (const socket of [client, upstream]) sockets.add(socket.on('error', () => socket.destroy()));
    client.on('data', (chunk: Buffer) => {
      if (rule.clientChunk?.(chunk)) stalled = stalledHere = true;
      if (!stalledHere && budget > 0) upstream.write(chunk);
    });
    upstream.on('data', (chunk: Buffer) => {
      if (stalledHere) return;
      const passed = chunk.subarray(0, Math.max(budget, 0));
      budget -= chunk.length;
      if (budget <= 0) stalled = true;
      if (passed.length > 0) client.write(passed);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    silent: () => stalled,
    openClients: () => clients.size,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

/**
 * A `--require` preload sending every connection its process makes to `brokerPort` through `proxyPort`: a Kafka
 * broker's metadata names its own address, so a command given the proxy as KAFKA_BROKERS would go round it.
 */
export function kafkaThroughProxy(brokerPort: number, proxyPort: number): string {
  const file = join(mkdtempSync(join(tmpdir(), 'orbit-through-proxy-')), 'through-proxy.cjs');
  writeFileSync(file, `const net = require('node:net');
for (const name of ['connect', 'createConnection']) {
  const original = net[name];
  net[name] = function (...args) {
    if (args[0] && typeof args[0] === 'object' && Number(args[0].port) === ${brokerPort}) args[0] = { ...args[0], host: '127.0.0.1', port: ${proxyPort} };
    return original.apply(this, args);
  };
}
`);
  return file;
}
