import { describe, expect, it } from 'vitest';
import { configProblemsOf } from '../../../test/helpers/config-problems.js';
import { readConfig } from '../config.js';
import { runtimeEnv } from '../runtime-config.js';
import { kafkaConnection } from './connection.js';

const files: Record<string, string> = { '/ca.pem': 'CA', '/client.pem': 'CERT', '/client.key': 'KEY' };
const readFile = (path: string): Buffer => {
  const text = files[path];
  if (text === undefined) throw Object.assign(new Error(`ENOENT: ${path}`), { code: 'ENOENT' });
  return Buffer.from(text);
};
const connectionOf = (env: Record<string, string>) => kafkaConnection(readConfig(runtimeEnv, env), readFile);
const problemsOf = (env: Record<string, string>): readonly string[] => configProblemsOf(() => connectionOf(env));

describe('kafkaConnection', () => {
  it('is plain TCP to the local stack when nothing is set', () => {
    expect(connectionOf({})).toEqual({ brokers: ['127.0.0.1:9092'] });
  });

  it('gives SASL over TLS as a managed cluster wants it: the system CAs, or the CA file given, and a client certificate for mutual TLS', () => {
    expect(connectionOf({ KAFKA_BROKERS: 'b-1.example:9096', KAFKA_TLS: 'true', KAFKA_SASL_MECHANISM: 'scram-sha-512', KAFKA_SASL_USERNAME: 'orbit', KAFKA_SASL_PASSWORD: 's3cret' }))
      .toEqual({ brokers: ['b-1.example:9096'], ssl: {}, sasl: { mechanism: 'scram-sha-512', username: 'orbit', password: 's3cret' } });
    expect(connectionOf({ KAFKA_TLS_CA_FILE: '/ca.pem', KAFKA_TLS_CERT_FILE: '/client.pem', KAFKA_TLS_KEY_FILE: '/client.key' }))
      .toEqual({ brokers: ['127.0.0.1:9092'], ssl: { ca: Buffer.from('CA'), cert: Buffer.from('CERT'), key: Buffer.from('KEY') } });
  });

  it('refuses at start, one line each, what a broker would refuse later or what would silently go without auth', () => {
    expect(problemsOf({ KAFKA_SASL_MECHANISM: 'plain' })).toEqual([
      'KAFKA_SASL_USERNAME: is missing: KAFKA_SASL_MECHANISM=plain needs a user',
      'KAFKA_SASL_PASSWORD: is missing: KAFKA_SASL_MECHANISM=plain needs a password',
    ]);
    expect(problemsOf({ KAFKA_SASL_USERNAME: 'orbit', KAFKA_SASL_PASSWORD: 'x' })).toEqual([
      'KAFKA_SASL_MECHANISM: is missing: KAFKA_SASL_USERNAME or KAFKA_SASL_PASSWORD is set, so name the mechanism (plain, scram-sha-256 or scram-sha-512)',
    ]);
    expect(problemsOf({ KAFKA_TLS_CERT_FILE: '/client.pem', KAFKA_TLS_CA_FILE: '/missing.pem' })).toEqual([
      'KAFKA_TLS_KEY_FILE: is missing: KAFKA_TLS_CERT_FILE is set, and mutual TLS needs both',
      'KAFKA_TLS_CA_FILE: cannot read /missing.pem (ENOENT)',
    ]);
    expect(() => readConfig(runtimeEnv, { KAFKA_SASL_MECHANISM: 'GSSAPI' })).toThrow(/KAFKA_SASL_MECHANISM: must be plain, scram-sha-256 or scram-sha-512 \(got "GSSAPI"\)/);
  });
});
