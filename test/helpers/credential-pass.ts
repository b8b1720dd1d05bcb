/**
 * A pass password store for docker-credential-pass, in a folder of its own
 * with a gpg key of its own (no passphrase), and the process environment set
 * so that helpers Orbit runs find the helper, the store and the key.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { credentialPassBinary } from './image-tools.js';

export interface PassStore {
  /** What `docker login` does with credsStore "pass": the helper stores them. */
  store(registry: string, username: string, secret: string): void;
  /** The environment back as it was, the agent stopped, the folder gone. */
  close(): void;
}

const CHANGED = ['PATH', 'GNUPGHOME', 'PASSWORD_STORE_DIR'] as const;

export function openPassStore(): PassStore {
  const helper = credentialPassBinary();
  const folder = mkdtempSync(join(tmpdir(), 'orbit-pass-'));
  const gnupg = join(folder, 'gnupg');
  mkdirSync(gnupg, { mode: 0o700 });
  const before = Object.fromEntries(CHANGED.map((name) => [name, process.env[name]]));
  process.env['GNUPGHOME'] = gnupg;
  process.env['PASSWORD_STORE_DIR'] = join(folder, 'store');
  process.env['PATH'] = `${dirname(helper)}${delimiter}${process.env['PATH'] ?? ''}`;
  const quiet = { stdio: 'pipe' as const };
  execFileSync('gpg', ['--batch', '--passphrase', '', '--quick-gen-key', 'orbit-test@example.invalid', 'default', 'default', 'never'], quiet);
  const fingerprint = /^fpr:+([0-9A-F]+):/m.exec(execFileSync('gpg', ['--list-keys', '--with-colons'], { encoding: 'utf8' }))?.[1];
  if (fingerprint === undefined) throw new Error('gpg made no key for the test password store');
  execFileSync('pass', ['init', fingerprint], quiet);
  return {
    store(registry, username, secret) {
      execFileSync(helper, ['store'], { ...quiet, input: JSON.stringify({ ServerURL: registry, Username: username, Secret: secret }) });
    },
    close() {
      execFileSync('gpgconf', ['--kill', 'gpg-agent'], quiet);
      for (const name of CHANGED) {
        const value = before[name];
        if (value === undefined) Reflect.deleteProperty(process.env, name);
        else process.env[name] = value;
      }
      rmSync(folder, { recursive: true, force: true });
    },
  };
}
