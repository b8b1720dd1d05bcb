import { describe, expect, it } from 'vitest';
import { formatPidFile, isSameLiveProcess, parsePidFile, parseProcStat, probeProcess } from './pidfile.js';

describe('pid files', () => {
  it('round-trips pid and start time', () => {
    expect(parsePidFile(formatPidFile({ pid: 4242, startTime: 987654 }))).toEqual({ pid: 4242, startTime: 987654 });
    expect(parsePidFile(formatPidFile({ pid: 4242 }))).toEqual({ pid: 4242 });
  });

  it('reads a bare pid as written by other tools', () => {
    expect(parsePidFile('31337\n')).toEqual({ pid: 31337 });
  });

  it('rejects garbage, zero and negative pids', () => {
    for (const text of ['', 'abc', '0', '-5', '12abc']) expect(parsePidFile(text), text).toBeUndefined();
  });
});

describe('isSameLiveProcess', () => {
  const record = { pid: 100, startTime: 5000 };

  it('is alive when the process exists with the recorded start time', () => {
    expect(isSameLiveProcess(record, { exists: true, zombie: false, startTime: 5000 })).toBe(true);
  });

  it('treats a dead process as stale', () => {
    expect(isSameLiveProcess(record, { exists: false, zombie: false })).toBe(false);
  });

  it('treats an exited but unreaped process (zombie) as down', () => {
    expect(isSameLiveProcess(record, { exists: true, zombie: true, startTime: 5000 })).toBe(false);
  });

  it('treats a reused pid (different start time) as stale', () => {
    expect(isSameLiveProcess(record, { exists: true, zombie: false, startTime: 7000 })).toBe(false);
  });

  it('trusts the pid alone when either side has no start time', () => {
    expect(isSameLiveProcess({ pid: 100 }, { exists: true, zombie: false, startTime: 7000 })).toBe(true);
    expect(isSameLiveProcess(record, { exists: true, zombie: false })).toBe(true);
  });
});

describe('parseProcStat', () => {
  it('reads state and start time even when the command name has spaces and parentheses', () => {
    const stat = '1234 (java (x) y) S 1 1234 1234 0 -1 4194560 100 0 0 0 5 3 0 0 20 0 30 0 424242 1000000 500 rest';
    expect(parseProcStat(stat)).toEqual({ state: 'S', startTime: 424242 });
  });

  it('sees this very process as alive and not a zombie', () => {
    const probe = probeProcess(process.pid);
    expect(probe.exists).toBe(true);
    expect(probe.zombie).toBe(false);
  });
});
