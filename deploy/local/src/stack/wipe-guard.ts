import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { StackError } from './errors.js';
import { cacheDir, REPO_ROOT, stackDir } from './paths.js';

/** Written by `up` into the stack folder: what tells `wipe` the folder is the stack's to delete. */
export const STACK_MARKER = '.orbit-stack';

/** What the stack puts into its folder; a folder holding only these was made by a stack from before the marker. */
const STACK_ENTRIES = new Set([STACK_MARKER, 'data', 'logs', 'run', 'test-results.json']);

export function markStackDir(dir: string = stackDir()): void {
  mkdirSync(dir, { recursive: true });
  const marker = join(dir, STACK_MARKER);
  if (!existsSync(marker)) writeFileSync(marker, 'The Orbit local stack\'s folder: `npm run stack:wipe` deletes it whole.\n');
}

/**
 * `wipe` deletes a whole folder chosen by an environment variable; a typo must not cost a home directory,
 * /etc or a source tree. `entries` is the folder's listing, undefined when it does not exist.
 */
export function wipeRefusal(dir: string, protectedDirs: readonly string[], entries: readonly string[] | undefined): string | undefined {
  const target = resolve(dir);
  if (target === dirname(target)) return 'it is the filesystem root';
  for (const guarded of protectedDirs.map((path) => resolve(path))) {
    if (target === guarded) return `it is ${guarded}`;
    if (guarded.startsWith(`${target}/`)) return `it contains ${guarded}`;
  }
  if (entries === undefined || entries.includes(STACK_MARKER) || entries.every((entry) => STACK_ENTRIES.has(entry))) return undefined;
  return `it is not a stack folder (no ${STACK_MARKER}, which stack:up writes, and it holds ${entries.filter((entry) => !STACK_ENTRIES.has(entry)).slice(0, 3).join(', ')})`;
}

export function assertWipeable(dir: string): void {
  const entries = existsSync(dir) ? readdirSync(dir) : undefined;
  const refusal = wipeRefusal(dir, [homedir(), REPO_ROOT, cacheDir()], entries);
  if (refusal) throw new StackError('ORBIT_ERR_STACK_WIPE', 'wipe', `refusing to delete ${dir}: ${refusal} (check ORBIT_STACK_DIR)`);
}
