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

/** The gateway's own shutdown grace when ORBIT_SHUTDOWN_GRACE_SECONDS is not set (its config's default). */
export const GATEWAY_SHUTDOWN_GRACE_SECONDS = 25;
/** How long a consumer's stop waits for kafkajs to disconnect (lib's consume loop, disconnectWaitMs's default). */
export const CONSUMER_DISCONNECT_WAIT_MS = 15_000;
/**
 * What a service still does once its own grace is over: the gateway answers the requests it cut 503 and closes Kafka
 * and MySQL, a consumer disconnects its DLQ producer and pools. Killed then, a stop looks clean to no one.
 */
const CLOSING_AFTER_GRACE_MS = 10_000;

/** The gateway's grace as it reads ORBIT_SHUTDOWN_GRACE_SECONDS (a whole number, 0 to 3600), in ms; its default otherwise. */
function gatewayGraceMs(env: NodeJS.ProcessEnv): number {
  const seconds = Number(env['ORBIT_SHUTDOWN_GRACE_SECONDS']);
  return env['ORBIT_SHUTDOWN_GRACE_SECONDS'] && Number.isInteger(seconds) && seconds >= 0 && seconds <= 3600 ? seconds * 1000 : GATEWAY_SHUTDOWN_GRACE_SECONDS * 1000;
}

/**
 * How long a stop waits after SIGTERM before SIGKILL: ORBIT_STOP_GRACE_MS when set to a duration, else longer than
 * every service's own grace, so none is killed while it still lets its work finish (20 s killed a gateway still within
 * its 25 s). The gateway's grace is read from the same environment, which the stack hands its services.
 */
export function stopGraceMs(env: NodeJS.ProcessEnv = process.env): number {
  const value = Number(env['ORBIT_STOP_GRACE_MS']);
  if (env['ORBIT_STOP_GRACE_MS'] && Number.isFinite(value) && value >= 0) return value;
  return Math.max(gatewayGraceMs(env), CONSUMER_DISCONNECT_WAIT_MS) + CLOSING_AFTER_GRACE_MS;
}

/** SIGTERM for a graceful shutdown, SIGKILL after `graceMs`. Returns false when it was not running. */
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
