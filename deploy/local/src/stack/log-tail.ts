import { closeSync, existsSync, fstatSync, openSync, readSync } from 'node:fs';

/** The last `lines` lines of a log, without reading a multi-megabyte Kafka log whole. */
export function readTail(file: string, lines = 30, maxBytes = 64 * 1024): string {
  if (!existsSync(file)) return '';
  const fd = openSync(file, 'r');
  try {
    const size = fstatSync(fd).size;
    const length = Math.min(size, maxBytes);
    const buffer = Buffer.alloc(length);
    readSync(fd, buffer, 0, length, size - length);
    return lastLines(buffer.toString('utf8'), lines, length < size);
  } finally {
    closeSync(fd);
  }
}

/** When the read started mid-file its first line is partial, so it is dropped. */
export function lastLines(text: string, count: number, startsMidLine = false): string {
  const all = text.replace(/\r/g, '').replace(/\n+$/, '').split('\n');
  const whole = startsMidLine ? all.slice(1) : all;
  return whole.slice(-count).join('\n');
}

/** The marker `launchDetached` writes before each start; lines above it belong to an earlier run. */
export const START_MARKER = ' orbit starts ';

export function fromLastStart(tail: string): string {
  const lines = tail.split('\n');
  const index = lines.findLastIndex((line) => line.startsWith('--- ') && line.includes(START_MARKER));
  return index < 0 ? tail : lines.slice(index).join('\n');
}

/** Indented under the error line so the service's own output stands apart from ours. */
export function formatTail(tail: string, indent = '    '): string {
  if (tail.trim() === '') return `${indent}(log is empty)`;
  return tail.split('\n').map((line) => `${indent}${line}`).join('\n');
}
