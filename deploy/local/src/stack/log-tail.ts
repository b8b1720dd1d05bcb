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

/** The `component` of the lines the stack itself writes into a service's log, among the service's own. */
export const STACK_LOG_COMPONENT = 'orbit-stack';

/**
 * A line the stack writes into a service's log, shaped as the services' own (pino's, as Orbit's logger writes it:
 * `level` by name, ISO `time`): a plain-text line stopped `jq` over the log there (found by a review).
 */
export function stackLogLine(level: 'info' | 'error', service: string, msg: string, fields: Readonly<Record<string, unknown>> = {}, at = new Date()): string {
  return `${JSON.stringify({ level, time: at.toISOString(), service, component: STACK_LOG_COMPONENT, ...fields, msg })}\n`;
}

const START_MESSAGE = 'orbit starts ';

/** The line `launchDetached` writes before each start; lines above it belong to an earlier run. */
export const startMarkerLine = (service: string, command: string, at = new Date()): string => stackLogLine('info', service, `${START_MESSAGE}${service}`, { command }, at);

/** Whether `line` is a start's marker: the JSON line, or the plain-text one written before it (`--- <time> orbit starts …`), still in older logs. */
export function isStartMarker(line: string): boolean {
  if (line.startsWith('--- ')) return line.includes(` ${START_MESSAGE}`);
  if (!line.startsWith('{') || !line.includes(STACK_LOG_COMPONENT)) return false;
  try {
    const { component, msg } = JSON.parse(line) as { component?: unknown; msg?: unknown };
    return component === STACK_LOG_COMPONENT && typeof msg === 'string' && msg.startsWith(START_MESSAGE);
  } catch {
    return false;
  }
}

export function fromLastStart(tail: string): string {
  const lines = tail.split('\n');
  const index = lines.findLastIndex(isStartMarker);
  return index < 0 ? tail : lines.slice(index).join('\n');
}

/** Indented under the error line so the service's own output stands apart from ours. */
export function formatTail(tail: string, indent = '    '): string {
  if (tail.trim() === '') return `${indent}(log is empty)`;
  return tail.split('\n').map((line) => `${indent}${line}`).join('\n');
}
