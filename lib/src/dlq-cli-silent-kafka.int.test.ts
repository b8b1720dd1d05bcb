import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { connect, createServer, type AddressInfo, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { testConfig, waitFor } from '../../test/helpers/index.js';

const cli = fileURLToPath(new URL('./dlq-cli.ts', import.meta.url));
const [brokerHost = '127.0.0.1', brokerPort = '9092'] = (testConfig.KAFKA_BROKERS[0] ?? '').split(':');
const brokers = testConfig.KAFKA_BROKERS.join(',');

interface StallingProxy {
  readonly port: number;
  /** Whether the broker has sent all the bytes it may, and fell silent. */
  silent(): boolean;
  close(): Promise<void>;
}

/** Kafka behind a proxy that passes the broker's first `bytes`, over every connection together, then nothing either way, for ever. */
async function silentAfter(bytes: number): Promise<StallingProxy> {
  let budget = bytes;
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    const broker = connect(Number(brokerPort), brokerHost);
    for (const socket of [client, broker]) sockets.add(socket.on('error', () => socket.destroy()));
    client.on('data', (chunk: Buffer) => { if (budget > 0) broker.write(chunk); });
    broker.on('data', (chunk: Buffer) => {
      const passed = chunk.subarray(0, Math.max(budget, 0));
      budget -= chunk.length;
      if (passed.length > 0) client.write(passed);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    silent: () => budget <= 0,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

/** A preload sending every connection of the command to the broker through `port`: the broker's metadata names its own address. */
function throughProxy(port: number): string {
  const file = join(mkdtempSync(join(tmpdir(), 'dlq-silent-')), 'through-proxy.cjs');
  writeFileSync(file, `const net = require('node:net');
for (const name of ['connect', 'createConnection']) {
  const original = net[name];
  net[name] = function (...args) {
    if (args[0] && typeof args[0] === 'object' && Number(args[0].port) === ${Number(brokerPort)}) args[0] = { ...args[0], host: '127.0.0.1', port: ${port} };
    return original.apply(this, args);
  };
}
`);
  return file;
}

const started: { kill(signal: NodeJS.Signals): boolean; exitCode: number | null }[] = [];
let proxy: StallingProxy | undefined;
afterEach(async () => {
  for (const child of started.splice(0)) if (child.exitCode === null) child.kill('SIGKILL');
  await proxy?.close();
});

/** The command through a proxy that falls silent once Kafka has answered a little (the login and a request or two). */
async function dlqAgainstSilence(args: readonly string[]) {
  proxy = await silentAfter(3000);
  const child = spawn(process.execPath, ['--require', throughProxy(proxy.port), '--conditions=@orbit/source', '--import', 'tsx', cli, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, LOG_LEVEL: 'info' },
  });
  started.push(child);
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => { stderr += chunk.toString(); });
  const began = Date.now();
  const exited = new Promise<{ code: number | null; seconds: number }>((resolve) => child.on('exit', (code) => resolve({ code, seconds: (Date.now() - began) / 1000 })));
  return { child, exited, stderr: () => stderr, silent: proxy.silent };
}

describe('dlq commands when Kafka falls silent after answering', () => {
  it('dlq:list --timeout 3 fails in seconds, saying Kafka at <brokers> is unavailable (found by a review: 307-317 s, kafkajs\'s words)', async () => {
    const run = await dlqAgainstSilence(['list', '--timeout', '3']);
    const { code, seconds } = await Promise.race([run.exited, new Promise<never>((_resolve, reject) => setTimeout(() => reject(new Error(`still running after 40 s: ${run.stderr()}`)), 40_000))]);
    expect(run.stderr()).toMatch(new RegExp(`^dlq:list failed: StoreUnavailableError: Kafka at ${brokers.replace(/\./g, '\\.')} is unavailable`, 'm'));
    expect(code).toBe(1);
    // Each request waits about --timeout (5 s at least) and is asked three times in all.
    expect(seconds).toBeLessThan(30);
  }, 60_000);

  it('dlq:redrive stops on SIGTERM within seconds, exit 143, though Kafka never answers (found by a review: 167 s, then "failed")', async () => {
    // Nothing can be sent: the broker is silent long before the re-drive's first lot.
    const run = await dlqAgainstSilence(['redrive', 'orbit.image.stored', '--timeout', '5']);
    await waitFor(() => (run.silent() ? true : undefined), { what: 'Kafka to fall silent', timeoutMs: 30_000, intervalMs: 50 });
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    const asked = Date.now();
    run.child.kill('SIGTERM');
    const { code } = await Promise.race([run.exited, new Promise<never>((_resolve, reject) => setTimeout(() => reject(new Error(`still running 30 s after SIGTERM: ${run.stderr()}`)), 30_000))]);
    expect(code).toBe(143);
    expect((Date.now() - asked) / 1000).toBeLessThan(8);
    expect(run.stderr()).toContain('SIGTERM: stopping after the letters being sent now');
    expect(run.stderr()).toContain('stopped without waiting for it');
  }, 60_000);
});
