/** Timing and memory helpers shared by the benchmarks. */
import { execFileSync, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';

export async function timed<T>(work: () => Promise<T>): Promise<{ seconds: number; value: T }> {
  const started = process.hrtime.bigint();
  const value = await work();
  return { seconds: Number(process.hrtime.bigint() - started) / 1e9, value };
}

/** Runs a command to completion and returns its wall time in seconds. */
export function timedCommand(command: string, args: readonly string[]): Promise<number> {
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const child = spawn(command, [...args], { stdio: ['ignore', 'ignore', 'inherit'] });
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve(Number(process.hrtime.bigint() - started) / 1e9) : reject(new TypeError(`${command} exited ${code}`))));
  });
}

/** Resident memory of a process in bytes, from /proc (Linux). */
export function rssOf(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = /VmRSS:\s+(\d+) kB/.exec(status)?.[1];
  return kb ? Number(kb) * 1024 : 0;
}

/** Samples a process's RSS every `everyMs` until stopped; returns the peak. */
export function sampleRss(pid: number, everyMs = 50): { stop: () => number } {
  let peak = rssOf(pid);
  const timer = setInterval(() => {
    try {
      peak = Math.max(peak, rssOf(pid));
    } catch {
      // the process may be gone
    }
  }, everyMs);
  return { stop: () => { clearInterval(timer); return peak; } };
}

/** CPU seconds (user + system) a process has used so far, from /proc (Linux; clock ticks of 1/100 s). */
export function cpuSecondsOf(pid: number): number {
  // The command name may hold spaces or parentheses: the fields start after the last ')'.
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ').at(-1)?.split(' ') ?? [];
  return (Number(fields[11] ?? 0) + Number(fields[12] ?? 0)) / 100;
}

/** CPU seconds this process and `others` use while `work` runs. */
export async function cpuDuring<T>(others: Readonly<Record<string, number | undefined>>, work: () => Promise<T>): Promise<{ value: T; cpuSeconds: Record<string, number> }> {
  const ours = process.cpuUsage();
  const before = Object.entries(others).map(([name, pid]) => [name, pid, pid === undefined ? 0 : cpuSecondsOf(pid)] as const);
  const value = await work();
  const used = process.cpuUsage(ours);
  const cpuSeconds: Record<string, number> = { node: (used.user + used.system) / 1e6 };
  for (const [name, pid, start] of before) if (pid !== undefined) cpuSeconds[name] = cpuSecondsOf(pid) - start;
  return { value, cpuSeconds };
}

export function pidListeningOn(port: number): number | undefined {
  try {
    const out = execFileSync('ss', ['-ltnpH', `sport = :${port}`], { encoding: 'utf8' });
    const pid = /pid=(\d+)/.exec(out)?.[1];
    return pid ? Number(pid) : undefined;
  } catch {
    return undefined;
  }
}

export const MiB = 1024 * 1024;
export const GiB = 1024 * MiB;

export function ratioLine(label: string, value: number, goal: string): string {
  return `${label.padEnd(58)} ${value.toFixed(3).padStart(8)}   (goal ${goal})`;
}
