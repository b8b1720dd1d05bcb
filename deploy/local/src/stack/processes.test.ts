import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { readConfig } from '@orbit/lib';
import { gatewayEnv } from '../../../../producers/portal-gateway/src/config.js';
import { REPO_ROOT } from '../../../../test/helpers/source-files.js';
import { CONSUMER_DISCONNECT_WAIT_MS, GATEWAY_SHUTDOWN_GRACE_SECONDS, launchDetached, sleep, stopGraceMs } from './processes.js';
import { isAlive } from './pidfile.js';
import { useTemporaryStackDir } from '../../../../test/helpers/stack-dir.js';

describe('stopGraceMs', () => {
  it('waits longer than every service\'s own shutdown grace by default (found by a review: 20 s SIGKILLed a gateway still within its 25 s)', () => {
    const gatewayGraceMs = readConfig(gatewayEnv, {}).ORBIT_SHUTDOWN_GRACE_SECONDS * 1000;
    // A consumer's stop waits this long for kafkajs's disconnect, then closes the rest.
    const consumerWaitMs = Number(/disconnectWaitMs \?\? ([\d_]+)/.exec(readFileSync(join(REPO_ROOT, 'lib/src/kafka/consume-loop.ts'), 'utf8'))?.[1]?.replaceAll('_', ''));
    expect(consumerWaitMs).toBeGreaterThan(0);
    // With time to close its stores after the grace, too: 5 s at least.
    expect(stopGraceMs({})).toBeGreaterThanOrEqual(Math.max(gatewayGraceMs, consumerWaitMs) + 5_000);
    expect(stopGraceMs({})).toBe(35_000);
    expect([GATEWAY_SHUTDOWN_GRACE_SECONDS * 1000, CONSUMER_DISCONNECT_WAIT_MS]).toEqual([gatewayGraceMs, consumerWaitMs]);
  });

  it('follows the gateway\'s ORBIT_SHUTDOWN_GRACE_SECONDS from the same environment, and ignores values it refuses', () => {
    expect(stopGraceMs({ ORBIT_SHUTDOWN_GRACE_SECONDS: '60' })).toBe(70_000);
    expect(stopGraceMs({ ORBIT_SHUTDOWN_GRACE_SECONDS: '0' })).toBe(25_000);
    for (const refused of ['soon', '-1', '2.5', '3601']) expect(stopGraceMs({ ORBIT_SHUTDOWN_GRACE_SECONDS: refused }), refused).toBe(35_000);
  });

  it('takes ORBIT_STOP_GRACE_MS as it is set, and ignores values that are not a duration', () => {
    expect(stopGraceMs({ ORBIT_STOP_GRACE_MS: 'soon' })).toBe(35_000);
    expect(stopGraceMs({ ORBIT_STOP_GRACE_MS: '-1' })).toBe(35_000);
    expect(stopGraceMs({ ORBIT_STOP_GRACE_MS: '5000' })).toBe(5_000);
    expect(stopGraceMs({ ORBIT_STOP_GRACE_MS: '5000', ORBIT_SHUTDOWN_GRACE_SECONDS: '60' })).toBe(5_000);
  });
});

/** Waits until the log holds `line`, as the spawn error is written whenever it comes; fails after 5 s without it. */
async function logSays(log: string, line: RegExp): Promise<void> {
  await vi.waitFor(() => expect(readFileSync(log, 'utf8')).toMatch(line), { timeout: 5_000, interval: 20 });
}

describe('launchDetached', () => {
  const stackDir = useTemporaryStackDir('orbit-launch');

  it('reports a command that does not exist with its stable code, and logs why once the spawn error arrives', async () => {
    expect(() => launchDetached('svc', { command: 'orbit-no-such-command', args: [] })).toThrow(expect.objectContaining({ code: 'ORBIT_ERR_STACK_START' }));
    // The spawn error comes a tick later, after the log's descriptor was closed; it crashed the process with EBADF.
    await logSays(join(stackDir(), 'logs', 'svc.log'), /could not start orbit-no-such-command: spawn orbit-no-such-command ENOENT/);
  });

  it('writes a log of JSON lines only, its start marker and a start that failed included, so jq reads it whole (found by a review: the marker was plain text)', async () => {
    const log = join(stackDir(), 'logs', 'svc.log');
    for (const words of ['first run', 'second run']) {
      const pid = launchDetached('svc', { command: process.execPath, args: ['-e', `process.stdout.write(JSON.stringify({ level: 'info', msg: '${words}' }))`] });
      for (let waited = 0; isAlive(pid) && waited < 5_000; waited += 50) await sleep(50);
    }
    expect(() => launchDetached('svc', { command: 'orbit-no-such-command', args: [] })).toThrow();
    await logSays(log, /could not start orbit-no-such-command/);
    const lines = readFileSync(log, 'utf8').split('\n').filter((line) => line !== '');
    const entries = lines.map((line) => JSON.parse(line) as Record<string, unknown>);
    // The second start's marker on a line of its own, though the first run ended without a newline.
    expect(entries.map((entry) => [entry['level'], entry['msg']])).toEqual([
      ['info', 'orbit starts svc'], ['info', 'first run'], ['info', 'orbit starts svc'], ['info', 'second run'], ['info', 'orbit starts svc'],
      ['error', 'could not start orbit-no-such-command: spawn orbit-no-such-command ENOENT'],
    ]);
    expect(entries[0]).toMatchObject({ service: 'svc', component: 'orbit-stack', command: expect.stringContaining(' -e ') as unknown, time: expect.any(String) as unknown });
  });

  it('gives the service neither the developer\'s AWS session token nor profile', async () => {
    vi.stubEnv('AWS_SESSION_TOKEN', 'IQoJb3JpZ2luX2VjE');
    vi.stubEnv('AWS_PROFILE', 'work-sso');
    const pid = launchDetached('svc', { command: 'sh', args: ['-c', 'echo "token=${AWS_SESSION_TOKEN-none} profile=${AWS_PROFILE-none} key=$AWS_ACCESS_KEY_ID"'], env: { AWS_ACCESS_KEY_ID: 'orbitlocal' } });
    for (let waited = 0; isAlive(pid) && waited < 5_000; waited += 50) await sleep(50);
    expect(readFileSync(join(stackDir(), 'logs', 'svc.log'), 'utf8')).toContain('token=none profile=none key=orbitlocal');
  });
});
