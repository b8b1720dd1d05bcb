import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync, closeSync } from 'node:fs';
import { dirname } from 'node:path';
import { logFile, pidFile } from './paths.js';

export interface Launch {
  readonly command: string;
  readonly args: readonly string[];
  readonly env?: Readonly<Record<string, string>>;
  readonly cwd?: string;
}

/** True when a process with this pid exists (signal 0 probes without touching it). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The pid of a running service, or undefined; a stale pid file is removed. */
export function runningPid(service: string): number | undefined {
  const file = pidFile(service);
  if (!existsSync(file)) return undefined;
  const pid = Number.parseInt(readFileSync(file, 'utf8'), 10);
  if (Number.isInteger(pid) && pid > 0 && isAlive(pid)) return pid;
  rmSync(file, { force: true });
  return undefined;
}

/**
 * Starts a service fully detached (own session, output to its log file), so it
 * outlives the command or test that started it.
 */
export function launchDetached(service: string, launch: Launch): number {
  const log = logFile(service);
  mkdirSync(dirname(log), { recursive: true });
  mkdirSync(dirname(pidFile(service)), { recursive: true });
  const fd = openSync(log, 'a');
  writeFileSync(fd, `\n--- ${new Date().toISOString()} starting ${service}: ${launch.command} ${launch.args.join(' ')}\n`);
  try {
    const child = spawn(launch.command, [...launch.args], {
      cwd: launch.cwd, env: { ...process.env, ...launch.env }, detached: true, stdio: ['ignore', fd, fd],
    });
    if (child.pid === undefined) throw new TypeError(`could not spawn ${launch.command}`);
    child.unref();
    writeFileSync(pidFile(service), String(child.pid));
    return child.pid;
  } finally {
    closeSync(fd);
  }
}

/** SIGTERM, wait, then SIGKILL: services get their graceful shutdown first. */
export async function terminate(service: string, graceMs = 20_000): Promise<boolean> {
  const pid = runningPid(service);
  if (pid === undefined) return false;
  process.kill(pid, 'SIGTERM');
  const deadline = Date.now() + graceMs;
  while (isAlive(pid) && Date.now() < deadline) await sleep(100);
  if (isAlive(pid)) {
    process.kill(pid, 'SIGKILL');
    while (isAlive(pid)) await sleep(50);
  }
  rmSync(pidFile(service), { force: true });
  return true;
}

export function tailOf(file: string, lines = 30): string {
  if (!existsSync(file)) return '(no log yet)';
  return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
