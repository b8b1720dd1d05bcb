import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { formatTail, fromLastStart, lastLines, readTail, startMarkerLine } from './log-tail.js';

describe('lastLines', () => {
  it('keeps the last n lines and ignores trailing newlines', () => {
    expect(lastLines('a\nb\nc\nd\n\n', 2)).toBe('c\nd');
  });

  it('returns everything when shorter than n', () => {
    expect(lastLines('only\n', 30)).toBe('only');
  });

  it('drops the partial first line of a read that started mid-file', () => {
    expect(lastLines('tial\nfull\nlast', 30, true)).toBe('full\nlast');
  });

  it('normalises CRLF', () => {
    expect(lastLines('a\r\nb\r\n', 5)).toBe('a\nb');
  });
});

describe('readTail', () => {
  it('reads the end of a file larger than its window without the cut line', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'orbit-tail-')), 'big.log');
    writeFileSync(file, Array.from({ length: 5000 }, (_, i) => `line ${i} ${'x'.repeat(40)}`).join('\n'));
    const tail = readTail(file, 30, 4096).split('\n');
    expect(tail).toHaveLength(30);
    expect(tail[29]).toMatch(/^line 4999 /);
    expect(tail[0]).toMatch(/^line 4970 /);
  });

  it('is empty for a missing file', () => {
    expect(readTail('/nonexistent/orbit.log')).toBe('');
  });
});

describe('formatTail', () => {
  it('indents every line', () => {
    expect(formatTail('a\nb', '  ')).toBe('  a\n  b');
  });

  it('says so when the log is empty', () => {
    expect(formatTail('', '  ')).toBe('  (log is empty)');
  });
});

describe('fromLastStart', () => {
  it('keeps only the lines of the latest start', () => {
    const tail = 'old shutdown\n--- 2026-01-01T00:00:00Z orbit starts kafka: java\nfirst\n--- 2026-01-01T00:01:00Z orbit starts kafka: java\nboom';
    expect(fromLastStart(tail)).toBe('--- 2026-01-01T00:01:00Z orbit starts kafka: java\nboom');
  });

  it('keeps everything when no start marker is in view', () => {
    expect(fromLastStart('a\nb')).toBe('a\nb');
  });

  it('finds the start marker as the JSON line it is now, the plain-text one of older logs too', () => {
    const marker = startMarkerLine('harbor-writer', 'node consumers/harbor-writer/dist/main.js', new Date('2026-12-06T10:00:00Z')).trimEnd();
    const tail = ['--- 2026-12-06T09:00:00Z orbit starts harbor-writer: node main.js', '{"level":"info","msg":"old run"}', marker, '{"level":"fatal","msg":"boom"}'].join('\n');
    expect(fromLastStart(tail)).toBe(`${marker}\n{"level":"fatal","msg":"boom"}`);
    expect(fromLastStart('--- 2026-12-06T09:00:00Z orbit starts kafka: java\nboom')).toBe('--- 2026-12-06T09:00:00Z orbit starts kafka: java\nboom');
    // A service's own line that merely mentions a start is not a marker.
    expect(fromLastStart('{"level":"info","component":"consume-loop","msg":"orbit starts consuming"}\nx')).toBe('{"level":"info","component":"consume-loop","msg":"orbit starts consuming"}\nx');
  });
});

describe('startMarkerLine', () => {
  it('is one JSON line shaped as the services\' own: level, time, service, msg (found by a review: jq over a log stopped at the plain-text marker)', () => {
    const line = startMarkerLine('portal-gateway', 'node producers/portal-gateway/dist/main.js', new Date('2026-12-06T10:00:00Z'));
    expect(line.endsWith('\n')).toBe(true);
    expect(line.trimEnd()).not.toContain('\n');
    expect(JSON.parse(line)).toEqual({
      level: 'info', time: '2026-12-06T10:00:00.000Z', service: 'portal-gateway', component: 'orbit-stack',
      command: 'node producers/portal-gateway/dist/main.js', msg: 'orbit starts portal-gateway',
    });
  });
});
