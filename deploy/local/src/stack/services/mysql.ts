import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import mysql from 'mysql2/promise';
import { issuedOnce, localCaFile, type IssuedCertificate } from '../certificates.js';
import { MYSQL_DATABASE, MYSQL_PASSWORD, MYSQL_TLS_USER, MYSQL_USER, MYSQL_X509_USER } from '../endpoints.js';
import { StackError } from '../errors.js';
import { ensureMariadb } from '../install.js';
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
 * The server's certificate names localhost, the host the stack's TLS URLs give (Orbit refuses TLS to an address, which
 * mysql2 cannot check), and 127.0.0.1 for other clients that check an address.
 */
function certificatesOnce(): IssuedCertificate {
  issuedOnce(NAME, 'mysql-client', `/CN=${MYSQL_X509_USER}`, ['extendedKeyUsage=clientAuth']);
  return issuedOnce(NAME, 'mysql-server', '/CN=localhost', ['subjectAltName=DNS:localhost,IP:127.0.0.1', 'extendedKeyUsage=serverAuth']);
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
      const tls = certificatesOnce();
      return {
        command: server,
        args: [
          '--no-defaults', `--datadir=${dir}`, `--socket=${mysqlSocket()}`, `--port=${ports.mysql}`, '--bind-address=127.0.0.1',
          '--user=root', `--pid-file=${join(runDir(), 'mysqld.pid')}`, `--log-error=${logFile(NAME)}`,
          '--skip-name-resolve', '--innodb-buffer-pool-size=128M',
          // Image names and tags compare byte for byte, as they do everywhere else in the pipeline.
          '--character-set-server=utf8mb4', '--collation-server=utf8mb4_bin',
          // TLS for whoever asks (the services, with a client certificate); the plain user stays for tests and tools.
          `--ssl-ca=${localCaFile()}`, `--ssl-cert=${tls.cert}`, `--ssl-key=${tls.key}`,
        ],
        cwd: dir,
      };
    },
    healthy: () => mysqlAnswers(mysqlSocket()),
    afterHealthy: ensureAccount,
  };
}
