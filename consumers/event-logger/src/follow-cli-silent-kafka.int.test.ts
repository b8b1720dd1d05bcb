import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testConfig, waitFor } from '../../../test/helpers/index.js';
import { silentProxy, type SilentProxy } from '../../../test/helpers/silent-proxy.js';
import { kafkaThroughProxy } from '../../../test/helpers/stalling-proxy.js';

const cli = fileURLToPath(new URL('./follow-cli.ts', import.meta.url));
const [brokerHost = '127.0.0.1', brokerPort = '9092'] = (testConfig.KAFKA_BROKERS[0] ?? '').split(':');

let proxy: SilentProxy;
let preload = '';
beforeAll(async () => {
  proxy = await silentProxy(brokerHost, Number(brokerPort));
  // The broker's metadata names its own address, so the command would go round a proxy given as KAFKA_BROKERS:
  // a preload sends every connection of the command's process to the broker through the proxy instead.
  preload = kafkaThroughProxy(Number(brokerPort), Number(proxy.address.split(':')[1]));
});
afterAll(async () => { await proxy.close(); });

describe('events:follow while Kafka falls silent', () => {
  it('warns once after 15 s without an answer, and stops on Ctrl-C in seconds (found by a review: silent, and 31 s to stop)', async () => {
    const child = spawn(process.execPath, ['--require', preload, '--conditions=@orbit/source', '--import', 'tsx', cli], {
      stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, LOG_LEVEL: 'info' },
    });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => { stderr += chunk.toString(); });
    const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
    try {
      // 1. Following, through the proxy.
      await waitFor(() => (stderr.includes('Ctrl-C stops') ? true : undefined), { what: 'the command to join its group', timeoutMs: 30_000, intervalMs: 50 });
      // 2. Kafka falls silent: said once, naming it, within about 15 s.
      proxy.silence();
      await waitFor(() => (stderr.includes('has answered nothing for 15 s') ? true : undefined), { what: 'the silence to be said', timeoutMs: 25_000, intervalMs: 100 });
      expect(stderr).toContain(`Kafka at ${testConfig.KAFKA_BROKERS.join(',')} has answered nothing for 15 s; still waiting`);
      // 3. Ctrl-C ends it in seconds though the broker never answers the goodbye.
      const asked = Date.now();
      child.kill('SIGINT');
      expect(await exited).toBe(0);
      expect((Date.now() - asked) / 1000).toBeLessThan(5);
      expect(stderr.match(/has answered nothing/g)).toHaveLength(1);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  }, 90_000);
});
