import { randomBytes } from 'node:crypto';
import { linkSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { StackError } from './errors.js';
import { cacheDir, runDir } from './paths.js';
import { formatPidFile, isSameLiveProcess, parsePidFile, probeProcess, type PidRecord } from './pidfile.js';

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** What the lock file holds now, or undefined when there is none. */
function contentOf(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

/** This process as a pid file records it: with its start time, so a later process given the same pid is not taken for the holder. */
function ownRecord(): string {
  const { startTime } = probeProcess(process.pid);
  return formatPidFile(startTime === undefined ? { pid: process.pid } : { pid: process.pid, startTime });
}

/** A name beside `file` no other process picks. */
const besideOf = (file: string, what: string): string => `${file}.${what}.${process.pid}.${randomBytes(6).toString('hex')}`;

/**
 * Creates `file` holding `record`, or answers false when it exists. Written
 * aside and linked into place: created and then written, the lock was empty
 * for a moment, another process took it for a dead holder's and removed it,
 * and both held it (found by a review: 14 rounds in 40 with two contenders).
 */
function created(file: string, record: string): boolean {
  const written = besideOf(file, 'new');
  writeFileSync(written, record);
  try {
    linkSync(written, file);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  } finally {
    rmSync(written, { force: true });
  }
}

/** An unreadable record (left by a crash of an older Orbit mid-write) counts as its holder's for this long. */
const UNREADABLE_GRACE_MS = 5_000;

/** Whether the lock holding `content` is a dead holder's: its process gone, its pid another process's now, or unreadable and old. */
function isStale(file: string, content: string): boolean {
  let holder: PidRecord | undefined;
  try {
    holder = parsePidFile(content);
  } catch {
    holder = undefined;
  }
  if (holder !== undefined) return !isSameLiveProcess(holder, probeProcess(holder.pid));
  try {
    return Date.now() - statSync(file).mtimeMs > UNREADABLE_GRACE_MS;
  } catch {
    return true;
  }
}

/**
 * Removes a dead holder's lock, and no other: moved aside first (one move
 * wins), then, when what was moved is not the record judged stale (another
 * process took the lock over in between), put back unless the name is taken.
 */
function takeOver(file: string, stale: string): void {
  const aside = besideOf(file, 'stale');
  try {
    renameSync(file, aside);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw error;
  }
  try {
    if (contentOf(aside) !== stale) linkSync(aside, file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  } finally {
    rmSync(aside, { force: true });
  }
}

/**
 * One holder of `file` across processes; a lock whose holder is gone (or
 * whose pid now belongs to another process) is taken over. `what` names the
 * work in the timeout error. Released only while it is still this holder's.
 */
export async function withFileLock<T>(file: string, what: string, timeoutMs: number, work: () => Promise<T>): Promise<T> {
  mkdirSync(dirname(file), { recursive: true });
  const deadline = Date.now() + timeoutMs;
  const record = ownRecord();
  while (!created(file, record)) {
    const content = contentOf(file);
    if (content === undefined) continue;
    if (isStale(file, content)) {
      takeOver(file, content);
      continue;
    }
    if (Date.now() >= deadline) {
      throw new StackError('ORBIT_ERR_STACK_START', what, `process ${content.split('\n')[0] ?? '?'} has held ${file} for over ${timeoutMs / 1000} s`);
    }
    await sleep(250);
  }
  try {
    return await work();
  } finally {
    if (contentOf(file) === record) rmSync(file, { force: true });
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
