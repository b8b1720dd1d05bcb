import { homedir } from 'node:os';
import { dirname, resolve } from 'node:path';
import { StackError } from './errors.js';
import { cacheDir, REPO_ROOT } from './paths.js';

/** `wipe` deletes a whole folder chosen by an environment variable; a typo must not cost a home directory. */
export function wipeRefusal(dir: string, protectedDirs: readonly string[]): string | undefined {
  const target = resolve(dir);
  if (target === dirname(target)) return 'it is the filesystem root';
  for (const guarded of protectedDirs.map((path) => resolve(path))) {
    if (target === guarded) return `it is ${guarded}`;
    if (guarded.startsWith(`${target}/`)) return `it contains ${guarded}`;
  }
  return undefined;
}

export function assertWipeable(dir: string): void {
  const refusal = wipeRefusal(dir, [homedir(), REPO_ROOT, cacheDir()]);
  if (refusal) throw new StackError('ORBIT_ERR_STACK_WIPE', 'wipe', `refusing to delete ${dir}: ${refusal} (check ORBIT_STACK_DIR)`);
}
