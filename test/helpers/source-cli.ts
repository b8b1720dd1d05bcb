/** Runs an ops command from its TypeScript source as a person runs it. Side-effect free. */
import { spawn } from 'node:child_process';

export interface CliRun {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly seconds: number;
}

/** `cli` (a .ts entry point) with `args` and `env` over this process's, killed after `capMs` so a hang fails the test instead of holding it. */
export function runSourceCli(cli: string, args: readonly string[], env: Readonly<Record<string, string>>, capMs: number): Promise<CliRun> {
  const started = Date.now();
  const child = spawn(process.execPath, ['--conditions=@orbit/source', '--import', 'tsx', cli, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env },
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => { stdout += chunk.toString(); });
  child.stderr.on('data', (chunk: Buffer) => { stderr += chunk.toString(); });
  const cap = setTimeout(() => child.kill('SIGKILL'), capMs);
  return new Promise((resolve) => child.on('close', (code) => {
    clearTimeout(cap);
    resolve({ code, stdout, stderr, seconds: (Date.now() - started) / 1000 });
  }));
}
