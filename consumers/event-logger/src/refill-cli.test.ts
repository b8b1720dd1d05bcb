import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../../test/helpers/ports.js';
import { runSourceCli } from '../../../test/helpers/source-cli.js';

const cli = fileURLToPath(new URL('./refill-cli.ts', import.meta.url));

/** A port nothing listens on: taken, then let go. */
let closedBroker = '';
beforeAll(async () => { closedBroker = `127.0.0.1:${await freePort()}`; });

/** The command as a person runs it, stopped after `capMs` so a hang fails the test instead of holding it. */
const refill = (args: readonly string[], env: Readonly<Record<string, string>> = {}, capMs = 25_000) => runSourceCli(cli, args, { LOG_LEVEL: 'info', ...env }, capMs);

describe('events:refill', () => {
  it('refuses a --since it cannot read, or one in the future, with exit 2 and the usage, before asking any store', async () => {
    const unreadable = await refill(['--since', 'last tuesday'], { KAFKA_BROKERS: closedBroker });
    expect(unreadable.code).toBe(2);
    expect(unreadable.stderr).toMatch(/^--since must be an ISO 8601 time with its zone .*got "last tuesday"\nusage: npm run events:refill -- --since <ISO time>/);
    const future = await refill(['--since', '2999-01-01T00:00:00Z'], { KAFKA_BROKERS: closedBroker });
    expect(future.code).toBe(2);
    expect(future.stderr).toMatch(/^--since 2999-01-01T00:00:00.000Z is in the future/);
    const none = await refill([], { KAFKA_BROKERS: closedBroker });
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/^--since is required/);
  }, 60_000);

  it('says within seconds, with its code, that nothing listens where Kafka should be', async () => {
    const run = await refill(['--since', '2026-01-01'], { KAFKA_BROKERS: closedBroker }, 60_000);
    expect(run.stderr.trim().split('\n')).toEqual([expect.stringMatching(new RegExp(`^events:refill failed: ORBIT_ERR_STORE_UNAVAILABLE: StoreUnavailableError: Kafka at ${closedBroker} is unavailable <- `))]);
    expect(run.code).toBe(1);
    // The start alone takes seconds (tsx) and more on a busy machine; kafkajs's own retries took 33-39 s on top.
    expect(run.seconds).toBeLessThan(30);
  }, 70_000);

  it('answers --help with what it does', async () => {
    const run = await refill(['--help']);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('after a DynamoDB point-in-time restore, from the restore time');
  }, 30_000);
});
