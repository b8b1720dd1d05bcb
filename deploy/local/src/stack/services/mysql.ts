import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import mysql from 'mysql2/promise';
import { MYSQL_DATABASE, MYSQL_PASSWORD, MYSQL_USER } from '../endpoints.js';
import { StackError } from '../errors.js';
import { ensureMariadb } from '../install.js';
import { dataDir, logFile, mysqlSocket, runDir } from '../paths.js';
import { readPorts } from '../ports.js';
import { mysqlAnswers } from '../probes.js';
import type { ServiceDefinition } from './types.js';

const NAME = 'mysql';

/** Rebuilds project into side databases (viewport_*) before swapping them in, so the grant covers those too. */
export function accountStatements(database: string, user: string, password: string): string[] {
  const hosts = ['127.0.0.1', 'localhost'];
  const escaped = database.replaceAll('_', '\\_');
  return [
    `CREATE DATABASE IF NOT EXISTS \`${database}\``,
    ...hosts.map((host) => `CREATE USER IF NOT EXISTS '${user}'@'${host}' IDENTIFIED BY '${password}'`),
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
    for (const statement of accountStatements(MYSQL_DATABASE, MYSQL_USER, MYSQL_PASSWORD)) await connection.query(statement);
  } finally {
    await connection.end();
  }
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
      return {
        command: server,
        args: [
          '--no-defaults', `--datadir=${dir}`, `--socket=${mysqlSocket()}`, `--port=${ports.mysql}`, '--bind-address=127.0.0.1',
          '--user=root', `--pid-file=${join(runDir(), 'mysqld.pid')}`, `--log-error=${logFile(NAME)}`,
          '--skip-name-resolve', '--innodb-buffer-pool-size=128M',
          // Image names and tags compare byte for byte, as they do everywhere else in the pipeline.
          '--character-set-server=utf8mb4', '--collation-server=utf8mb4_bin',
        ],
        cwd: dir,
      };
    },
    healthy: () => mysqlAnswers(mysqlSocket()),
    afterHealthy: ensureAccount,
  };
}
