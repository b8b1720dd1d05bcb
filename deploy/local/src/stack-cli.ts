import { ConfigError, OrbitError } from '@orbit/lib';
import { renderExports } from './services/endpoints.js';
import { stackDown, stackEnv, stackStatus, stackUp, stackWipe, startPipeline, stopPipeline } from './services/stack.js';

/** `npm run stack:<command>` (see README): up, down, status, wipe, env, start-pipeline, stop-pipeline. */
const commands: Record<string, () => Promise<void>> = {
  up: () => stackUp(),
  down: async () => {
    await stackDown();
    process.stderr.write('orbit: stack stopped\n');
  },
  wipe: async () => {
    await stackWipe();
    process.stderr.write('orbit: stack stopped, data and logs deleted (install cache kept)\n');
  },
  env: async () => {
    process.stdout.write(`${renderExports(stackEnv())}\n`);
  },
  status: async () => {
    const rows = await stackStatus();
    process.stdout.write(`${'service'.padEnd(20)}${'port'.padEnd(7)}${'pid'.padEnd(9)}${'state'.padEnd(9)}log\n`);
    for (const row of rows) process.stdout.write(`${row.name.padEnd(20)}${String(row.port).padEnd(7)}${String(row.pid ?? '-').padEnd(9)}${row.state.padEnd(9)}${row.log}\n`);
  },
  'start-pipeline': async () => {
    await stackUp();
    await startPipeline();
    process.stderr.write('orbit: pipeline running; gateway at http://127.0.0.1:8080 (npm run stack:status, npm run stack:down)\n');
  },
  'stop-pipeline': () => stopPipeline(),
};

const name = process.argv[2] ?? '';
const command = commands[name];
if (!command) {
  process.stderr.write(`usage: stack <${Object.keys(commands).join('|')}>\n`);
  process.exit(2);
}
command().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`orbit: ${error instanceof OrbitError || error instanceof ConfigError ? error.message : String(error)}\n`);
    process.exit(1);
  },
);
