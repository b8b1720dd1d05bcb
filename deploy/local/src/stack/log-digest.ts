/**
 * What a failed test run leaves to read: CI keeps no files, only what the run
 * printed. For each pipeline service, the warnings and errors it logged since
 * the tests began, and its last line, which shows where a stuck service
 * stopped.
 */
export interface LogDigest {
  readonly warnings: number;
  readonly errors: number;
  /** The last `keep` warn/error lines of our own since `sinceMs`, shortened. */
  readonly problems: readonly string[];
  /** The last few of kafkajs's own, kept apart: a broker restart makes hundreds that would push ours out. */
  readonly clientProblems: readonly string[];
  /** The last line since `sinceMs` of any level, shortened; undefined when nothing was logged since. */
  readonly lastLine: string | undefined;
}

interface PinoLine {
  readonly level?: unknown;
  readonly time?: unknown;
  readonly msg?: unknown;
  readonly err?: { readonly message?: unknown; readonly code?: unknown };
  readonly [key: string]: unknown;
}

const LEVELS: Readonly<Record<string, 'warn' | 'error'>> = { warn: 'warn', error: 'error', fatal: 'error', 40: 'warn', 50: 'error', 60: 'error' };

function parsed(line: string): PinoLine | undefined {
  if (!line.startsWith('{')) return undefined;
  try {
    const value: unknown = JSON.parse(line);
    return typeof value === 'object' && value !== null ? (value as PinoLine) : undefined;
  } catch {
    return undefined;
  }
}

function timeOf(entry: PinoLine): number | undefined {
  if (typeof entry.time === 'number') return entry.time;
  if (typeof entry.time === 'string') {
    const ms = Date.parse(entry.time);
    return Number.isNaN(ms) ? undefined : ms;
  }
  return undefined;
}

/** One readable line: time, level, the message and the error's own message, and the ids that trace it. */
export function summaryOf(entry: PinoLine, width: number): string {
  const parts = [typeof entry.time === 'string' ? entry.time.slice(11, 23) : String(entry.time ?? ''), String(entry.level ?? '')];
  for (const key of ['component', 'topic', 'pid', 'requestId', 'imageUID']) {
    if (typeof entry[key] === 'string' || typeof entry[key] === 'number') parts.push(`${key}=${String(entry[key])}`);
  }
  parts.push(String(entry.msg ?? ''));
  if (entry.err && typeof entry.err.message === 'string') parts.push(`(${typeof entry.err.code === 'string' ? `${entry.err.code}: ` : ''}${entry.err.message.split('\n')[0] ?? ''})`);
  const text = parts.filter((part) => part !== '').join(' ');
  return text.length > width ? `${text.slice(0, width - 1)}…` : text;
}

/** Digests a pino log (JSON lines; other lines, such as the start markers, are skipped). */
export function digestLog(text: string, sinceMs: number, keep = 8, width = 240): LogDigest {
  let warnings = 0;
  let errors = 0;
  const problems: string[] = [];
  const clientProblems: string[] = [];
  let lastLine: string | undefined;
  for (const line of text.split('\n')) {
    const entry = parsed(line);
    if (!entry) continue;
    const time = timeOf(entry);
    if (time === undefined || time < sinceMs) continue;
    lastLine = summaryOf(entry, width);
    const level = LEVELS[String(entry.level)];
    if (!level) continue;
    if (level === 'warn') warnings += 1;
    else errors += 1;
    const kept = entry.component === 'kafkajs' ? clientProblems : problems;
    kept.push(lastLine);
    if (kept.length > (kept === problems ? keep : Math.ceil(keep / 2))) kept.shift();
  }
  return { warnings, errors, problems, clientProblems, lastLine };
}

export function formatDigest(service: string, running: boolean, digest: LogDigest): string {
  const head = `${service}: ${running ? 'running' : 'not running'}, ${digest.errors} errors and ${digest.warnings} warnings logged`;
  const lines = [head, ...digest.problems.map((line) => `    ${line}`)];
  if (digest.clientProblems.length > 0) lines.push('    kafkajs, last ones:', ...digest.clientProblems.map((line) => `      ${line}`));
  if (digest.lastLine !== undefined && digest.lastLine !== digest.problems.at(-1) && digest.lastLine !== digest.clientProblems.at(-1)) lines.push(`    last: ${digest.lastLine}`);
  return lines.join('\n');
}
