import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentListener, type SilentListener } from '../../../test/helpers/silent-listener.js';
import { freePort } from '../../../test/helpers/ports.js';
import { runSourceCli } from '../../../test/helpers/source-cli.js';

const cli = fileURLToPath(new URL('./follow-cli.ts', import.meta.url));

let silent: SilentListener;
let silentBroker = '';
/** A port nothing listens on: taken, then let go. */
let closedBroker = '';

beforeAll(async () => {
  silent = await silentListener();
  silentBroker = silent.address;
  closedBroker = `127.0.0.1:${await freePort()}`;
});
afterAll(() => silent.close());

/** The command as a person runs it, stopped after `capMs` so a hang fails the test instead of holding it. */
const follow = (args: readonly string[], env: Readonly<Record<string, string>>, capMs = 25_000) => runSourceCli(cli, args, { LOG_LEVEL: 'info', ...env }, capMs);

describe('events:follow', () => {
  it('says within seconds that nothing listens where Kafka should be (found by a review: 33-39 s)', async () => {
    const run = await follow(['--count', '1'], { KAFKA_BROKERS: closedBroker });
    // One line, naming the command, as every ops command says why it failed (it said `cannot follow: …`).
    expect(run.stderr.trim().split('\n')).toEqual([expect.stringMatching(/^events:follow failed: StoreUnavailableError: Kafka at \S+ is unavailable <- /)]);
    expect(run.stderr).toContain(`events:follow failed: StoreUnavailableError: Kafka at ${closedBroker} is unavailable`);
    expect(run.code).toBe(1);
    expect(run.seconds).toBeLessThan(10);
  }, 30_000);

  it('says within its deadline that a broker which never answers is unavailable', async () => {
    const run = await follow(['--count', '1'], { KAFKA_BROKERS: silentBroker });
    expect(run.stderr).toMatch(/^events:follow failed: .*Kafka at \S+ is unavailable <- .*no broker answered within 10 s$/m);
    expect(run.code).toBe(1);
    expect(run.seconds).toBeLessThan(20);
  }, 30_000);

  it('answers --help with what it does', async () => {
    const run = await follow(['--help'], {});
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('prints the lifecycle events');
  }, 30_000);
});
