import { spawnSync } from 'node:child_process';
import { mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from './paths.js';

/**
 * run-tests.sh on a machine missing its Debian tools, with a PATH of fakes: `id` says who runs it, `apt-get`
 * fails, and a `bash` that only says it was reached shows whether the script went on to build and test.
 */
function runTestsScript(uid: number): { status: number | null; stderr: string; stdout: string } {
  const bin = mkdtempSync(join(tmpdir(), 'orbit-fakebin-'));
  for (const tool of ['dirname', 'date']) symlinkSync(`/usr/bin/${tool}`, join(bin, tool));
  writeFileSync(join(bin, 'id'), `#!/bin/sh\necho ${uid}\n`, { mode: 0o755 });
  writeFileSync(join(bin, 'apt-get'), '#!/bin/sh\necho "E: Could not get lock /var/lib/apt/lists/lock" >&2\nexit 100\n', { mode: 0o755 });
  writeFileSync(join(bin, 'bash'), '#!/bin/sh\necho "went on: $*"\n', { mode: 0o755 });
  const result = spawnSync('/bin/bash', [join(REPO_ROOT, 'deploy', 'local', 'run-tests.sh')], { encoding: 'utf8', env: { PATH: bin, HOME: bin }, timeout: 30_000 });
  return { status: result.status, stderr: result.stderr, stdout: result.stdout };
}

describe('npm test on a machine missing its Debian tools', () => {
  it('stops at once when apt-get fails, saying so, instead of running the tests without them', () => {
    const run = runTestsScript(0);
    expect(run.status).toBe(1);
    expect(run.stdout).not.toContain('went on');
    expect(run.stderr).toMatch(/apt-get could not install umoci skopeo docker-registry zstd pass gnupg/);
  });

  it('as a user who is not root, gives the sudo line for every missing package without running apt-get', () => {
    const run = runTestsScript(1000);
    expect(run.status).toBe(1);
    expect(run.stderr).toContain('sudo apt-get install -y umoci skopeo docker-registry zstd pass gnupg');
    expect(run.stderr).not.toContain('Could not get lock');
  });
});
