import { spawn } from 'node:child_process';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const cli = fileURLToPath(new URL('./reconcile-cli.ts', import.meta.url));

/** An S3 that takes the connection and never says a word: a hung process, a black-holed network. */
let silent: Server;
const held: Socket[] = [];
let silentEndpoint = '';

beforeAll(async () => {
  silent = createServer((socket) => { held.push(socket); });
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
  silentEndpoint = `http://127.0.0.1:${(silent.address() as AddressInfo).port}`;
});
afterAll(async () => {
  for (const socket of held) socket.destroy();
  await new Promise((resolve) => silent.close(resolve));
});

/** The dry run as a person runs it against the local stack, S3 aside; stopped after 50 s so a hang fails the test instead of holding it. */
function dryRun(): Promise<{ readonly code: number | null; readonly stderr: string; readonly seconds: number }> {
  const started = Date.now();
  const child = spawn(process.execPath, ['--conditions=@orbit/source', '--import', 'tsx', cli, '--dry-run'], {
    stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, AWS_ENDPOINT_URL_S3: silentEndpoint },
  });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => { stderr += chunk.toString(); });
  const cap = setTimeout(() => child.kill('SIGKILL'), 50_000);
  return new Promise((resolve) => child.on('close', (code) => {
    clearTimeout(cap);
    resolve({ code, stderr, seconds: (Date.now() - started) / 1000 });
  }));
}

describe('transfers:reconcile --dry-run against an S3 that never answers', () => {
  it('fails within a minute naming the S3 call and object (found by a review: silent for over ten minutes)', async () => {
    const run = await dryRun();
    expect(run.seconds).toBeLessThan(45);
    // On a stack with nothing to look at in S3 it has nothing to wait for, and finishes at once.
    if (run.code === 1 && run.stderr !== '') expect(run.stderr).toMatch(/^transfers:reconcile failed: HeadObject s3:\/\/\S+: TimeoutError/m);
  }, 60_000);
});
