import { OrbitError } from '@orbit/lib';
import { assertNoPipelineRunning, formatStatus, formatTail, problemsReport, renderExports, stackDown, stackEnv, STACK_ENV_UNSET, stackStatus, stackUp, stackWipe, startPipeline, stopPipeline, StackError, StackErrors } from './stack/index.js';

/** `npm run stack:<command>`; progress goes to stderr so that `env` output can be eval'd. */
const say = (line: string): void => void process.stderr.write(`orbit: ${line}\n`);

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
    const since = Number(process.argv[3] ?? 0);
    process.stdout.write(`${await problemsReport(Number.isFinite(since) ? since : 0)}\n`);
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
try {
  await command();
  // Probes leave keep-alive sockets and kafkajs timers behind; the command is done, so is the process.
  process.exit(0);
} catch (error) {
  process.stderr.write(`${describe(error)}\n`);
  process.exit(1);
}
