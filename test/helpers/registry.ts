/**
 * A real OCI registry for tests: Debian's docker-registry (the CNCF
 * distribution server) on a loopback port with storage in a temp folder.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { waitFor } from './index.js';

export interface TestRegistry {
  readonly address: string;
  stop(): Promise<void>;
}

export async function startRegistry(): Promise<TestRegistry> {
  const dir = mkdtempSync(join(tmpdir(), 'orbit-registry-'));
  const port = 15000 + Math.floor(Math.random() * 5000);
  const address = `127.0.0.1:${port}`;
  writeFileSync(join(dir, 'config.yml'), `version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: ${join(dir, 'data')}
http:
  addr: ${address}
`);
  const child: ChildProcess = spawn('docker-registry', ['serve', join(dir, 'config.yml')], { stdio: 'ignore' });
  await waitFor(async () => (await fetch(`http://${address}/v2/`)).ok, { timeoutMs: 20_000, what: 'the test registry' });
  return {
    address,
    stop: async () => {
      child.kill('SIGTERM');
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
