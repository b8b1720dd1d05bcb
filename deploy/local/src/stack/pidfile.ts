import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { pidFile } from './paths.js';

/**
 * A pid file holds the pid and, on Linux, the process start time: a pid alone
 * can be reused by an unrelated process after a reboot or a long uptime.
 */
export interface PidRecord {
  readonly pid: number;
  readonly startTime?: number;
}

/** What /proc says about a pid right now; `undefined` fields when it cannot tell. */
export interface ProcessProbe {
  readonly exists: boolean;
  readonly zombie: boolean;
  readonly startTime?: number;
}

export function parsePidFile(text: string): PidRecord | undefined {
  const [first, second] = text.trim().split(/\s+/);
  const pid = Number(first);
  if (!first || !/^\d+$/.test(first) || pid <= 0) return undefined;
  const startTime = second !== undefined && /^\d+$/.test(second) ? Number(second) : undefined;
  return startTime === undefined ? { pid } : { pid, startTime };
}

export function formatPidFile(record: PidRecord): string {
  return record.startTime === undefined ? `${record.pid}\n` : `${record.pid}\n${record.startTime}\n`;
}

/** A zombie has exited (only its parent has not reaped it yet); a different start time is another process. */
export function isSameLiveProcess(record: PidRecord, probe: ProcessProbe): boolean {
  if (!probe.exists || probe.zombie) return false;
  return record.startTime === undefined || probe.startTime === undefined || record.startTime === probe.startTime;
}

/** Field 22 of /proc/<pid>/stat is the start time; the command name before it may contain spaces and parentheses. */
export function parseProcStat(stat: string): { state: string; startTime: number } | undefined {
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const state = fields[0];
  const startTime = Number(fields[19]);
  return state === undefined || !Number.isFinite(startTime) ? undefined : { state, startTime };
}

export function probeProcess(pid: number): ProcessProbe {
  try {
    process.kill(pid, 0);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EPERM') return { exists: false, zombie: false };
  }
  try {
    const stat = parseProcStat(readFileSync(`/proc/${pid}/stat`, 'utf8'));
    if (stat) return { exists: true, zombie: stat.state === 'Z' || stat.state === 'X', startTime: stat.startTime };
  } catch {
    // No /proc (not Linux) or the process just went: the signal probe is all we have.
  }
  return { exists: true, zombie: false };
}

export function isAlive(pid: number): boolean {
  const probe = probeProcess(pid);
  return probe.exists && !probe.zombie;
}

export function writePid(service: string, pid: number): void {
  const probe = probeProcess(pid);
  writeFileSync(pidFile(service), formatPidFile(probe.startTime === undefined ? { pid } : { pid, startTime: probe.startTime }));
}

/** The pid of the service's live process, or undefined; a stale pid file is deleted on the way. */
export function runningPid(service: string): number | undefined {
  const file = pidFile(service);
  if (!existsSync(file)) return undefined;
  const record = parsePidFile(readFileSync(file, 'utf8'));
  if (record && isSameLiveProcess(record, probeProcess(record.pid))) return record.pid;
  rmSync(file, { force: true });
  return undefined;
}
