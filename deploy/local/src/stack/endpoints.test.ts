import { execFileSync } from 'node:child_process';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { localStackEnv, renderExports, shellQuote } from './endpoints.js';
import { readPorts } from './ports.js';
import { STACK_ENV_UNSET } from './stack.js';

describe('renderExports', () => {
  it('renders one export line per variable, single-quoted', () => {
    expect(renderExports({ A: 'x', B: 'http://127.0.0.1:9000' })).toBe("export A='x'\nexport B='http://127.0.0.1:9000'");
  });

  it('unsets what it is told to after the exports', () => {
    expect(renderExports({ A: 'x' }, ['B'])).toBe("export A='x'\nunset B");
  });

  it('quotes single quotes by closing, escaping and reopening', () => {
    expect(shellQuote("it's")).toBe(`'it'\\''s'`);
  });

  it('survives eval for quotes, dollars, backticks, spaces and newlines', () => {
    const env = { A: "it's $HOME and `id`", B: 'two\nlines', C: '' };
    const script = `${renderExports(env)}\nprintf '%s|%s|%s' "$A" "$B" "$C"`;
    expect(execFileSync('bash', ['-c', script], { encoding: 'utf8' })).toBe("it's $HOME and `id`|two\nlines|");
  });
});

describe('localStackEnv', () => {
  afterEach(() => vi.unstubAllEnvs());

  it('has exactly the documented names with the configured ports', () => {
    const ports = readPorts();
    vi.stubEnv('ORBIT_STACK_DIR', '/srv/orbit stack');
    const env = localStackEnv();
    expect(Object.keys(env).sort()).toEqual([
      'AWS_ACCESS_KEY_ID', 'AWS_ENDPOINT_URL_DYNAMODB', 'AWS_ENDPOINT_URL_S3', 'AWS_REGION', 'AWS_SECRET_ACCESS_KEY',
      'KAFKA_BROKERS', 'MYSQL_ADMIN_SOCKET', 'MYSQL_URL', 'ORBIT_IMAGE_REGISTRY',
      'ORBIT_KAFKA_PRINCIPAL_CHART_GENERATOR', 'ORBIT_KAFKA_PRINCIPAL_EVENT_LOGGER', 'ORBIT_KAFKA_PRINCIPAL_HARBOR_WRITER', 'ORBIT_KAFKA_PRINCIPAL_IMAGE_VALIDATOR',
      'ORBIT_KAFKA_PRINCIPAL_PORTAL_GATEWAY', 'ORBIT_KAFKA_PRINCIPAL_VIEWPORT_PROJECTOR', 'ORBIT_KAFKA_SERVICE_PRINCIPALS', 'ORBIT_STACK_DIR',
      'ORBIT_STACK_KAFKA_CA_FILE', 'ORBIT_STACK_KAFKA_CLIENT_CERT_FILE', 'ORBIT_STACK_KAFKA_CLIENT_KEY_FILE', 'ORBIT_STACK_KAFKA_MTLS_BROKERS', 'ORBIT_STACK_KAFKA_OUTSIDER', 'ORBIT_STACK_KAFKA_SASL_PASSWORD', 'ORBIT_STACK_KAFKA_SASL_USERNAME', 'ORBIT_STACK_KAFKA_SECURE_BROKERS',
      'ORBIT_STACK_MYSQL_CA_FILE', 'ORBIT_STACK_MYSQL_CLIENT_CERT_FILE', 'ORBIT_STACK_MYSQL_CLIENT_KEY_FILE', 'ORBIT_STACK_MYSQL_TLS_URL', 'ORBIT_STACK_MYSQL_X509_URL',
      'S3_FORCE_PATH_STYLE', 'SCHEMA_REGISTRY_URL',
    ]);
    expect(env['ORBIT_STACK_KAFKA_SECURE_BROKERS']).toBe(`127.0.0.1:${ports.kafkaSecure}`);
    expect(env['ORBIT_STACK_KAFKA_CA_FILE']).toBe('/srv/orbit stack/data/kafka/broker-ca.pem');
    expect(env['KAFKA_BROKERS']).toBe(`127.0.0.1:${ports.kafka}`);
    expect(env['ORBIT_KAFKA_PRINCIPAL_IMAGE_VALIDATOR']).toBe('User:orbit-image-validator');
    // By name, so a client that checks the certificate's name (mysql2 checks names, never addresses) checks it.
    expect(env['ORBIT_STACK_MYSQL_TLS_URL']).toBe(`mysql://orbit_tls:orbit@localhost:${ports.mysql}/viewport`);
    expect(env['ORBIT_STACK_MYSQL_CA_FILE']).toBe('/srv/orbit stack/data/tls/ca.pem');
    expect(env['SCHEMA_REGISTRY_URL']).toBe(`http://127.0.0.1:${ports.schemaRegistry}/apis/ccompat/v7`);
    expect(env['MYSQL_URL']).toBe(`mysql://orbit:orbit@127.0.0.1:${ports.mysql}/viewport`);
    expect(env['MYSQL_ADMIN_SOCKET']).toBe('/srv/orbit stack/run/mysqld.sock');
    expect(env['ORBIT_STACK_DIR']).toBe('/srv/orbit stack');
  });

  it('follows port overrides', () => {
    vi.stubEnv('ORBIT_KAFKA_PORT', '19092');
    vi.stubEnv('ORBIT_S3_PORT', '19000');
    expect(localStackEnv()['KAFKA_BROKERS']).toBe('127.0.0.1:19092');
    expect(localStackEnv()['AWS_ENDPOINT_URL_S3']).toBe('http://127.0.0.1:19000');
  });
});

describe('stack env in a shell with an AWS session of its own', () => {
  it('leaves the stack\'s keys alone: the session token and profile are unset', () => {
    const script = `${renderExports(localStackEnv(), STACK_ENV_UNSET)}\nprintf '%s|%s|%s' "$AWS_ACCESS_KEY_ID" "\${AWS_SESSION_TOKEN-unset}" "\${AWS_PROFILE-unset}"`;
    const env = { ...process.env, AWS_SESSION_TOKEN: 'IQoJb3JpZ2luX2VjE', AWS_PROFILE: 'work-sso' };
    expect(execFileSync('bash', ['-c', script], { encoding: 'utf8', env })).toBe('orbitlocal|unset|unset');
  });
});
