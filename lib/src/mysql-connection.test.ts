import { describe, expect, it } from 'vitest';
import { configProblemsOf } from '../../test/helpers/config-problems.js';
import { readConfig } from './config.js';
import { mysqlTarget } from './mysql-connection.js';
import { runtimeEnv } from './runtime-config.js';

const files: Record<string, string> = { '/ca.pem': 'CA', '/client.pem': 'CERT', '/client.key': 'KEY' };
const readFile = (path: string): Buffer => {
  const text = files[path];
  if (text === undefined) throw Object.assign(new Error(`ENOENT: ${path}`), { code: 'ENOENT' });
  return Buffer.from(text);
};
const targetOf = (env: Record<string, string>) => mysqlTarget(readConfig(runtimeEnv, env), readFile);
const problemsOf = (env: Record<string, string>): readonly string[] => configProblemsOf(() => targetOf(env));

describe('mysqlTarget', () => {
  it('is plain TCP to the local stack when nothing is set', () => {
    expect(targetOf({})).toEqual({ url: 'mysql://orbit:orbit@127.0.0.1:3306/viewport' });
  });

  it('asks for TLS that checks the certificate and its name: the system CAs, the CA file given, and a client certificate', () => {
    const url = 'mysql://orbit:s3cret@db.example.internal:3306/viewport';
    expect(targetOf({ MYSQL_URL: url, MYSQL_TLS: 'true' })).toEqual({ url, ssl: { rejectUnauthorized: true, verifyIdentity: true } });
    expect(targetOf({ MYSQL_URL: url, MYSQL_TLS_CA_FILE: '/ca.pem' })).toEqual({ url, ssl: { rejectUnauthorized: true, verifyIdentity: true, ca: Buffer.from('CA') } });
    expect(targetOf({ MYSQL_URL: url, MYSQL_TLS_CA_FILE: '/ca.pem', MYSQL_TLS_CERT_FILE: '/client.pem', MYSQL_TLS_KEY_FILE: '/client.key' }))
      .toEqual({ url, ssl: { rejectUnauthorized: true, verifyIdentity: true, ca: Buffer.from('CA'), cert: Buffer.from('CERT'), key: Buffer.from('KEY') } });
  });

  it('refuses URL options the driver would ignore or half-apply, naming the variables that ask for TLS instead', () => {
    expect(problemsOf({ MYSQL_URL: 'mysql://orbit:orbit@db:3306/viewport?sslmode=require&ssl={"rejectUnauthorized":true}&connectTimeout=1' })).toEqual([
      "MYSQL_URL: ?sslmode is not read (the driver would connect without TLS or without checking the server's name); set MYSQL_TLS=true, or MYSQL_TLS_CA_FILE for a private CA",
      "MYSQL_URL: ?ssl is not read (the driver would connect without TLS or without checking the server's name); set MYSQL_TLS=true, or MYSQL_TLS_CA_FILE for a private CA",
      "MYSQL_URL: ?connectTimeout is not read; Orbit sets the connection's options itself, so leave the URL without a query",
    ]);
  });

  it('refuses at start, one line each, a URL of another kind, no database, half a client certificate and a file it cannot read', () => {
    expect(problemsOf({ MYSQL_URL: 'postgres://orbit:orbit@db:5432/', MYSQL_TLS_CERT_FILE: '/client.pem' })).toEqual([
      'MYSQL_URL: must be mysql://user:password@host:port/database (got a postgres:// URL)',
      'MYSQL_URL: names no database; add it as the path, as in mysql://user:password@host:3306/viewport',
      'MYSQL_TLS_KEY_FILE: is missing: MYSQL_TLS_CERT_FILE is set, and a client certificate needs both',
    ]);
    expect(problemsOf({ MYSQL_URL: 'mysql://orbit:orbit@db.internal:3306/viewport', MYSQL_TLS_CA_FILE: '/missing.pem' })).toEqual(['MYSQL_TLS_CA_FILE: cannot read /missing.pem (ENOENT)']);
  });

  it('refuses TLS to a host given as an address, which the driver would check as if it were localhost', () => {
    // Percent-encoded, as the driver decodes it: still an address.
    for (const host of ['10.0.0.5', '[fd00::5]', '127%2E0%2E0%2E1', '%31%30.0.0.5']) {
      expect(problemsOf({ MYSQL_URL: `mysql://orbit:orbit@${host}:3306/viewport`, MYSQL_TLS: 'true' })).toEqual([
        `MYSQL_URL: with TLS, give the host by a name its certificate carries, not the address ${host}: the driver cannot check an address against the certificate`,
      ]);
    }
    // Without TLS an address is fine (the local stack's plain user), and an encoded name is a name.
    expect(problemsOf({ MYSQL_URL: 'mysql://orbit:orbit@127.0.0.1:3306/viewport' })).toEqual([]);
    expect(problemsOf({ MYSQL_URL: 'mysql://orbit:orbit@db%2Einternal:3306/viewport', MYSQL_TLS: 'true' })).toEqual([]);
    expect(problemsOf({ MYSQL_URL: 'mysql://orbit:orbit@db%zz:3306/viewport' })).toEqual(['MYSQL_URL: the host db%zz is not valid percent-encoding']);
  });
});
