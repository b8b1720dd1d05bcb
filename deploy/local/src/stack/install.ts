import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { appendFileSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { StackError } from './errors.js';
import { readTail } from './log-tail.js';
import { cacheDir, logFile, REPO_ROOT } from './paths.js';

/**
 * MinIO publishes no tagged Go module versions, so `@latest` is whatever was
 * pushed last; this pseudo-version is the one verified with the stack.
 * ORBIT_MINIO_VERSION=latest opts into the moving target.
 */
export const MINIO_VERSION = 'v0.0.0-20260212201848-7aac2a2c5b7c';

/** What to install when an installer itself is missing: spawn's ENOENT alone does not say. */
const INSTALLER_PACKAGES: Readonly<Record<string, string>> = {
  mvn: 'Maven (apt-get install maven)',
  go: 'Go (https://go.dev/doc/install, or apt-get install golang-go)',
  'apt-get': 'the packages this needs by hand (this is not a Debian machine)',
};

/** Runs an installer with its output in `logs/install-<service>.log`; failures carry the tail. */
function runInstaller(service: string, command: string, args: readonly string[], env: Record<string, string> = {}): void {
  const log = logFile(`install-${service}`);
  mkdirSync(dirname(log), { recursive: true });
  process.stderr.write(`orbit: installing ${service}: ${command} ${args.join(' ')} (log: ${log})\n`);
  const result = spawnSync(command, [...args], {
    cwd: REPO_ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    maxBuffer: 512 * 1024 * 1024,
  });
  appendFileSync(log, `--- ${new Date().toISOString()} ${command} ${args.join(' ')}\n${result.stdout?.toString() ?? ''}${result.stderr?.toString() ?? ''}${result.error ? `\n${result.error.message}\n` : ''}`);
  if ((result.error as NodeJS.ErrnoException | undefined)?.code === 'ENOENT') {
    const name = command.split('/').at(-1) ?? command;
    throw new StackError('ORBIT_ERR_STACK_INSTALL', service, `${name} is not installed (not on PATH): install ${INSTALLER_PACKAGES[name] ?? name}, then run this again`, { log });
  }
  if (result.status !== 0) {
    const why = result.error ? result.error.message : `exited ${result.status ?? result.signal}`;
    throw new StackError('ORBIT_ERR_STACK_INSTALL', service, `install failed: ${command} ${why}`, { log, tail: readTail(log) });
  }
}

export const pomHash = (pom: string): string => createHash('sha256').update(readFileSync(pom)).digest('hex');

/**
 * Maven copies a service's runtime into the cache. The marker holds the pom's
 * hash: a changed pom (a version bump) installs again, an unchanged one costs a file read.
 * Each install fills a fresh folder that then replaces the old one whole: copied
 * over the old one, a bump left both versions' jars on the `libs/*` classpath, and
 * a jar cut short by an interrupted copy was never copied again (it looked newer).
 */
export function ensureMavenInstall(service: string, pomName: 'kafka' | 'dynamodb' | 'apicurio'): string {
  const pom = join(REPO_ROOT, 'deploy', 'local', 'maven', `${pomName}.pom.xml`);
  const home = join(cacheDir(), pomName);
  const marker = join(home, '.installed');
  const hash = pomHash(pom);
  if (existsSync(marker) && readFileSync(marker, 'utf8').trim() === hash) return home;
  const fresh = `${home}.partial`;
  const old = `${home}.old`;
  rmSync(fresh, { recursive: true, force: true });
  mkdirSync(fresh, { recursive: true });
  // -C: a download whose checksum does not match fails the install instead of landing in the runtime.
  runInstaller(service, 'mvn', ['-B', '-q', '-C', '-f', pom, `-Dinstall.dir=${fresh}`, 'package']);
  writeFileSync(join(fresh, '.installed'), hash);
  rmSync(old, { recursive: true, force: true });
  if (existsSync(home)) renameSync(home, old);
  renameSync(fresh, home);
  rmSync(old, { recursive: true, force: true });
  return home;
}

function goBinary(): string {
  return which('go') ?? (existsSync('/usr/local/go/bin/go') ? '/usr/local/go/bin/go' : 'go');
}

/**
 * A Go program built with `go install module@version` into the cache's bin
 * (only the Go module proxy is reachable: no release downloads). The marker
 * beside it holds the module it was built from: another version builds again.
 * `notice` is printed before a build that takes long.
 */
export function ensureGoTool(service: string, binaryName: string, module: string, notice?: string): string {
  const binary = join(cacheDir(), 'bin', binaryName);
  const marker = `${binary}.module`;
  if (existsSync(binary) && existsSync(marker) && readFileSync(marker, 'utf8').trim() === module) return binary;
  if (notice !== undefined) process.stderr.write(`orbit: ${notice}\n`);
  runInstaller(service, goBinary(), ['install', module], { GOBIN: join(cacheDir(), 'bin'), CGO_ENABLED: '0', GOFLAGS: '-buildvcs=false' });
  // go install names the program after its package's folder, `cmd` for some (docker-credential-helpers' pass/cmd).
  const installed = join(cacheDir(), 'bin', module.replace(/@.*$/, '').split('/').at(-1) ?? binaryName);
  if (installed !== binary) renameSync(installed, binary);
  writeFileSync(marker, module);
  return binary;
}

/**
 * A Go program of this repository (`sourceDir`, its own go.mod) built into
 * the cache's bin with its dependencies from the module proxy. The marker
 * holds a hash of its sources: an edit builds again.
 */
export function ensureGoProgram(service: string, binaryName: string, sourceDir: string): string {
  const binary = join(cacheDir(), 'bin', binaryName);
  const marker = `${binary}.sources`;
  const dir = join(REPO_ROOT, sourceDir);
  const sources = readdirSync(dir).filter((file) => file.endsWith('.go') || file === 'go.mod' || file === 'go.sum').sort();
  const hash = createHash('sha256');
  for (const file of sources) hash.update(`${file}\0`).update(readFileSync(join(dir, file)));
  const digest = hash.digest('hex');
  if (existsSync(binary) && existsSync(marker) && readFileSync(marker, 'utf8').trim() === digest) return binary;
  runInstaller(service, goBinary(), ['-C', dir, 'build', '-o', binary, '.'], { CGO_ENABLED: '0', GOFLAGS: '-buildvcs=false' });
  writeFileSync(marker, digest);
  return binary;
}

/** Built from source with Go: MinIO ships no Maven artifact and no Debian package. */
export function ensureMinio(service: string): string {
  const module = `github.com/minio/minio@${process.env['ORBIT_MINIO_VERSION'] || MINIO_VERSION}`;
  return ensureGoTool(service, 'minio', module, 'building MinIO from source; this takes several minutes once per machine');
}

/** Debian installs the server daemons in /usr/sbin, often not on a non-root PATH. */
export function which(binary: string): string | undefined {
  const dirs = [...(process.env['PATH'] ?? '').split(':'), '/usr/sbin', '/usr/bin', '/sbin', '/usr/local/bin'];
  for (const dir of dirs) if (dir && existsSync(join(dir, binary))) return join(dir, binary);
  return undefined;
}

/** Debian packages that are missing while apt-get cannot install them (not root): what the developer installs with sudo. */
export class AptPackagesMissing extends StackError {
  readonly packages: readonly string[];

  constructor(service: string, packages: readonly string[]) {
    super('ORBIT_ERR_STACK_INSTALL', service,
      `${packages.join(', ')} ${packages.length === 1 ? 'is' : 'are'} not installed and apt-get needs root: sudo apt-get install -y ${packages.join(' ')}, then run this again`);
    this.packages = packages;
  }
}

const isRoot = (): boolean => process.getuid?.() === 0;

/** Commands from one Debian package, installed with apt-get when any is missing; their paths, in order. */
export function ensureAptPackage(service: string, debianPackage: string, commands: readonly string[]): string[] {
  if (commands.some((command) => !which(command))) {
    if (!isRoot()) throw new AptPackagesMissing(service, [debianPackage]);
    runInstaller(service, 'apt-get', ['update', '-q']);
    // Waits for another apt-get (npm test's own tools, another checkout's up) instead of failing on its lock.
    runInstaller(service, 'apt-get', ['install', '-y', '-q', '-o', 'DPkg::Lock::Timeout=300', debianPackage], { DEBIAN_FRONTEND: 'noninteractive' });
  }
  return commands.map((command) => {
    const path = which(command);
    if (!path) throw new StackError('ORBIT_ERR_STACK_INSTALL', service, `${debianPackage} is installed but ${command} is missing`, { log: logFile(`install-${service}`) });
    return path;
  });
}

export interface MariadbTools {
  readonly server: string;
  readonly installDb: string;
}

export function ensureMariadb(service: string): MariadbTools {
  const [server = '', installDb = ''] = ensureAptPackage(service, 'mariadb-server', ['mariadbd', 'mariadb-install-db']);
  return { server, installDb };
}
