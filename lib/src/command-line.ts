import { parseArgs, type ParseArgsConfig } from 'node:util';
import { forcedExitCode } from './service.js';
import { describeError } from './error-description.js';
import { ConfigError } from './errors.js';
import { IMAGE_UID_PATTERN } from './image-uid.js';

const refuseWithUsageCode = (text: string): never => {
  process.stderr.write(text);
  process.exit(2);
};

/**
 * parseArgs for the ops commands (dlq, reconcile, rebuild, token): an option
 * they do not know, or one missing its value, prints what is wrong and the
 * usage line and exits 2, as a shell user expects, instead of a Node stack
 * trace. `--help` or `-h` (before a `--`) prints the usage line and exits 0.
 */
export function parseCommandLine<T extends Omit<ParseArgsConfig, 'args'>>(
  config: T,
  usage: string,
  args: readonly string[] = process.argv.slice(2),
  refuse: (text: string) => never = refuseWithUsageCode,
  help: (text: string) => never = (text) => {
    process.stdout.write(text);
    process.exit(0);
  },
): ReturnType<typeof parseArgs<T & { args: string[] }>> {
  // `--offset -1`, `--stuck-after -5`: the command's own check says what such a value should be, not parseArgs's advice on dashes.
  const given = dashValuesJoined(args, Object.entries(config.options ?? {}).filter(([, option]) => option.type === 'string').map(([name]) => name));
  const end = given.indexOf('--');
  if ((end === -1 ? given : given.slice(0, end)).some((arg) => arg === '--help' || arg === '-h')) return help(`usage: ${usage}\n`);
  try {
    return parseArgs({ ...config, args: given });
  } catch (error) {
    return refuse(`${error instanceof Error ? error.message : String(error)}\nusage: ${usage}\n`);
  }
}

/**
 * `args` with a value that starts with a dash joined to its option
 * (`--offset -1` becomes `--offset=-1`) for each of `options` (string options):
 * parseArgs would take such a value for an option of its own and refuse it
 * with its advice ("argument is ambiguous"), not the command's reason.
 */
export function dashValuesJoined(args: readonly string[], options: readonly string[]): string[] {
  const joined: string[] = [];
  for (let index = 0; index < args.length; index++) {
    const arg = args[index] ?? '';
    if (arg === '--') return [...joined, ...args.slice(index)];
    const value = args[index + 1];
    if (options.some((option) => arg === `--${option}`) && value !== undefined && /^-[^-]/.test(value)) {
      joined.push(`${arg}=${value}`);
      index++;
    } else {
      joined.push(arg);
    }
  }
  return joined;
}

/**
 * A number of minutes an ops command was given (`--stuck-after 30`, `0.5`),
 * refused with exit 2 naming the option when it is anything else. An empty or
 * blank value is refused too: JavaScript reads it as 0, which would take
 * every transfer as stuck.
 */
export function minutesOf(option: string, value: string, refuse: (text: string) => never = refuseWithUsageCode): number {
  const minutes = /^\s*\d+(\.\d+)?\s*$/.test(value) ? Number(value) : Number.NaN;
  if (!Number.isFinite(minutes)) return refuse(`--${option} must be a number of minutes (0 or more), got ${JSON.stringify(value)}\n`);
  return minutes;
}

/**
 * The `--image` values of an ops command (repeatable: `multiple: true`), each
 * an image UID; anything else (a name, an empty value) is refused with exit 2,
 * naming it, before any store is asked.
 */
export function imageUIDsOf(values: readonly string[], refuse: (text: string) => never = refuseWithUsageCode): string[] {
  const pattern = new RegExp(IMAGE_UID_PATTERN);
  const wrong = values.filter((value) => !pattern.test(value));
  if (wrong.length > 0) return refuse(`--image must be an image UID (60 letters and digits), got ${wrong.map((value) => JSON.stringify(value)).join(', ')}\n`);
  return [...new Set(values)];
}

/**
 * For an ops command: an error nothing caught (a store that does not answer,
 * AWS credentials the SDK cannot find) ends it with one line naming the
 * command and the cause, and exit code 1, instead of a Node stack trace.
 * `LOG_LEVEL=debug` keeps the stack, for a bug report.
 */
export function failPlainly(command: string, write: (text: string) => void = (text) => process.stderr.write(text)): void {
  process.on('uncaughtException', (error) => {
    // A configuration problem is listed one line per variable, as a service lists it; any other cause is
    // one line, even where a client library's message spans several.
    const cause = error instanceof ConfigError ? error.message : describeError(error, 1000).replace(/\s*\n\s*/g, ' ');
    write(`${command} failed: ${cause}\n`);
    if (process.env['LOG_LEVEL'] === 'debug' && error instanceof Error && error.stack) write(`${error.stack}\n`);
    process.exit(1);
  });
}

/**
 * The exit code of an operations command that did nothing because another run holds its lock (a rebuild, a re-drive,
 * a reconcile): EX_TEMPFAIL, try again later, so a script or a CronJob tells it from 1 (something left to a person).
 */
export const EXIT_ANOTHER_RUN = 75;

/** An operations command's stop on Ctrl-C or SIGTERM: asked with the first signal, at once with a second one. */
export interface SignalStop {
  /** Aborted by the first SIGINT or SIGTERM: the command stops at its next safe point. */
  readonly signal: AbortSignal;
  /** The signal that asked, if one did. */
  stoppedBy(): NodeJS.Signals | undefined;
  /** The exit code of a command the signal stopped (130, 143; 130 when none did). */
  exitCode(): number;
}

/**
 * Stops a command as its person asks: the first SIGINT or SIGTERM aborts `signal` (and `announce` says what will
 * happen, on stderr), a second one exits at once with 128 + its number, as a SIGKILL would leave things.
 */
export function stopOnSignals(announce: (signal: NodeJS.Signals) => string): SignalStop {
  const stopping = new AbortController();
  let stoppedBy: NodeJS.Signals | undefined;
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => {
      if (stoppedBy !== undefined) process.exit(forcedExitCode(signal));
      stoppedBy = signal;
      process.stderr.write(`${announce(signal)}\n`);
      stopping.abort();
    });
  }
  return { signal: stopping.signal, stoppedBy: () => stoppedBy, exitCode: () => forcedExitCode(stoppedBy ?? 'SIGINT') };
}
