import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { spawn } from 'node:child_process';
import { probeProcess } from './pidfile.js';
import { withInstallLock, withStartLock } from './start-lock.js';
import { useTemporaryStackDir } from '../../../../test/helpers/stack-dir.js';

describe('withStartLock', () => {
  const stackDir = useTemporaryStackDir('orbit-lock');

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
    expect(existsSync(join(stackDir(), 'run', 'svc.starting'))).toBe(false);
  });

  it('takes over a lock left by a dead process', async () => {
    mkdirSync(join(stackDir(), 'run'), { recursive: true });
    writeFileSync(join(stackDir(), 'run', 'svc.starting'), '999999999\n');
    await expect(withStartLock('svc', 1_000, async () => 'ran')).resolves.toBe('ran');
  });

  it('gives up with a stable code when a live holder keeps it', async () => {
    mkdirSync(join(stackDir(), 'run'), { recursive: true });
    writeFileSync(join(stackDir(), 'run', 'svc.starting'), `${process.ppid}\n`);
    await expect(withStartLock('svc', 300, async () => 'ran')).rejects.toMatchObject({ code: 'ORBIT_ERR_STACK_START' });
  });

  it('takes over a lock whose pid now belongs to another process (a different start time)', async () => {
    mkdirSync(join(stackDir(), 'run'), { recursive: true });
    const live = probeProcess(process.ppid);
    writeFileSync(join(stackDir(), 'run', 'svc.starting'), `${process.ppid}\n${(live.startTime ?? 0) + 1}\n`);
    await expect(withStartLock('svc', 300, async () => 'ran')).resolves.toBe('ran');
  });

  it('records its own start time, so a reused pid does not keep the lock', async () => {
    await withStartLock('svc', 1_000, async () => {
      const [pid, startTime] = readFileSync(join(stackDir(), 'run', 'svc.starting'), 'utf8').trim().split('\n');
      expect(Number(pid)).toBe(process.pid);
      expect(Number(startTime)).toBe(probeProcess(process.pid).startTime);
    });
  });

  it('releases the lock when the work fails', async () => {
    await expect(withStartLock('svc', 1_000, () => Promise.reject(new TypeError('boom')))).rejects.toThrow('boom');
    expect(existsSync(join(stackDir(), 'run', 'svc.starting'))).toBe(false);
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

describe('withFileLock across processes', () => {
  it('is held by one process at a time when several ask at the same instant, and a dead holder\'s lock is taken over by one (found by a review: two held it in 14 rounds of 40)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'orbit-lock-race-'));
    const log = join(dir, 'log');
    const lock = join(dir, 'the.lock');
    const moduleUrl = new URL('../../dist/stack/start-lock.js', import.meta.url).href;
    // Each contender busy-waits for one instant, then holds the lock 60 ms and logs when it went in and out.
    const contender = `const { withFileLock } = await import(${JSON.stringify(moduleUrl)});
      const { appendFileSync } = await import('node:fs');
      const [lock, log, at] = process.argv.slice(1);
      while (Date.now() < Number(at)) {}
      await withFileLock(lock, 'test', 30_000, async () => {
        appendFileSync(log, 'in ' + performance.now() + '\\n');
        await new Promise((resolve) => setTimeout(resolve, 60));
        appendFileSync(log, 'out\\n');
      });`;
    const round = async (contenders: number): Promise<string[]> => {
      rmSync(log, { force: true });
      const at = Date.now() + 1_200;
      await Promise.all(Array.from({ length: contenders }, () => new Promise((resolve, reject) => {
        const child = spawn(process.execPath, ['--input-type=module', '-e', contender, lock, log, String(at)], { stdio: 'inherit' });
        child.once('exit', (code) => (code === 0 ? resolve(code) : reject(new Error(`contender exited ${String(code)}`))));
      })));
      return readFileSync(log, 'utf8').trim().split('\n').map((line) => line.split(' ')[0] ?? '');
    };
    for (let rounds = 0; rounds < 8; rounds++) {
      // A dead holder's lock in place in the last rounds: the contenders take it over, one of them at a time.
      if (rounds >= 6) writeFileSync(lock, '999999999\n');
      const lines = await round(2);
      expect(lines, `round ${rounds}`).toEqual(['in', 'out', 'in', 'out']);
      expect(existsSync(lock)).toBe(false);
    }
  }, 60_000);
});
