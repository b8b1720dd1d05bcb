import { describe, expect, it } from 'vitest';
import { digestLog, formatDigest } from './log-digest.js';

const line = (time: string, level: string, msg: string, extra: Record<string, unknown> = {}): string =>
  JSON.stringify({ level, time, service: 'harbor-writer', msg, ...extra });

describe('digestLog', () => {
  const log = [
    '--- 2026-12-02T08:00:00.000Z orbit starts harbor-writer',
    line('2026-12-02T08:00:01.000Z', 'error', 'before the tests began'),
    line('2026-12-02T08:10:00.000Z', 'info', 'consume loop started'),
    line('2026-12-02T08:10:01.000Z', 'warn', 'retrying', { component: 'consume-loop', topic: 'orbit.image.validated', err: { message: 'connect ECONNREFUSED\n    at stack', code: 'ECONNREFUSED' } }),
    'not json {',
    line('2026-12-02T08:10:02.000Z', 'error', 'store failed', { pid: 'c8bms18-c16bre09-e50', imageUID: 'u-1' }),
    line('2026-12-02T08:10:03.000Z', 'info', 'waiting for the registry'),
  ].join('\n');
  const since = Date.parse('2026-12-02T08:05:00.000Z');

  it('counts only what was logged since the tests began, by level, and names the error and the ids', () => {
    const digest = digestLog(log, since);
    expect(digest).toMatchObject({ warnings: 1, errors: 1 });
    expect(digest.problems).toEqual([
      '08:10:01.000 warn component=consume-loop topic=orbit.image.validated retrying (ECONNREFUSED: connect ECONNREFUSED)',
      '08:10:02.000 error pid=c8bms18-c16bre09-e50 imageUID=u-1 store failed',
    ]);
    expect(digest.lastLine).toBe('08:10:03.000 info waiting for the registry');
  });

  it('keeps the Kafka client\'s own errors apart, so a broker restart\'s flood does not hide ours', () => {
    const flood = Array.from({ length: 50 }, (_, i) => line(`2026-12-02T08:11:${String(i).padStart(2, '0')}.000Z`, 'error', `Connection error ${i}`, { component: 'kafkajs' }));
    const digest = digestLog([log, ...flood].join('\n'), since, 4);
    expect(digest.errors).toBe(51);
    expect(digest.problems).toHaveLength(2);
    expect(digest.clientProblems).toEqual(['08:11:48.000 error component=kafkajs Connection error 48', '08:11:49.000 error component=kafkajs Connection error 49']);
  });

  it('keeps the last few problems, each shortened to the width', () => {
    const many = Array.from({ length: 20 }, (_, i) => line(`2026-12-02T08:10:${String(i).padStart(2, '0')}.000Z`, 'error', `failure ${i} ${'x'.repeat(300)}`)).join('\n');
    const digest = digestLog(many, since, 3, 60);
    expect(digest.errors).toBe(20);
    expect(digest.problems).toHaveLength(3);
    expect(digest.problems[0]).toMatch(/^08:10:17\.000 error failure 17 x+…$/);
    expect(digest.problems.every((text) => text.length === 60)).toBe(true);
  });

  it('reads pino numeric levels and epoch times too', () => {
    const digest = digestLog(JSON.stringify({ level: 50, time: since + 1, msg: 'numeric' }), since);
    expect(digest.errors).toBe(1);
  });
});

describe('formatDigest', () => {
  it('heads each service with its state and counts, the problems indented below, and its last line when that was not one', () => {
    const text = formatDigest('harbor-writer', false, digestLog([
      line('2026-12-02T08:10:01.000Z', 'warn', 'retrying'),
      line('2026-12-02T08:10:03.000Z', 'info', 'waiting'),
    ].join('\n'), 0));
    expect(text).toBe('harbor-writer: not running, 0 errors and 1 warnings logged\n    08:10:01.000 warn retrying\n    last: 08:10:03.000 info waiting');
  });
});
