import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { withStartLock } from './start-lock.js';

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

  it('releases the lock when the work fails', async () => {
    await expect(withStartLock('svc', 1_000, () => Promise.reject(new TypeError('boom')))).rejects.toThrow('boom');
    expect(existsSync(join(dir, 'run', 'svc.starting'))).toBe(false);
  });
});
