import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { findJava, javaMajorOf, jdkTool, pickJava } from './java.js';

const openjdk17 = 'openjdk version "17.0.15" 2025-04-15\nOpenJDK Runtime Environment (build 17.0.15+6-Debian-1deb12u1)';
const temurin25 = 'openjdk version "25.0.1" 2025-10-21 LTS\nOpenJDK Runtime Environment Temurin-25.0.1+8 (build 25.0.1+8-LTS)';
const temurin21 = 'openjdk version "21" 2023-09-19\nOpenJDK Runtime Environment Temurin-21+35 (build 21+35)';
const java8 = 'java version "1.8.0_392"\nJava(TM) SE Runtime Environment (build 1.8.0_392-b08)';

describe('javaMajorOf', () => {
  it('reads modern, bare and legacy version strings', () => {
    expect(javaMajorOf(openjdk17)).toBe(17);
    expect(javaMajorOf(temurin25)).toBe(25);
    expect(javaMajorOf(temurin21)).toBe(21);
    expect(javaMajorOf(java8)).toBe(8);
    expect(javaMajorOf('bash: java: command not found')).toBeUndefined();
  });
});

describe('pickJava', () => {
  it('skips JDKs older than required and takes the newest', () => {
    expect(pickJava([
      { java: '/usr/lib/jvm/java-17/bin/java', versionOutput: openjdk17 },
      { java: '/usr/lib/jvm/temurin-21/bin/java', versionOutput: temurin21 },
      { java: '/usr/lib/jvm/temurin-25/bin/java', versionOutput: temurin25 },
    ], 21)).toBe('/usr/lib/jvm/temurin-25/bin/java');
  });

  it('prefers the earlier candidate on a tie, so an explicit setting wins', () => {
    expect(pickJava([
      { java: '/opt/chosen/bin/java', versionOutput: temurin21 },
      { java: '/usr/lib/jvm/other-21/bin/java', versionOutput: temurin21 },
    ], 21)).toBe('/opt/chosen/bin/java');
  });

  it('finds nothing when only old or broken JDKs exist', () => {
    expect(pickJava([
      { java: 'java', versionOutput: openjdk17 },
      { java: '/usr/lib/jvm/broken/bin/java', versionOutput: '' },
      { java: '/usr/lib/jvm/j8/bin/java', versionOutput: java8 },
    ], 21)).toBeUndefined();
  });
});

describe('pickJava, first', () => {
  it('takes the first candidate new enough, whatever comes after it', () => {
    expect(pickJava([
      { java: 'java', versionOutput: 'bash: java: command not found' },
      { java: '/opt/jdk17/bin/java', versionOutput: openjdk17 },
      { java: '/usr/lib/jvm/temurin-25/bin/java', versionOutput: temurin25 },
    ], 17, 'first')).toBe('/opt/jdk17/bin/java');
  });
});

describe('findJava', () => {
  afterEach(() => vi.unstubAllEnvs());

  /** A `java` that only says its version, as a JDK's does, in a home of its own. */
  function fakeJdk(version: string): string {
    const home = mkdtempSync(join(tmpdir(), 'orbit-jdk-'));
    mkdirSync(join(home, 'bin'));
    writeFileSync(join(home, 'bin', 'java'), `#!/bin/sh\necho 'openjdk version "${version}" 2030-01-01' >&2\n`, { mode: 0o755 });
    return home;
  }

  it('finds a JDK known only by JAVA_HOME when no java is on PATH, and its keytool beside it', () => {
    vi.stubEnv('PATH', mkdtempSync(join(tmpdir(), 'orbit-empty-path-')));
    vi.stubEnv('JAVA_HOME', fakeJdk('39'));
    vi.stubEnv('ORBIT_JAVA21_HOME', '');
    const java = findJava(39, 'kafka', 'first');
    expect(java).toBe(join(process.env['JAVA_HOME'] ?? '', 'bin', 'java'));
    expect(jdkTool(java, 'keytool')).toBe(join(process.env['JAVA_HOME'] ?? '', 'bin', 'keytool'));
    expect(jdkTool('java', 'keytool')).toBe('keytool');
  });

  it('answers each minimum with a JDK that meets it, not the one found for a lower minimum', () => {
    vi.stubEnv('ORBIT_JAVA21_HOME', '');
    vi.stubEnv('JAVA_HOME', fakeJdk('40'));
    expect(findJava(40, 'kafka', 'first')).toBe(join(process.env['JAVA_HOME'] ?? '', 'bin', 'java'));
    vi.stubEnv('ORBIT_JAVA21_HOME', fakeJdk('41'));
    expect(findJava(41, 'schema-registry')).toBe(join(process.env['ORBIT_JAVA21_HOME'] ?? '', 'bin', 'java'));
  });
});
