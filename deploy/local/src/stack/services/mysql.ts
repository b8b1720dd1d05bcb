import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import mysql from 'mysql2/promise';
import { MYSQL_DATABASE, MYSQL_PASSWORD, MYSQL_TLS_USER, MYSQL_USER, MYSQL_X509_USER, mysqlTlsFiles, type MysqlTlsFiles } from '../endpoints.js';
import { StackError } from '../errors.js';
import { ensureAptPackage, ensureMariadb } from '../install.js';
import { dataDir, logFile, mysqlSocket, runDir } from '../paths.js';
import { readPorts } from '../ports.js';
import { mysqlAnswers } from '../probes.js';
import type { ServiceDefinition } from './types.js';

const NAME = 'mysql';

/** What a user must connect with: anything, TLS, or TLS with a client certificate the server's CA signed. */
export type TransportRequirement = 'NONE' | 'SSL' | 'X509';

/**
 * Rebuilds project into side databases (viewport_*) before swapping them in, so the grant covers those too.
 * The requirement is set again on every start, so a user made before it keeps up.
 */
export function accountStatements(database: string, user: string, password: string, requirement: TransportRequirement = 'NONE'): string[] {
  const hosts = ['127.0.0.1', 'localhost'];
  const escaped = database.replaceAll('_', '\\_');
  return [
    `CREATE DATABASE IF NOT EXISTS \`${database}\``,
    ...hosts.flatMap((host) => [
      `CREATE USER IF NOT EXISTS '${user}'@'${host}' IDENTIFIED BY '${password}'`,
      `ALTER USER '${user}'@'${host}' REQUIRE ${requirement}`,
    ]),
    ...hosts.flatMap((host) => [
      `GRANT ALL PRIVILEGES ON \`${escaped}\`.* TO '${user}'@'${host}'`,
      `GRANT ALL PRIVILEGES ON \`${escaped}\\_%\`.* TO '${user}'@'${host}'`,
    ]),
  ];
}

async function ensureAccount(): Promise<void> {
  // Root has no password with --auth-root-authentication-method=normal, and the socket is only ours.
  const connection = await mysql.createConnection({ socketPath: mysqlSocket(), user: 'root' });
  try {
    // The plain user for tests and tools; the TLS ones show a client that asks for TLS gets it, and the services use the last.
    const accounts = [[MYSQL_USER, 'NONE'], [MYSQL_TLS_USER, 'SSL'], [MYSQL_X509_USER, 'X509']] as const;
    for (const [user, requirement] of accounts) {
      for (const statement of accountStatements(MYSQL_DATABASE, user, MYSQL_PASSWORD, requirement)) await connection.query(statement);
    }
  } finally {
    await connection.end();
  }
}

/**
 * A CA of the local stack's own, made once with openssl, and the server's and one client's certificates it signs:
 * the server's names 127.0.0.1 and localhost, so a client that checks names (MYSQL_TLS) accepts it.
 */
function certificatesOnce(files: MysqlTlsFiles): void {
  if ([files.ca, files.serverCert, files.serverKey, files.clientCert, files.clientKey].every((file) => existsSync(file))) return;
  const [openssl = 'openssl'] = ensureAptPackage(NAME, 'openssl', ['openssl']);
  mkdirSync(files.dir, { recursive: true });
  const run = (args: readonly string[]): void => {
    const result = spawnSync(openssl, [...args], { encoding: 'utf8', timeout: 60_000 });
    if (result.status !== 0) throw new StackError('ORBIT_ERR_STACK_START', NAME, `openssl ${args[0] ?? ''} failed`, { log: logFile(NAME), tail: `${result.stdout ?? ''}${result.stderr ?? ''}${result.error ? String(result.error) : ''}`.trim() });
  };
  const caKey = join(files.dir, 'ca-key.pem');
  run(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '3650', '-subj', '/CN=orbit-local-mysql-ca', '-keyout', caKey, '-out', files.ca]);
  const issue = (name: string, subject: string, extensions: string, cert: string, key: string): void => {
    const request = join(files.dir, `${name}.csr`);
    const extensionFile = join(files.dir, `${name}.ext`);
    writeFileSync(extensionFile, `${extensions}\n`);
    run(['req', '-newkey', 'rsa:2048', '-nodes', '-subj', subject, '-keyout', key, '-out', request]);
    run(['x509', '-req', '-days', '3650', '-in', request, '-CA', files.ca, '-CAkey', caKey, '-CAcreateserial', '-extfile', extensionFile, '-out', cert]);
  };
  issue('server', '/CN=localhost', 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth', files.serverCert, files.serverKey);
  issue('client', `/CN=${MYSQL_X509_USER}`, 'extendedKeyUsage=clientAuth', files.clientCert, files.clientKey);
}

function initialiseOnce(installDb: string, dir: string): void {
  if (existsSync(join(dir, 'mysql'))) return;
  mkdirSync(dir, { recursive: true });
  const result = spawnSync(installDb, ['--no-defaults', `--datadir=${dir}`, '--user=root', '--auth-root-authentication-method=normal', '--skip-test-db'], { encoding: 'utf8', timeout: 120_000 });
  if (result.status !== 0) {
    throw new StackError('ORBIT_ERR_STACK_START', NAME, 'mariadb-install-db failed', { log: logFile(NAME), tail: `${result.stdout ?? ''}${result.stderr ?? ''}`.trim() });
  }
}

export function mysqlService(): ServiceDefinition {
  const ports = readPorts();
  return {
    name: NAME, kind: 'infrastructure', port: ports.mysql, ports: [ports.mysql], startTimeoutMs: 60_000,
    install: () => void ensureMariadb(NAME),
    prepare: () => {
      const { server, installDb } = ensureMariadb(NAME);
      const dir = dataDir(NAME);
      mkdirSync(runDir(), { recursive: true });
      initialiseOnce(installDb, dir);
      const tls = mysqlTlsFiles();
      certificatesOnce(tls);
      return {
        command: server,
        args: [
          '--no-defaults', `--datadir=${dir}`, `--socket=${mysqlSocket()}`, `--port=${ports.mysql}`, '--bind-address=127.0.0.1',
          '--user=root', `--pid-file=${join(runDir(), 'mysqld.pid')}`, `--log-error=${logFile(NAME)}`,
          '--skip-name-resolve', '--innodb-buffer-pool-size=128M',
          // Image names and tags compare byte for byte, as they do everywhere else in the pipeline.
          '--character-set-server=utf8mb4', '--collation-server=utf8mb4_bin',
          // TLS for whoever asks (the services, with a client certificate); the plain user stays for tests and tools.
          `--ssl-ca=${tls.ca}`, `--ssl-cert=${tls.serverCert}`, `--ssl-key=${tls.serverKey}`,
        ],
        cwd: dir,
      };
    },
    healthy: () => mysqlAnswers(mysqlSocket()),
    afterHealthy: ensureAccount,
  };
}
