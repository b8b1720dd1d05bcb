import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, vi } from 'vitest';

/**
 * Gives each test of the calling describe block a stack folder of its own (ORBIT_STACK_DIR), removed after it:
 * the local stack's code under test writes pid files, locks and keys there, never into the developer's `.stack/`.
 * Returns a getter of the current test's folder.
 */
export function useTemporaryStackDir(prefix: string): () => string {
  let dir = '';
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), `${prefix}-`));
    vi.stubEnv('ORBIT_STACK_DIR', dir);
  });
  afterEach(() => {
    vi.unstubAllEnvs();
    rmSync(dir, { recursive: true, force: true });
  });
  return () => dir;
}
