import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { StackError } from './errors.js';
import { cacheDir, runDir } from './paths.js';
import { formatPidFile, isSameLiveProcess, parsePidFile, probeProcess, type PidRecord } from './pidfile.js';

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

function holderOf(file: string): PidRecord | undefined {
  try {
    return parsePidFile(readFileSync(file, 'utf8'));
  } catch {
    return undefined;
  }
}

/** This process as a pid file records it: with its start time, so a later process given the same pid is not taken for the holder. */
function ownRecord(): string {
  const { startTime } = probeProcess(process.pid);
  return formatPidFile(startTime === undefined ? { pid: process.pid } : { pid: process.pid, startTime });
}

/**
 * One holder of `file` across processes; a lock whose holder is gone (or
 * whose pid now belongs to another process) is taken over. `what` names the
 * work in the timeout error.
 */
export async function withFileLock<T>(file: string, what: string, timeoutMs: number, work: () => Promise<T>): Promise<T> {
  mkdirSync(dirname(file), { recursive: true });
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      writeFileSync(file, ownRecord(), { flag: 'wx' });
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const holder = holderOf(file);
    if (holder === undefined || !isSameLiveProcess(holder, probeProcess(holder.pid))) {
      rmSync(file, { force: true });
      continue;
    }
    if (Date.now() >= deadline) {
      throw new StackError('ORBIT_ERR_STACK_START', what, `process ${holder.pid} has held ${file} for over ${timeoutMs / 1000} s`);
    }
    await sleep(250);
  }
  try {
    return await work();
  } finally {
    rmSync(file, { force: true });
  }
}

/**
 * One starter per service across processes: a developer's `up` and a test's
 * `startService` racing would launch two copies, and the loser's pid file
 * would orphan the winner.
 */
export function withStartLock<T>(service: string, timeoutMs: number, work: () => Promise<T>): Promise<T> {
  return withFileLock(join(runDir(), `${service}.starting`), service, timeoutMs, work);
}

/**
 * Installs share the cache (Maven's and Go's downloads, cacheDir()) and the
 * machine's apt/dpkg lock, whatever the stack folder: two `up`s at once
 * (npm start beside npm test) run them one after the other.
 */
export function withInstallLock<T>(timeoutMs: number, work: () => Promise<T>): Promise<T> {
  return withFileLock(join(cacheDir(), 'install.lock'), 'install', timeoutMs, work);
}
