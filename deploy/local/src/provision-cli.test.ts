import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const PROVISION_CLI = fileURLToPath(new URL('../dist/provision-cli.js', import.meta.url));

// Every store at a port nothing answers on: a --help that provisioned anyway must not reach a running stack.
const nowhere = {
  PATH: process.env['PATH'] ?? '', LOG_LEVEL: 'info',
  KAFKA_BROKERS: '127.0.0.1:1', SCHEMA_REGISTRY_URL: 'http://127.0.0.1:1/apis/ccompat/v7', MYSQL_URL: 'mysql://x:y@127.0.0.1:1/db',
  AWS_ENDPOINT_URL_S3: 'http://127.0.0.1:1', AWS_ENDPOINT_URL_DYNAMODB: 'http://127.0.0.1:1', AWS_ACCESS_KEY_ID: 'x', AWS_SECRET_ACCESS_KEY: 'y',
};
const provision = (...args: string[]) => spawnSync(process.execPath, [PROVISION_CLI, ...args], { env: nowhere, encoding: 'utf8', timeout: 15_000 });

describe('npm run provision', () => {
  it('answers --help with what it would do, and does none of it', () => {
    const help = provision('--help');
    expect(help.status).toBe(0);
    expect(help.stdout).toMatch(/^usage: npm run provision .*topics.*\n$/);
    expect(help.stderr).toBe('');
  }, 20_000);

  it('refuses an option it does not know with exit 2 and its usage, before provisioning anything', () => {
    const wrong = provision('--dry-run');
    expect(wrong.status).toBe(2);
    expect(wrong.stdout).toBe('');
    expect(wrong.stderr).toMatch(/^Unknown option '--dry-run'.*\nusage: npm run provision /);
  }, 20_000);

  it('lists a wrong variable by name under one line naming the command, with exit 1', () => {
    const wrong = spawnSync(process.execPath, [PROVISION_CLI], { env: { ...nowhere, KAFKA_REPLICATION_FACTOR: '1e0' }, encoding: 'utf8', timeout: 15_000 });
    expect(wrong.status).toBe(1);
    expect(wrong.stderr).toBe('provision failed: invalid configuration:\n  - KAFKA_REPLICATION_FACTOR: must be a whole number in decimal digits, like 8080 (got "1e0")\n');
  }, 20_000);

  it('reports a wrong variable, MySQL\'s and Kafka\'s connection problems in one report, not one round per fix', () => {
    const wrong = spawnSync(process.execPath, [PROVISION_CLI], {
      env: { ...nowhere, KAFKA_REPLICATION_FACTOR: '1e0', MYSQL_TLS_CA_FILE: '/nonexistent/ca.pem', KAFKA_SASL_MECHANISM: 'plain' }, encoding: 'utf8', timeout: 15_000,
    });
    expect(wrong.status).toBe(1);
    expect(wrong.stderr).toMatch(/^provision failed: invalid configuration:\n/);
    for (const variable of ['KAFKA_REPLICATION_FACTOR', 'MYSQL_TLS_CA_FILE', 'KAFKA_SASL_USERNAME', 'KAFKA_SASL_PASSWORD']) expect(wrong.stderr).toContain(`  - ${variable}: `);
  }, 20_000);
});
