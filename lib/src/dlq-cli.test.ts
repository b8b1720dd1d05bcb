import { spawn } from 'node:child_process';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const cli = fileURLToPath(new URL('./dlq-cli.ts', import.meta.url));

/** A "broker" that takes the connection and never says a word: a hung process, a black-holed network. */
let silent: Server;
const held: Socket[] = [];
let silentBroker = '';

beforeAll(async () => {
  silent = createServer((socket) => { held.push(socket); });
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
  silentBroker = `127.0.0.1:${(silent.address() as AddressInfo).port}`;
});
afterAll(async () => {
  for (const socket of held) socket.destroy();
  await new Promise((resolve) => silent.close(resolve));
});

interface Run { readonly code: number | null; readonly stdout: string; readonly stderr: string; readonly seconds: number }

/** The command as a person runs it, stopped after `capMs` so a hang fails the test instead of holding it. */
function dlq(args: readonly string[], env: Readonly<Record<string, string>>, capMs = 25_000): Promise<Run> {
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

describe('dlq:list', () => {
  it('says within seconds that a broker which takes the connection and never answers is unavailable, naming it (found by a review: 97 s, "Broker not connected")', async () => {
    const run = await dlq(['list'], { KAFKA_BROKERS: silentBroker });
    expect(run.stderr).toMatch(/^dlq:list failed: .*Kafka at \S+ is unavailable <- .*no broker answered within 10 s/m);
    expect(run.stderr).toContain(silentBroker);
    expect(run.code).toBe(1);
    expect(run.seconds).toBeLessThan(20);
  }, 30_000);

  it('waits for the first answer no longer than --timeout', async () => {
    const run = await dlq(['list', '--timeout', '2'], { KAFKA_BROKERS: silentBroker });
    expect(run.stderr).toContain(`Kafka at ${silentBroker} is unavailable`);
    expect(run.code).toBe(1);
    expect(run.seconds).toBeLessThan(8);
  }, 30_000);

  it('refuses a day the month does not have, with exit 2, before reaching Kafka', async () => {
    const run = await dlq(['list', '--since', '2026-02-30'], { KAFKA_BROKERS: silentBroker });
    expect(run.stderr).toContain('--since takes a time such as 2026-12-06');
    expect(run.code).toBe(2);
  }, 30_000);

  it('answers --help with what the commands do', async () => {
    const run = await dlq(['list', '--help'], {});
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('dlq:list prints the dead letters');
  }, 30_000);
});
