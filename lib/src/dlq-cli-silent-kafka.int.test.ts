import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { testConfig, waitFor } from '../../test/helpers/index.js';
import { kafkaThroughProxy, stallingProxy, type StallingProxy } from '../../test/helpers/stalling-proxy.js';

const cli = fileURLToPath(new URL('./dlq-cli.ts', import.meta.url));
const [brokerHost = '127.0.0.1', brokerPort = '9092'] = (testConfig.KAFKA_BROKERS[0] ?? '').split(':');
const brokers = testConfig.KAFKA_BROKERS.join(',');

const started: { kill(signal: NodeJS.Signals): boolean; exitCode: number | null }[] = [];
let proxy: StallingProxy | undefined;
afterEach(async () => {
  for (const child of started.splice(0)) if (child.exitCode === null) child.kill('SIGKILL');
  await proxy?.close();
});

/** The command through a proxy that falls silent once Kafka has answered a little (the login and a request or two). */
async function dlqAgainstSilence(args: readonly string[]) {
  proxy = await stallingProxy(brokerHost, Number(brokerPort), { serverBytes: 3000 });
  const child = spawn(process.execPath, ['--require', kafkaThroughProxy(Number(brokerPort), proxy.port), '--conditions=@orbit/source', '--import', 'tsx', cli, ...args], {
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
