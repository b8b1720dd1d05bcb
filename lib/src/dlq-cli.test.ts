import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentListener, type SilentListener } from '../../test/helpers/silent-listener.js';
import { runSourceCli } from '../../test/helpers/source-cli.js';

const cli = fileURLToPath(new URL('./dlq-cli.ts', import.meta.url));

let silent: SilentListener;
let silentBroker = '';

beforeAll(async () => {
  silent = await silentListener();
  silentBroker = silent.address;
});
afterAll(() => silent.close());

/** The command as a person runs it, stopped after `capMs` so a hang fails the test instead of holding it. */
const dlq = (args: readonly string[], env: Readonly<Record<string, string>>, capMs = 25_000) => runSourceCli(cli, args, { LOG_LEVEL: 'info', ...env }, capMs);

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
