import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { StackStartError } from './errors.js';
import { cacheDir, logFile, REPO_ROOT } from './paths.js';

/** MinIO has no tagged Go module versions; this pseudo-version is the one verified here. */
export const MINIO_MODULE = 'github.com/minio/minio@v0.0.0-20260212201848-7aac2a2c5b7c';

function run(service: string, command: string, args: readonly string[], env: Record<string, string> = {}): void {
  const log = logFile(`install-${service}`);
  mkdirSync(join(log, '..'), { recursive: true });
  process.stderr.write(`orbit: installing ${service} (${command} ${args.slice(0, 3).join(' ')} ...), log: ${log}\n`);
  const result = spawnSync(command, [...args], { env: { ...process.env, ...env }, encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
  writeFileSync(log, `${result.stdout ?? ''}\n${result.stderr ?? ''}`);
  if (result.status !== 0) {
    const tail = `${result.stdout ?? ''}\n${result.stderr ?? ''}`.trim().split('\n').slice(-30).join('\n');
    throw new StackStartError(service, `install failed (${command} exited ${result.status ?? result.error?.message})`, log, tail);
  }
}

/** Maven copies a service's runtime into the cache; a marker with the pom's hash makes a changed pom re-install. */
export function ensureMavenInstall(service: 'kafka' | 'dynamodb' | 'apicurio'): string {
  const pom = join(REPO_ROOT, 'deploy', 'local', 'maven', `${service}.pom.xml`);
  const target = join(cacheDir(), service);
  const marker = join(target, '.installed');
  const hash = createHash('sha256').update(readFileSync(pom)).digest('hex');
  if (existsSync(marker) && readFileSync(marker, 'utf8') === hash) return target;
  run(service, 'mvn', ['-B', '-q', '-f', pom, `-Dinstall.dir=${target}`, 'package']);
  writeFileSync(marker, hash);
  return target;
}

export function ensureMinio(): string {
  const binary = join(cacheDir(), 'bin', 'minio');
  const marker = `${binary}.module`;
  if (existsSync(binary) && existsSync(marker) && readFileSync(marker, 'utf8') === MINIO_MODULE) return binary;
  run('s3', 'go', ['install', MINIO_MODULE], { GOBIN: join(cacheDir(), 'bin'), CGO_ENABLED: '0' });
  writeFileSync(marker, MINIO_MODULE);
  return binary;
}

function which(binary: string): string | undefined {
  for (const dir of [...(process.env['PATH'] ?? '').split(':'), '/usr/sbin', '/usr/bin', '/sbin']) {
    if (dir && existsSync(join(dir, binary))) return join(dir, binary);
  }
  return undefined;
}

export function ensureMariadb(): { server: string; installDb: string; client: string } {
  if (!which('mariadbd') || !which('mariadb-install-db')) {
    run('mysql', 'apt-get', ['update', '-q']);
    run('mysql', 'apt-get', ['install', '-y', '-q', 'mariadb-server', 'mariadb-client'], { DEBIAN_FRONTEND: 'noninteractive' });
  }
  const server = which('mariadbd');
  const installDb = which('mariadb-install-db');
  const client = which('mariadb') ?? which('mysql');
  if (!server || !installDb || !client) throw new StackStartError('mysql', 'mariadb-server installed but mariadbd not found', logFile('install-mysql'), '');
  return { server, installDb, client };
}

/** `java -version` prints e.g. `openjdk version "25.0.1"` or `"17.0.15"`; old JDKs `"1.8.0_392"`. */
export function javaMajorOf(versionOutput: string): number | undefined {
  const match = /version "(\d+)(?:\.(\d+))?/.exec(versionOutput);
  if (!match) return undefined;
  const first = Number(match[1]);
  return first === 1 && match[2] !== undefined ? Number(match[2]) : first;
}

/** Apicurio 3.3 is built for Java 21: the newest JDK >= 21 on the machine. */
export function findJava(minMajor: number): string {
  const candidates = [
    ...(process.env['ORBIT_JAVA21_HOME'] ? [join(process.env['ORBIT_JAVA21_HOME'], 'bin', 'java')] : []),
    ...(existsSync('/usr/lib/jvm') ? readdirSync('/usr/lib/jvm').map((dir) => join('/usr/lib/jvm', dir, 'bin', 'java')) : []),
    ...(process.env['JAVA_HOME'] ? [join(process.env['JAVA_HOME'], 'bin', 'java')] : []),
    'java',
  ];
  let best: { path: string; major: number } | undefined;
  for (const path of candidates) {
    if (path !== 'java' && !existsSync(path)) continue;
    // `java -version` writes to stderr.
    const probe = spawnSync(path, ['-version'], { encoding: 'utf8' });
    const major = javaMajorOf(`${probe.stdout ?? ''}${probe.stderr ?? ''}`);
    if (major !== undefined && major >= minMajor && (!best || major > best.major)) best = { path, major };
  }
  if (!best) throw new StackStartError('schema-registry', `needs a JDK >= ${minMajor} (none under /usr/lib/jvm; set ORBIT_JAVA21_HOME)`, '(none)', '');
  return best.path;
}
