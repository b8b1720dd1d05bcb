import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { spawn } from 'node:child_process';
import { probeProcess } from './pidfile.js';
import { withInstallLock, withStartLock } from './start-lock.js';

describe('withStartLock', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'orbit-lock-'));
    vi.stubEnv('ORBIT_STACK_DIR', dir);
  });
  afterEach(() => vi.unstubAllEnvs());

  it('runs one starter at a time and releases the lock afterwards', async () => {
    const order: string[] = [];
    const slow = withStartLock('svc', 5_000, async () => {
      order.push('a-in');
      await new Promise((resolve) => setTimeout(resolve, 300));
      order.push('a-out');
    });
    const fast = withStartLock('svc', 5_000, async () => {
      order.push('b-in');
    });
    await Promise.all([slow, fast]);
    expect(order).toEqual(['a-in', 'a-out', 'b-in']);
    expect(existsSync(join(dir, 'run', 'svc.starting'))).toBe(false);
  });

  it('takes over a lock left by a dead process', async () => {
    mkdirSync(join(dir, 'run'), { recursive: true });
    writeFileSync(join(dir, 'run', 'svc.starting'), '999999999\n');
    await expect(withStartLock('svc', 1_000, async () => 'ran')).resolves.toBe('ran');
  });

  it('gives up with a stable code when a live holder keeps it', async () => {
    mkdirSync(join(dir, 'run'), { recursive: true });
    writeFileSync(join(dir, 'run', 'svc.starting'), `${process.ppid}\n`);
    await expect(withStartLock('svc', 300, async () => 'ran')).rejects.toMatchObject({ code: 'ORBIT_ERR_STACK_START' });
  });

  it('takes over a lock whose pid now belongs to another process (a different start time)', async () => {
    mkdirSync(join(dir, 'run'), { recursive: true });
    const live = probeProcess(process.ppid);
    writeFileSync(join(dir, 'run', 'svc.starting'), `${process.ppid}\n${(live.startTime ?? 0) + 1}\n`);
    await expect(withStartLock('svc', 300, async () => 'ran')).resolves.toBe('ran');
  });

  it('records its own start time, so a reused pid does not keep the lock', async () => {
    await withStartLock('svc', 1_000, async () => {
      const [pid, startTime] = readFileSync(join(dir, 'run', 'svc.starting'), 'utf8').trim().split('\n');
      expect(Number(pid)).toBe(process.pid);
      expect(Number(startTime)).toBe(probeProcess(process.pid).startTime);
    });
  });

  it('releases the lock when the work fails', async () => {
    await expect(withStartLock('svc', 1_000, () => Promise.reject(new TypeError('boom')))).rejects.toThrow('boom');
    expect(existsSync(join(dir, 'run', 'svc.starting'))).toBe(false);
  });
});

describe('withInstallLock', () => {
  afterEach(() => vi.unstubAllEnvs());

  it('waits for another process installing into the same cache, whatever its stack folder', async () => {
    const cache = mkdtempSync(join(tmpdir(), 'orbit-cache-'));
    vi.stubEnv('ORBIT_CACHE_DIR', cache);
    vi.stubEnv('ORBIT_STACK_DIR', mkdtempSync(join(tmpdir(), 'orbit-lock-')));
    const other = spawn('sleep', ['0.6'], { stdio: 'ignore' });
    const pid = other.pid ?? 0;
    const exited = new Promise((resolve) => other.once('exit', resolve));
    writeFileSync(join(cache, 'install.lock'), `${pid}\n${probeProcess(pid).startTime ?? ''}\n`);
    const began = Date.now();
    await withInstallLock(5_000, async () => undefined);
    expect(Date.now() - began).toBeGreaterThanOrEqual(400);
    await exited;
    expect(existsSync(join(cache, 'install.lock'))).toBe(false);
  });
});
