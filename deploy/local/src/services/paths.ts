import { homedir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root, from this file's place (src/services or dist/services), never from cwd. */
export const REPO_ROOT = fileURLToPath(new URL('../../../../', import.meta.url));

/** Data, logs and pid files: one git-ignored folder. */
export function stackDir(): string {
  return process.env['ORBIT_STACK_DIR'] ?? join(REPO_ROOT, '.stack');
}

/** Installed software; survives `stack:wipe` and fresh clones on the same machine. */
export function cacheDir(): string {
  return process.env['ORBIT_CACHE_DIR'] ?? join(homedir(), '.cache', 'orbit');
}

export const dataDir = (service: string): string => join(stackDir(), 'data', service);
export const logFile = (service: string): string => join(stackDir(), 'logs', `${service}.log`);
export const pidFile = (service: string): string => join(stackDir(), 'run', `${service}.pid`);
export const mysqlSocket = (): string => join(stackDir(), 'run', 'mysqld.sock');
