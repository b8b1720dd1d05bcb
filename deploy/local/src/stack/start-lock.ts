import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { StackError } from './errors.js';
import { runDir } from './paths.js';
import { isAlive, parsePidFile } from './pidfile.js';

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

function holderOf(file: string): number | undefined {
  try {
    return parsePidFile(readFileSync(file, 'utf8'))?.pid;
  } catch {
    return undefined;
  }
}

/**
 * One starter per service across processes: a developer's `up` and a test's
 * `startService` racing would launch two copies, and the loser's pid file
 * would orphan the winner. A lock left by a dead process is taken over.
 */
export async function withStartLock<T>(service: string, timeoutMs: number, work: () => Promise<T>): Promise<T> {
  mkdirSync(runDir(), { recursive: true });
  const file = join(runDir(), `${service}.starting`);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      writeFileSync(file, `${process.pid}\n`, { flag: 'wx' });
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const holder = holderOf(file);
    if (holder === undefined || !isAlive(holder)) {
      rmSync(file, { force: true });
      continue;
    }
    if (Date.now() >= deadline) {
      throw new StackError('ORBIT_ERR_STACK_START', service, `process ${holder} has been starting it for over ${timeoutMs / 1000} s (lock ${file})`);
    }
    await sleep(250);
  }
  try {
    return await work();
  } finally {
    rmSync(file, { force: true });
  }
}
