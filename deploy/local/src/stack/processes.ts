import { spawn } from 'node:child_process';
import { appendFileSync, closeSync, fstatSync, mkdirSync, openSync, readSync, rmSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { stackChildEnv } from './child-env.js';
import { StackError } from './errors.js';
import { logFile, pidFile, runDir } from './paths.js';
import { stackLogLine, startMarkerLine } from './log-tail.js';
import { isAlive, runningPid, writePid } from './pidfile.js';

export interface Launch {
  readonly command: string;
  readonly args: readonly string[];
  readonly env?: Readonly<Record<string, string>>;
  readonly cwd?: string;
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Starts a service in its own session with output appended to its log, so it
 * outlives the CLI or the test process that started it.
 */
export function launchDetached(service: string, launch: Launch): number {
  const log = logFile(service);
  mkdirSync(dirname(log), { recursive: true });
  mkdirSync(runDir(), { recursive: true });
  const fd = openSync(log, 'a+');
  try {
    // On a line of its own: a service killed mid-line left its last line open.
    writeSync(fd, `${endsMidLine(fd) ? '\n' : ''}${startMarkerLine(service, [launch.command, ...launch.args].join(' '))}`);
    const child = spawn(launch.command, [...launch.args], {
      cwd: launch.cwd,
      env: stackChildEnv(launch.env),
      detached: true,
      stdio: ['ignore', fd, fd],
    });
    // A missing binary surfaces as an async 'error' event; without a listener it would crash the caller.
    // By path: the event comes after `finally` has closed fd.
    child.on('error', (error) => appendFileSync(log, stackLogLine('error', service, `could not start ${launch.command}: ${error.message}`)));
    if (child.pid === undefined) throw new StackError('ORBIT_ERR_STACK_START', service, `could not spawn ${launch.command} (not installed, or not on PATH?)`, { log });
    child.unref();
    writePid(service, child.pid);
    return child.pid;
  } finally {
    closeSync(fd);
  }
}

/** Whether the file open at `fd` (readable) ends without a newline. */
function endsMidLine(fd: number): boolean {
  const size = fstatSync(fd).size;
  if (size === 0) return false;
  const last = Buffer.alloc(1);
  readSync(fd, last, 0, 1, size - 1);
  return last[0] !== 0x0a;
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    // Detached children lead their own process group; signalling it catches their children too.
    process.kill(-pid, signal);
  } catch {
    try {
      process.kill(pid, signal);
    } catch {
      // Already gone.
    }
  }
}

async function waitGone(pid: number, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (isAlive(pid)) {
    if (Date.now() >= deadline) return false;
    await sleep(100);
  }
  return true;
}

/** SIGTERM for a graceful shutdown, SIGKILL after `graceMs`. Returns false when it was not running. */
export function stopGraceMs(env: NodeJS.ProcessEnv = process.env): number {
  const value = Number(env['ORBIT_STOP_GRACE_MS']);
  return env['ORBIT_STOP_GRACE_MS'] && Number.isFinite(value) && value >= 0 ? value : 20_000;
}

export async function terminate(service: string, graceMs = stopGraceMs()): Promise<boolean> {
  const pid = runningPid(service);
  if (pid === undefined) return false;
  signalGroup(pid, 'SIGTERM');
  if (!(await waitGone(pid, graceMs))) {
    signalGroup(pid, 'SIGKILL');
    await waitGone(pid, 5_000);
  }
  rmSync(pidFile(service), { force: true });
  return true;
}
