import { isAbsolute, join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { cacheDir, dataDir, stackDir } from './paths.js';

describe('stack paths', () => {
  afterEach(() => vi.unstubAllEnvs());

  it('are absolute when ORBIT_STACK_DIR and ORBIT_CACHE_DIR are relative, as services run in their own folders', () => {
    vi.stubEnv('ORBIT_STACK_DIR', 'scratch/stack');
    vi.stubEnv('ORBIT_CACHE_DIR', './cache');
    expect(stackDir()).toBe(join(process.cwd(), 'scratch', 'stack'));
    expect(cacheDir()).toBe(join(process.cwd(), 'cache'));
    expect(isAbsolute(dataDir('kafka'))).toBe(true);
  });
});
