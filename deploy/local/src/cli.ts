import { OrbitError, parseCommandLine } from '@orbit/lib';
import { assertNoPipelineRunning, formatStatus, formatTail, problemsReport, renderExports, stackDown, stackEnv, STACK_ENV_UNSET, stackStatus, stackUp, stackWipe, startPipeline, stopPipeline, StackError, StackErrors } from './stack/index.js';

/** `npm run stack:<command>`; progress goes to stderr so that `env` output can be eval'd. */
const say = (line: string): void => void process.stderr.write(`orbit: ${line}\n`);

/** What each command does, for its `--help`: a help that did the command instead (wipe!) deleted a stack's data. */
const purposes: Record<string, string> = {
  up: 'install what is missing, start what is down, wait for health, provision',
  down: 'stop everything (services first, then infrastructure)',
  status: 'each service: port, pid, state, log file',
  wipe: 'stop everything and delete the stack folder (data and logs); the install cache stays',
  env: 'print the export lines of every endpoint and credential, for eval',
  'start-pipeline': 'stack up, then start the six pipeline services',
  'assert-no-pipeline': 'fail (exit 1) when the pipeline is running in this stack folder',
  problems: 'each service\'s state and the warnings and errors logged since <since epoch ms> (default: all)',
  'stop-pipeline': 'stop the six pipeline services, leave the stores running',
};

let sinceMs = 0;

const commands: Record<string, () => Promise<void>> = {
  up: async () => {
    const began = Date.now();
    await stackUp({ log: say });
    say(`stack up in ${((Date.now() - began) / 1000).toFixed(1)} s; endpoints: eval "$(npm run --silent stack:env)"`);
  },
  down: async () => {
    await stackDown(undefined, say);
    say('stack stopped');
  },
  status: async () => {
    process.stdout.write(`${formatStatus(await stackStatus())}\n`);
  },
  wipe: async () => {
    await stackWipe(say);
    say('stack stopped; data and logs deleted (install cache kept)');
  },
  env: async () => {
    process.stdout.write(`${renderExports(stackEnv(), STACK_ENV_UNSET)}\n`);
  },
  'start-pipeline': async () => {
    await stackUp({ log: say });
    await startPipeline(say);
    say('pipeline running; gateway at http://127.0.0.1:8080 (npm run stack:status; npm stop stops the six services, npm run stack:down everything)');
  },
  /** What `npm test` runs first: it refuses to take over the stack while npm start's pipeline runs in it. */
  'assert-no-pipeline': async () => {
    assertNoPipelineRunning();
  },
  /** `problems <since epoch ms>`: what npm test prints after a failed test, for a CI that keeps no files. */
  problems: async () => {
    process.stdout.write(`${await problemsReport(sinceMs)}\n`);
  },
  'stop-pipeline': async () => {
    await stopPipeline(say);
    say('pipeline stopped');
  },
};

function describe(error: unknown): string {
  if (error instanceof StackErrors) return error.errors.map(describe).join('\n');
  if (error instanceof StackError) {
    const lines = [`orbit: FAILED ${error.message} [${error.code}]`];
    if (error.log) lines.push(`  log: ${error.log}`);
    if (error.tail !== undefined) lines.push('  last lines:', formatTail(error.tail));
    return lines.join('\n');
  }
  if (error instanceof OrbitError) return `orbit: FAILED ${error.message} [${error.code}]`;
  return `orbit: FAILED ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`;
}

const name = process.argv[2] ?? '';
const command = commands[name];
if (!command) {
  process.stderr.write(`usage: stack <${Object.keys(commands).join('|')}>\n`);
  process.exit(2);
}
// Before the command runs: `--help` says what it does, and an option or word it does not take is refused (exit 2).
const NPM_SCRIPTS = new Set(['up', 'down', 'status', 'wipe', 'env']);
const invocation = NPM_SCRIPTS.has(name) ? `npm run stack:${name}` : `node deploy/local/dist/cli.js ${name}`;
const usage = `${invocation}${name === 'problems' ? ' [<since epoch ms>]' : ''}   (${purposes[name] ?? name})`;
const { positionals } = parseCommandLine({ options: {}, allowPositionals: name === 'problems' }, usage, process.argv.slice(3));
if (name === 'problems') {
  const [since, ...extra] = positionals;
  if (extra.length > 0 || (since !== undefined && !/^\d+$/.test(since))) {
    process.stderr.write(`<since epoch ms> must be one whole number of milliseconds, got ${JSON.stringify(positionals.join(' '))}\nusage: ${usage}\n`);
    process.exit(2);
  }
  sinceMs = Number(since ?? 0);
}
try {
  await command();
  // Probes leave keep-alive sockets and kafkajs timers behind; the command is done, so is the process.
  process.exit(0);
} catch (error) {
  process.stderr.write(`${describe(error)}\n`);
  process.exit(1);
}
