import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ensureAptPackage, ensureMavenInstall } from './install.js';

/** A `mvn` that copies the given jars into `-Dinstall.dir`'s libs/, or fails half way when MVN_FAIL is set. */
const FAKE_MVN = `#!/bin/sh
for arg in "$@"; do case "$arg" in -Dinstall.dir=*) dir="\${arg#-Dinstall.dir=}";; esac; done
mkdir -p "$dir/libs"
for jar in $MVN_JARS; do printf 'jar' > "$dir/libs/$jar"; done
if [ -n "$MVN_FAIL" ]; then exit 1; fi
`;

describe('ensureMavenInstall', () => {
  let cache: string;
  beforeEach(() => {
    const root = mkdtempSync(join(tmpdir(), 'orbit-install-'));
    cache = join(root, 'cache');
    vi.stubEnv('ORBIT_CACHE_DIR', cache);
    vi.stubEnv('ORBIT_STACK_DIR', join(root, 'stack'));
    const bin = join(root, 'bin');
    mkdirSync(bin);
    writeFileSync(join(bin, 'mvn'), FAKE_MVN, { mode: 0o755 });
    vi.stubEnv('PATH', `${bin}:/usr/bin:/bin`);
  });
  afterEach(() => vi.unstubAllEnvs());

  it('after a version bump, the runtime holds the new jars only (libs/* is the classpath)', () => {
    mkdirSync(join(cache, 'kafka', 'libs'), { recursive: true });
    writeFileSync(join(cache, 'kafka', 'libs', 'kafka-clients-3.8.0.jar'), 'old');
    writeFileSync(join(cache, 'kafka', '.installed'), 'the hash of the pom before the bump');
    vi.stubEnv('MVN_JARS', 'kafka-clients-3.9.1.jar');
    const home = ensureMavenInstall('kafka', 'kafka');
    expect(readdirSync(join(home, 'libs'))).toEqual(['kafka-clients-3.9.1.jar']);
    expect(readdirSync(cache)).toEqual(['kafka']);
  });

  it('an install that fails half way leaves the previous runtime and no marker for the new one', () => {
    mkdirSync(join(cache, 'kafka', 'libs'), { recursive: true });
    writeFileSync(join(cache, 'kafka', 'libs', 'kafka-clients-3.8.0.jar'), 'old');
    writeFileSync(join(cache, 'kafka', '.installed'), 'old hash');
    vi.stubEnv('MVN_JARS', 'kafka-clients-3.9.1.jar');
    vi.stubEnv('MVN_FAIL', '1');
    expect(() => ensureMavenInstall('kafka', 'kafka')).toThrow(expect.objectContaining({ code: 'ORBIT_ERR_STACK_INSTALL' }));
    expect(readdirSync(join(cache, 'kafka', 'libs'))).toEqual(['kafka-clients-3.8.0.jar']);
    expect(readFileSync(join(cache, 'kafka', '.installed'), 'utf8')).toBe('old hash');
    vi.stubEnv('MVN_FAIL', '');
    ensureMavenInstall('kafka', 'kafka');
    expect(readdirSync(join(cache, 'kafka', 'libs'))).toEqual(['kafka-clients-3.9.1.jar']);
  });

  it('says to install Maven when mvn is missing', () => {
    vi.stubEnv('PATH', mkdtempSync(join(tmpdir(), 'orbit-empty-path-')));
    expect(() => ensureMavenInstall('dynamodb', 'dynamodb')).toThrow(/mvn is not installed.*install Maven/);
    expect(existsSync(join(cache, 'dynamodb', '.installed'))).toBe(false);
  });
});

describe('ensureAptPackage as a user who is not root', () => {
  afterEach(() => vi.restoreAllMocks());

  it('names the package and the sudo line instead of running apt-get', () => {
    vi.spyOn(process, 'getuid').mockReturnValue(1000);
    expect(() => ensureAptPackage('mysql', 'orbit-test-package', ['orbit-no-such-command'])).toThrow(
      expect.objectContaining({ code: 'ORBIT_ERR_STACK_INSTALL', packages: ['orbit-test-package'], message: expect.stringContaining('sudo apt-get install -y orbit-test-package') as unknown }),
    );
  });
});
