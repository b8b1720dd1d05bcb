import { describe, expect, it } from 'vitest';
import { env, readCheckedConfig, readConfig, urlExample, withoutUserinfo, type EnvShape } from './config.js';
import { ConfigError } from './errors.js';
import { kafkaConnection } from './kafka/connection.js';
import { mysqlTarget } from './mysql-connection.js';
import { registryAccessEnv } from './registry/access.js';
import { runtimeEnv } from './runtime-config.js';

/** The problems readConfig reports for `given`, none when it takes it. */
function problemsOf(shape: EnvShape, given: NodeJS.ProcessEnv): readonly string[] {
  try {
    readConfig(shape, given);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  return [];
}

describe('readConfig', () => {
  it('defaults every runtime variable to the local stack', () => {
    const config = readConfig(runtimeEnv, {});
    expect(config.KAFKA_BROKERS).toEqual(['127.0.0.1:9092']);
    expect(config.SCHEMA_REGISTRY_URL).toBe('http://127.0.0.1:8081/apis/ccompat/v7');
    expect(config.AWS_ENDPOINT_URL_S3).toBe('http://127.0.0.1:9000');
    expect(config.S3_FORCE_PATH_STYLE).toBe(true);
  });

  it('parses lists, numbers and booleans from strings', () => {
    const config = readConfig(runtimeEnv, { KAFKA_BROKERS: 'a:1, b:2', HEALTH_PORT: '9101', S3_FORCE_PATH_STYLE: 'false' });
    expect(config.KAFKA_BROKERS).toEqual(['a:1', 'b:2']);
    expect(config.HEALTH_PORT).toBe(9101);
    expect(config.S3_FORCE_PATH_STYLE).toBe(false);
  });

  it('reports every bad variable at once, one line each, by name', () => {
    const attempt = (): unknown => readConfig({ ...runtimeEnv, JWT_SECRET: env.string() }, { HEALTH_PORT: 'ninety', SCHEMA_REGISTRY_URL: 'not a url' });
    expect(attempt).toThrow(ConfigError);
    try {
      attempt();
    } catch (error) {
      const problems = (error as ConfigError).problems;
      expect(problems).toHaveLength(3);
      expect(problems.find((line) => line.startsWith('HEALTH_PORT'))).toContain('"ninety"');
      expect(problems.find((line) => line.startsWith('SCHEMA_REGISTRY_URL'))).toContain('URL');
      expect(problems.find((line) => line.startsWith('JWT_SECRET'))).toContain('missing');
    }
  });

  it('refuses a number written any way but decimal digits, naming it, instead of reading 1e3 as 1000', () => {
    for (const given of ['1e3', '0x50', '8080.5', '-1', 'Infinity']) {
      expect(() => readConfig(runtimeEnv, { HEALTH_PORT: given })).toThrow(`HEALTH_PORT: must be a whole number in decimal digits, like 8080 (got "${given}")`);
    }
    expect(() => readConfig(runtimeEnv, { ORBIT_RETRY_FACTOR: '2e0' })).toThrow(/ORBIT_RETRY_FACTOR: must be a number in decimal digits/);
    expect(readConfig(runtimeEnv, { HEALTH_PORT: ' 9101 ', ORBIT_RETRY_FACTOR: '1.5' })).toMatchObject({ HEALTH_PORT: 9101, ORBIT_RETRY_FACTOR: 1.5 });
  });

  it('takes a blank value as unset, as it does an empty one: the default, not 0', () => {
    const blank = readConfig({ ...runtimeEnv, PORT: env.int(8080, 0, 65535) }, { PORT: '  ', ORBIT_RETRY_MAX_MS: '\t', KAFKA_BROKERS: ' ' });
    expect(blank).toMatchObject({ PORT: 8080, ORBIT_RETRY_MAX_MS: 30_000, KAFKA_BROKERS: ['127.0.0.1:9092'] });
    expect(readConfig({ PORT: env.int(8080) }, { PORT: '' }).PORT).toBe(8080);
  });

  it('listens for probes on every interface unless HEALTH_HOST says otherwise, and refuses what is no address', () => {
    expect(readConfig(runtimeEnv, {}).HEALTH_HOST).toBe('0.0.0.0');
    expect(readConfig(runtimeEnv, { HEALTH_HOST: '::' }).HEALTH_HOST).toBe('::');
    expect(readConfig(runtimeEnv, { HEALTH_HOST: 'pod-1.orbit.svc' }).HEALTH_HOST).toBe('pod-1.orbit.svc');
    expect(() => readConfig(runtimeEnv, { HEALTH_HOST: 'http://0.0.0.0:9101' })).toThrow('HEALTH_HOST: must be an address to listen on, like 0.0.0.0, :: or 127.0.0.1 (got "http://0.0.0.0:9101")');
  });

  it('never echoes a secret value in its message', () => {
    try {
      readConfig({ API_SECRET: env.int(1) }, { API_SECRET: 'hunter2' });
    } catch (error) {
      expect((error as ConfigError).message).not.toContain('hunter2');
    }
    expect.assertions(1);
  });

  it('never echoes a malformed credentials value, only [redacted], while still naming the variable and what is wrong', () => {
    // A misspelt field in otherwise valid JSON: the value that fails is the one holding a live password.
    const given = '{"r.example":{"username":"u","pasword":"hunter2"}}';
    const problems = problemsOf(registryAccessEnv, { ORBIT_REGISTRY_CREDENTIALS: given });
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/^ORBIT_REGISTRY_CREDENTIALS: must be JSON like .*the entry for "r\.example" is neither \(got "\[redacted\]"\)$/);
    expect(problems.join()).not.toContain('hunter2');
  });

  it('takes true, 1 and yes as true and false, 0 and no as false, and refuses anything else by name', () => {
    const shape = { S3_FORCE_PATH_STYLE: env.bool(false) };
    for (const given of ['true', '1', 'yes', 'True', 'TRUE', ' yes ']) expect(readConfig(shape, { S3_FORCE_PATH_STYLE: given }).S3_FORCE_PATH_STYLE).toBe(true);
    for (const given of ['false', '0', 'no', 'False', 'NO ']) expect(readConfig({ S3_FORCE_PATH_STYLE: env.bool(true) }, { S3_FORCE_PATH_STYLE: given }).S3_FORCE_PATH_STYLE).toBe(false);
    expect(() => readConfig(shape, { S3_FORCE_PATH_STYLE: 'on' })).toThrow('S3_FORCE_PATH_STYLE: must be true or false (got "on")');
  });

  it('refuses a whole number above its maximum, naming the variable, and takes the maximum itself', () => {
    expect(problemsOf(runtimeEnv, { HEALTH_PORT: '65536' })).toEqual(['HEALTH_PORT: Too big: expected number to be <=65535 (got "65536")']);
    expect(readConfig(runtimeEnv, { HEALTH_PORT: '65535' }).HEALTH_PORT).toBe(65535);
  });

  it('refuses a number below its minimum, naming the variable, and takes the minimum itself', () => {
    expect(problemsOf(runtimeEnv, { ORBIT_RETRY_FACTOR: '0.5' })).toEqual(['ORBIT_RETRY_FACTOR: Too small: expected number to be >=1 (got "0.5")']);
    expect(readConfig(runtimeEnv, { ORBIT_RETRY_FACTOR: '1' }).ORBIT_RETRY_FACTOR).toBe(1);
  });

  it('refuses a number with a point but no digits on one side: digits, a point and digits, as the README says', () => {
    for (const given of ['2.', '.5']) {
      expect(() => readConfig(runtimeEnv, { ORBIT_RETRY_FACTOR: given })).toThrow(`ORBIT_RETRY_FACTOR: must be a number in decimal digits, like 2 or 1.5 (got "${given}")`);
    }
  });

  it('refuses a list of nothing but commas, naming it, instead of running with no brokers', () => {
    // No list variable (brokers, the environment chain, the JWT claims) means anything when empty.
    for (const given of [',', ' , ,']) {
      expect(problemsOf(runtimeEnv, { KAFKA_BROKERS: given })).toEqual([`KAFKA_BROKERS: must list at least one item (got "${given}")`]);
    }
    expect(readConfig(runtimeEnv, { KAFKA_BROKERS: 'a:1,' }).KAFKA_BROKERS).toEqual(['a:1']);
  });

  it('never echoes the user:password of a URL, even one that does not parse, and shows an example of the variable\'s own kind', () => {
    const problems = (given: NodeJS.ProcessEnv): readonly string[] => {
      try {
        readConfig(runtimeEnv, given);
      } catch (error) {
        return (error as ConfigError).problems;
      }
      return [];
    };
    const mysql = problems({ MYSQL_URL: 'mysql://orbit:Sup3rSecretPw@127.0.0.1:notaport/viewport' });
    expect(mysql).toEqual(['MYSQL_URL: must be a URL like mysql://user:password@host:port/database (got "mysql://[redacted]@127.0.0.1:notaport/viewport")']);
    const registry = problems({ SCHEMA_REGISTRY_URL: 'https://reg-user:reg-pass@registry.example:port/apis' });
    expect(registry).toEqual(['SCHEMA_REGISTRY_URL: must be a URL like http://host:port (got "https://[redacted]@registry.example:port/apis")']);
    expect(registry.join()).not.toContain('reg-pass');
  });
});

