import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { askCredentialHelper } from './credential-helper.js';

// Helpers as small scripts: the protocol's every answer, including the broken ones no real helper gives on purpose.
const bin = mkdtempSync(join(tmpdir(), 'orbit-helpers-'));
afterAll(() => rmSync(bin, { recursive: true, force: true }));
function helper(name: string, script: string): void {
  const path = join(bin, `docker-credential-${name}`);
  writeFileSync(path, `#!/bin/sh\n${script}\n`);
  chmodSync(path, 0o755);
}
helper('echo', 'test "$1" = get || exit 9\nurl=$(cat)\nprintf \'{"ServerURL":"%s","Username":"user@%s","Secret":"pw"}\' "$url" "$url"');
helper('none', 'echo "credentials not found in native keychain"; exit 1');
helper('broken', 'echo "no AWS credentials in the environment" >&2; exit 3');
helper('hangs', 'exec sleep 20');
helper('babbles', 'echo hello');
helper('identity', 'echo \'{"ServerURL":"r","Username":"<token>","Secret":"refresh"}\'');
const ask = (name: string, registry = 'r.example:5000', timeoutMs?: number) => askCredentialHelper(name, registry, { path: `${bin}${delimiter}${process.env['PATH'] ?? ''}`, ...(timeoutMs === undefined ? {} : { timeoutMs }) });

describe('askCredentialHelper', () => {
  it('runs docker-credential-<name> get with the registry on stdin (Docker Hub under the name docker login stores it)', async () => {
    await expect(ask('echo')).resolves.toEqual({ username: 'user@r.example:5000', password: 'pw' });
    await expect(ask('echo', 'docker.io')).resolves.toEqual({ username: 'user@https://index.docker.io/v1/', password: 'pw' });
  });

  it('answers none when the helper has none: the registry is asked anonymously', async () => {
    await expect(ask('none')).resolves.toBeUndefined();
  });

  it('takes a `<token>` answer as an identity token (an OAuth2 refresh token), not as a user and password', async () => {
    await expect(ask('identity')).resolves.toEqual({ username: '', password: '', identityToken: 'refresh' });
  });

  it('refuses, naming the helper and why, when it is missing, fails, hangs or babbles', async () => {
    await expect(ask('missing')).rejects.toThrow(/docker-credential-missing is not on PATH \(asked for r\.example:5000\)/);
    await expect(ask('broken')).rejects.toMatchObject({ reasonCode: 'REGISTRY_UNAUTHORIZED', message: expect.stringMatching(/docker-credential-broken failed \(exit 3\): no AWS credentials/) });
    const began = Date.now();
    await expect(ask('hangs', 'r.example', 300)).rejects.toThrow(/docker-credential-hangs gave no answer within 0\.3 s/);
    expect(Date.now() - began).toBeLessThan(5_000);
    await expect(ask('babbles')).rejects.toThrow(/answered with no \{"Username","Secret"\} JSON/);
  });
});
