/**
 * A real OCI registry for tests: Debian's docker-registry (the CNCF
 * distribution server) on a loopback port with storage in a temp folder,
 * optionally behind htpasswd (Basic) authentication.
 */
import bcrypt from 'bcryptjs';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { waitFor } from './index.js';

export interface TestRegistry {
  readonly address: string;
  stop(): Promise<void>;
}

/** `users`: name -> password; the registry then refuses anyone else (401 with a Basic challenge). */
export async function startRegistry(options: { users?: Readonly<Record<string, string>> } = {}): Promise<TestRegistry> {
  const dir = mkdtempSync(join(tmpdir(), 'orbit-registry-'));
  const port = 15000 + Math.floor(Math.random() * 5000);
  const address = `127.0.0.1:${port}`;
  const users = Object.entries(options.users ?? {});
  // The distribution server reads bcrypt htpasswd entries only.
  if (users.length > 0) writeFileSync(join(dir, 'htpasswd'), users.map(([name, password]) => `${name}:${bcrypt.hashSync(password, 8)}`).join('\n'));
  const auth = users.length > 0 ? `auth:
  htpasswd:
    realm: orbit-test
    path: ${join(dir, 'htpasswd')}
` : '';
  writeFileSync(join(dir, 'config.yml'), `version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: ${join(dir, 'data')}
${auth}http:
  addr: ${address}
`);
  const child: ChildProcess = spawn('docker-registry', ['serve', join(dir, 'config.yml')], { stdio: 'ignore' });
  await waitFor(async () => [200, 401].includes((await fetch(`http://${address}/v2/`)).status), { timeoutMs: 20_000, what: 'the test registry' });
  return {
    address,
    stop: async () => {
      child.kill('SIGTERM');
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * Pulls `reference` whole with skopeo (a client Orbit did not write: every
 * blob fetched and checked against the manifest) into a scratch layout and
 * answers the digest of the manifest it got. Plain HTTP, as the local stack's
 * registry speaks.
 */
export function pullWithSkopeo(reference: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'orbit-pulled-'));
  try {
    execFileSync('skopeo', ['copy', '--quiet', '--src-tls-verify=false', `docker://${reference}`, `oci:${join(dir, 'layout')}:pulled`], { stdio: ['ignore', 'ignore', 'pipe'] });
    const raw = execFileSync('skopeo', ['inspect', '--raw', '--tls-verify=false', `docker://${reference}`]);
    return `sha256:${createHash('sha256').update(raw).digest('hex')}`;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
