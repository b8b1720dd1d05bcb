import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** From src/stack or dist/stack alike, so the stack is the same whatever the caller's cwd. */
export const REPO_ROOT = fileURLToPath(new URL('../../../../', import.meta.url)).replace(/\/$/, '');

/**
 * Data, logs and pid files: one git-ignored folder that `wipe` deletes. Absolute even when the variable is
 * relative: services run with their data folder as cwd, where a relative path would point elsewhere.
 */
export function stackDir(): string {
  return resolve(process.env['ORBIT_STACK_DIR'] || join(REPO_ROOT, '.stack'));
}

/** Installed software lives outside the repo so `wipe` and fresh clones do not re-download it. */
export function cacheDir(): string {
  return resolve(process.env['ORBIT_CACHE_DIR'] || join(homedir(), '.cache', 'orbit'));
}

export const dataDir = (service: string): string => join(stackDir(), 'data', service);
export const logFile = (service: string): string => join(stackDir(), 'logs', `${service}.log`);
export const runDir = (): string => join(stackDir(), 'run');
export const pidFile = (service: string): string => join(runDir(), `${service}.pid`);
export const mysqlSocket = (): string => join(runDir(), 'mysqld.sock');
