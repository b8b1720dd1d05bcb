import { spawn } from 'node:child_process';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const cli = fileURLToPath(new URL('./follow-cli.ts', import.meta.url));

/** A "broker" that takes the connection and never says a word: a hung process, a black-holed network. */
let silent: Server;
const held: Socket[] = [];
let silentBroker = '';
/** A port nothing listens on: taken, then let go. */
let closedBroker = '';

beforeAll(async () => {
  silent = createServer((socket) => { held.push(socket); });
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
  silentBroker = `127.0.0.1:${(silent.address() as AddressInfo).port}`;
  const closed = createServer();
  await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
  closedBroker = `127.0.0.1:${(closed.address() as AddressInfo).port}`;
  await new Promise((resolve) => closed.close(resolve));
});
afterAll(async () => {
  for (const socket of held) socket.destroy();
  await new Promise((resolve) => silent.close(resolve));
});

interface Run { readonly code: number | null; readonly stdout: string; readonly stderr: string; readonly seconds: number }

/** The command as a person runs it, stopped after `capMs` so a hang fails the test instead of holding it. */
function follow(args: readonly string[], env: Readonly<Record<string, string>>, capMs = 25_000): Promise<Run> {
  const started = Date.now();
  const child = spawn(process.execPath, ['--conditions=@orbit/source', '--import', 'tsx', cli, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, LOG_LEVEL: 'info', ...env },
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => { stdout += chunk.toString(); });
  child.stderr.on('data', (chunk: Buffer) => { stderr += chunk.toString(); });
  const cap = setTimeout(() => child.kill('SIGKILL'), capMs);
  return new Promise((resolve) => child.on('close', (code) => {
    clearTimeout(cap);
    resolve({ code, stdout, stderr, seconds: (Date.now() - started) / 1000 });
  }));
}

describe('events:follow', () => {
  it('says within seconds that nothing listens where Kafka should be (found by a review: 33-39 s)', async () => {
    const run = await follow(['--count', '1'], { KAFKA_BROKERS: closedBroker });
    expect(run.stderr).toContain(`cannot follow: StoreUnavailableError: Kafka at ${closedBroker} is unavailable`);
    expect(run.code).toBe(1);
    expect(run.seconds).toBeLessThan(10);
  }, 30_000);

  it('says within its deadline that a broker which never answers is unavailable', async () => {
    const run = await follow(['--count', '1'], { KAFKA_BROKERS: silentBroker });
    expect(run.stderr).toMatch(/cannot follow: .*Kafka at \S+ is unavailable <- .*no broker answered within 10 s/);
    expect(run.code).toBe(1);
    expect(run.seconds).toBeLessThan(20);
  }, 30_000);

  it('answers --help with what it does', async () => {
    const run = await follow(['--help'], {});
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('prints the lifecycle events');
  }, 30_000);
});