describe('withoutUserinfo', () => {
  it('blanks what stands between // and the last @, and leaves any other value as it is', () => {
    expect(withoutUserinfo('mysql://u:p@h:1/db')).toBe('mysql://[redacted]@h:1/db');
    expect(withoutUserinfo('mysql://u:p@ss/w@rd@h:1/db')).toBe('mysql://[redacted]@h:1/db');
    expect(withoutUserinfo('http://host:port')).toBe('http://host:port');
    expect(withoutUserinfo('user@example.com')).toBe('user@example.com');
    expect(withoutUserinfo('ninety')).toBe('ninety');
  });

  it('gives an example by the default\'s scheme', () => {
    expect(urlExample('mysql://orbit:orbit@127.0.0.1:3306/viewport')).toBe('mysql://user:password@host:port/database');
    expect(urlExample('http://127.0.0.1:9000')).toBe('http://host:port');
    expect(urlExample(undefined)).toBe('http://host:port');
  });
});

describe('readCheckedConfig', () => {
  const checks = { mysql: (config: Parameters<typeof mysqlTarget>[0]) => mysqlTarget(config), kafka: (config: Parameters<typeof kafkaConnection>[0]) => kafkaConnection(config) };
  const problemsOf = (given: NodeJS.ProcessEnv): readonly string[] => {
    try {
      readCheckedConfig(runtimeEnv, checks, given);
    } catch (error) {
      if (error instanceof ConfigError) return error.problems;
      throw error;
    }
    return [];
  };

  it('reports a malformed variable and what the checks find in the others at once, not one round per fix', () => {
    expect(problemsOf({ LOG_LEVEL: 'verbose', MYSQL_URL: 'mysql://orbit:hunter2@db.example.com:3306/viewport?sslmode=require', KAFKA_SASL_USERNAME: 'orbit' })).toEqual([
      'LOG_LEVEL: Invalid option: expected one of "fatal"|"error"|"warn"|"info"|"debug"|"trace"|"silent" (got "verbose")',
      'MYSQL_URL: ?sslmode is not read (the driver would connect without TLS or without checking the server\'s name); set MYSQL_TLS=true, or MYSQL_TLS_CA_FILE for a private CA',
      'KAFKA_SASL_MECHANISM: is missing: KAFKA_SASL_USERNAME or KAFKA_SASL_PASSWORD is set, so name the mechanism (plain, scram-sha-256 or scram-sha-512)',
    ]);
  });

  it('never echoes a password, in a variable\'s line or a check\'s', () => {
    const problems = problemsOf({ MYSQL_URL: 'mysql://orbit:hunter2@db.example.com:3306/viewport?ssl=true', KAFKA_SASL_MECHANISM: 'plain', KAFKA_SASL_PASSWORD: 'hunter2', S3_FORCE_PATH_STYLE: 'maybe' });
    expect(problems).toHaveLength(3);
    expect(problems.join('\n')).not.toContain('hunter2');
  });

  it('does not run a check on a variable that is itself malformed: its own line says what is wrong', () => {
    // Read by kafkaConnection, which would otherwise add "KAFKA_SASL_MECHANISM: is missing" for a user without a mechanism.
    expect(problemsOf({ KAFKA_SASL_MECHANISM: 'gssapi', KAFKA_SASL_USERNAME: 'orbit', KAFKA_SASL_PASSWORD: 'secret', MYSQL_URL: 'mysql://orbit:orbit@db/viewport?tls=1' })).toEqual([
      'KAFKA_SASL_MECHANISM: must be plain, scram-sha-256 or scram-sha-512 (got "gssapi")',
      expect.stringMatching(/^MYSQL_URL: \?tls is not read/),
    ]);
    expect(problemsOf({ MYSQL_URL: 'not a url', KAFKA_SASL_USERNAME: 'orbit' })).toEqual([
      'MYSQL_URL: must be a URL like mysql://user:password@host:port/database (got "not a url")',
      expect.stringMatching(/^KAFKA_SASL_MECHANISM: is missing/),
    ]);
  });

  it('gives the configuration and what each check made of it when all is well', () => {
    const { config, checked } = readCheckedConfig(runtimeEnv, checks, { KAFKA_SASL_MECHANISM: 'plain', KAFKA_SASL_USERNAME: 'orbit', KAFKA_SASL_PASSWORD: 'secret' });
    expect(config.LOG_LEVEL).toBe('info');
    expect(checked.mysql).toEqual({ url: 'mysql://orbit:orbit@127.0.0.1:3306/viewport' });
    expect(checked.kafka).toMatchObject({ brokers: ['127.0.0.1:9092'], sasl: { mechanism: 'plain', username: 'orbit', password: 'secret' } });
  });

  it('lets an error that is no configuration problem through', () => {
    expect(() => readCheckedConfig(runtimeEnv, { broken: () => { throw new TypeError('a bug'); } }, {})).toThrow(TypeError);
  });
});
