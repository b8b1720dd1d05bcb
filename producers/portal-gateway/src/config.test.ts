import { ConfigError, readConfig } from '@orbit/lib';
import { describe, expect, it } from 'vitest';
import { gatewayConfigProblems, gatewayEnv, readGatewayConfig } from './config.js';
import { configProblemsOf } from '../../../test/helpers/config-problems.js';

describe('the gateway configuration', () => {
  it('serves its health on PORT, so a HEALTH_PORT or HEALTH_HOST meant for the consumers neither moves it nor stops it', () => {
    const config = readConfig(gatewayEnv, { PORT: '8080', HEALTH_PORT: 'ninety', HEALTH_HOST: 'http://nowhere' });
    expect(config.PORT).toBe(8080);
    expect(Object.keys(config)).not.toContain('HEALTH_PORT');
    expect(Object.keys(config)).not.toContain('HEALTH_HOST');
  });

  it('reads roles from Orbit\'s, Keycloak\'s realm and Keycloak\'s client claims unless told otherwise', () => {
    expect(readConfig(gatewayEnv, {}).JWT_ROLES_CLAIMS).toEqual(['roles', 'realm_access.roles', 'resource_access.{audience}.roles']);
    expect(readConfig(gatewayEnv, { JWT_ROLES_CLAIMS: 'groups, https://orbit.example.com/roles' }).JWT_ROLES_CLAIMS).toEqual(['groups', 'https://orbit.example.com/roles']);
  });

  it('refuses a roles claim path with an empty segment, by name', () => {
    expect(() => readConfig(gatewayEnv, { JWT_ROLES_CLAIMS: 'realm_access..roles' })).toThrow(ConfigError);
    expect(() => readConfig(gatewayEnv, { JWT_ROLES_CLAIMS: 'realm_access..roles' })).toThrow(/JWT_ROLES_CLAIMS: must be dotted claim paths/);
  });

  it('names the user by preferred_username, else sub, unless told which claims to try', () => {
    expect(readConfig(gatewayEnv, {}).JWT_USERNAME_CLAIMS).toEqual(['preferred_username', 'sub']);
    expect(readConfig(gatewayEnv, { JWT_USERNAME_CLAIMS: 'oid, sub' }).JWT_USERNAME_CLAIMS).toEqual(['oid', 'sub']);
    expect(() => readConfig(gatewayEnv, { JWT_USERNAME_CLAIMS: ' , ' })).toThrow(/JWT_USERNAME_CLAIMS: must list at least one item/);
  });

  it('takes several issuers and audiences, comma-separated, and names each value no token could carry', () => {
    const config = readConfig(gatewayEnv, { JWT_ISSUER: 'accounts.google.com, https://accounts.google.com', JWT_AUDIENCE: 'api://orbit,6e7a1c44-1f0b-4b7e-9c43-5f1d2e3a4b5c' });
    expect([config.JWT_ISSUER, config.JWT_AUDIENCE]).toEqual([['accounts.google.com', 'https://accounts.google.com'], ['api://orbit', '6e7a1c44-1f0b-4b7e-9c43-5f1d2e3a4b5c']]);
    expect([readConfig(gatewayEnv, {}).JWT_ISSUER, readConfig(gatewayEnv, {}).JWT_AUDIENCE]).toEqual([['orbit-local'], ['orbit']]);
    const refusal = (() => {
      try {
        readConfig(gatewayEnv, { JWT_AUDIENCE: 'api://orbit, orbit ui, :orbit', JWT_ISSUER: ' , ' });
      } catch (error) {
        return String(error instanceof ConfigError ? error.message : error);
      }
      return '';
    })();
    expect(refusal).toMatch(/JWT_AUDIENCE: "orbit ui" holds white space/);
    expect(refusal).toMatch(/JWT_AUDIENCE: ":orbit" holds a colon but is no URI/);
    expect(refusal).toMatch(/JWT_ISSUER: must list at least one value/);
  });
});

describe('variables a start would otherwise fail on with a stack trace', () => {
  const problemsOf = (given: NodeJS.ProcessEnv): string => {
    try {
      readConfig(gatewayEnv, given);
    } catch (error) {
      return error instanceof ConfigError ? error.problems.join('\n') : `not a ConfigError: ${String(error)}`;
    }
    return '';
  };

  it('refuses a JWT_JWKS_URL that is no URL, and a HOST that is no address, by name', () => {
    expect(problemsOf({ JWT_JWKS_URL: 'nope' })).toBe('JWT_JWKS_URL: must be a URL like https://idp.example.com/.well-known/jwks.json (got "nope")');
    expect(problemsOf({ HOST: 'not_a_host' })).toBe('HOST: must be an address to listen on, like 0.0.0.0, :: or 127.0.0.1 (got "not_a_host")');
    expect(readConfig(gatewayEnv, { HOST: '0.0.0.0', JWT_JWKS_URL: 'https://idp.example.com/jwks' })).toMatchObject({ HOST: '0.0.0.0', JWT_JWKS_URL: 'https://idp.example.com/jwks' });
  });

  it('reads ORBIT_S3_PUBLIC_ENDPOINT, the S3 address its presigned URLs name, and refuses one with a path at start (found by a browser-portal review)', () => {
    expect(readConfig(gatewayEnv, {}).ORBIT_S3_PUBLIC_ENDPOINT).toBeUndefined();
    expect(readConfig(gatewayEnv, { ORBIT_S3_PUBLIC_ENDPOINT: 'https://S3.example.com/' }).ORBIT_S3_PUBLIC_ENDPOINT).toBe('https://s3.example.com');
    expect(problemsOf({ ORBIT_S3_PUBLIC_ENDPOINT: 'https://s3.example.com/minio' })).toMatch(/^ORBIT_S3_PUBLIC_ENDPOINT: must be the S3 address callers reach, scheme, host and port only, .* \(got "https:\/\/s3\.example\.com\/minio"\)$/);
  });

  it('gives requests in flight 25 s when stopping unless ORBIT_SHUTDOWN_GRACE_SECONDS says otherwise, in whole seconds', () => {
    expect(readConfig(gatewayEnv, {}).ORBIT_SHUTDOWN_GRACE_SECONDS).toBe(25);
    expect(readConfig(gatewayEnv, { ORBIT_SHUTDOWN_GRACE_SECONDS: '0' }).ORBIT_SHUTDOWN_GRACE_SECONDS).toBe(0);
    expect(problemsOf({ ORBIT_SHUTDOWN_GRACE_SECONDS: '2.5' })).toMatch(/^ORBIT_SHUTDOWN_GRACE_SECONDS: must be a whole number/);
    expect(problemsOf({ ORBIT_SHUTDOWN_GRACE_SECONDS: '3601' })).toMatch(/^ORBIT_SHUTDOWN_GRACE_SECONDS: /);
  });
});

describe('the token key where others reach the gateway', () => {
  const reached = { HOST: '0.0.0.0', PUBLIC_BASE_URL: 'https://orbit.example.com' };
  it('refuses the local stack\'s published key, or a short one, on a gateway others reach, naming what to set', () => {
    expect(gatewayConfigProblems(readConfig(gatewayEnv, reached))).toEqual([expect.stringMatching(/^JWT_SECRET: is the local stack's key, published .* \(0\.0\.0\.0\).*Set JWT_JWKS_URL/)]);
    // Behind a proxy: the gateway on loopback, its public address elsewhere.
    expect(gatewayConfigProblems(readConfig(gatewayEnv, { PUBLIC_BASE_URL: 'https://orbit.example.com' }))).toHaveLength(1);
    expect(gatewayConfigProblems(readConfig(gatewayEnv, { ...reached, JWT_SECRET: 'too-short' }))).toEqual([expect.stringMatching(/^JWT_SECRET: is shorter than 32 bytes/)]);
  });

  it('takes the local key on loopback, a long key of one\'s own, and any key beside an identity provider\'s key set', () => {
    expect(gatewayConfigProblems(readConfig(gatewayEnv, {}))).toEqual([]);
    expect(gatewayConfigProblems(readConfig(gatewayEnv, { HOST: '::1', PUBLIC_BASE_URL: 'http://localhost:8080' }))).toEqual([]);
    expect(gatewayConfigProblems(readConfig(gatewayEnv, { ...reached, JWT_SECRET: 'x'.repeat(32) }))).toEqual([]);
    expect(gatewayConfigProblems(readConfig(gatewayEnv, { ...reached, JWT_JWKS_URL: 'https://idp.example.com/jwks' }))).toEqual([]);
    expect(gatewayConfigProblems(readConfig(gatewayEnv, { JWT_JWKS_URL: 'http://127.0.0.1:8180/realms/orbit/protocol/openid-connect/certs' }))).toEqual([]);
  });

  it('refuses an identity provider\'s key set fetched in the clear from another host', () => {
    expect(gatewayConfigProblems(readConfig(gatewayEnv, { JWT_JWKS_URL: 'http://idp.example.com/jwks' }))).toEqual([expect.stringMatching(/^JWT_JWKS_URL: is plain http to idp\.example\.com/)]);
  });
});

describe('the gateway\'s start-up check', () => {
  const problemsOf = (given: NodeJS.ProcessEnv): readonly string[] => configProblemsOf(() => readGatewayConfig(given));

  it('reports every bad variable in one go: the variables, the key where others reach the gateway, MySQL\'s and Kafka\'s', () => {
    const problems = problemsOf({
      LOG_LEVEL: 'verbose', MYSQL_URL: 'mysql://orbit:hunter2@db.example.com:3306/viewport?sslmode=require', HOST: '0.0.0.0',
      KAFKA_SASL_MECHANISM: 'plain', KAFKA_SASL_USERNAME: 'orbit', KAFKA_TLS_CA_FILE: '/nowhere/ca.pem',
    });
    expect(problems).toEqual([
      expect.stringMatching(/^LOG_LEVEL: .*\(got "verbose"\)$/),
      expect.stringMatching(/^JWT_SECRET: is the local stack's key/),
      expect.stringMatching(/^MYSQL_URL: \?sslmode is not read/),
      'KAFKA_SASL_PASSWORD: is missing: KAFKA_SASL_MECHANISM=plain needs a password',
      'KAFKA_TLS_CA_FILE: cannot read /nowhere/ca.pem (ENOENT)',
    ]);
    expect(problems.join('\n')).not.toContain('hunter2');
  });

  it('says nothing of the key when the variable it would be judged by is itself malformed', () => {
    expect(problemsOf({ HOST: '0.0.0.0', JWT_JWKS_URL: 'nope' })).toEqual(['JWT_JWKS_URL: must be a URL like https://idp.example.com/.well-known/jwks.json (got "nope")']);
  });

  it('reports the published key on a reachable HOST beside a malformed PUBLIC_BASE_URL, in the same round (found by a review)', () => {
    expect(problemsOf({ HOST: '0.0.0.0', PUBLIC_BASE_URL: 'not a url' })).toEqual([
      expect.stringMatching(/^PUBLIC_BASE_URL: /),
      expect.stringMatching(/^JWT_SECRET: is the local stack's key, published .* \(0\.0\.0\.0\)/),
    ]);
  });

  it('gives the variables with MySQL and Kafka as they are reached when all is well', () => {
    const { config, mysql, kafka } = readGatewayConfig({ PORT: '8081', KAFKA_BROKERS: 'broker:9093', KAFKA_SASL_MECHANISM: 'scram-sha-512', KAFKA_SASL_USERNAME: 'orbit', KAFKA_SASL_PASSWORD: 'secret' });
    expect(config.PORT).toBe(8081);
    expect(mysql).toEqual({ url: 'mysql://orbit:orbit@127.0.0.1:3306/viewport' });
    expect(kafka).toEqual({ brokers: ['broker:9093'], sasl: { mechanism: 'scram-sha-512', username: 'orbit', password: 'secret' } });
  });
});

describe('uploads by reference one owner may have under way (found by a race review: one owner\'s slow references stalled everyone\'s uploads)', () => {
  it('default to 2, and are refused at start, named, when no whole number from 1 to 64', () => {
    expect(readConfig(gatewayEnv, {}).ORBIT_MAX_PENDING_REFERENCE_UPLOADS).toBe(2);
    expect(readConfig(gatewayEnv, { ORBIT_MAX_PENDING_REFERENCE_UPLOADS: '5' }).ORBIT_MAX_PENDING_REFERENCE_UPLOADS).toBe(5);
    for (const given of ['0', '65', 'two']) expect(() => readConfig(gatewayEnv, { ORBIT_MAX_PENDING_REFERENCE_UPLOADS: given }), given).toThrow(/ORBIT_MAX_PENDING_REFERENCE_UPLOADS/);
  });
});

describe('uploads by reference one source registry may have under way, every owner\'s together (found by a review: six owners\' slow references to one registry took every detached handler)', () => {
  it('default to 6, and are refused at start, named, when no whole number from 1 to 64', () => {
    expect(readConfig(gatewayEnv, {}).ORBIT_MAX_PENDING_REFERENCE_UPLOADS_PER_REGISTRY).toBe(6);
    expect(readConfig(gatewayEnv, { ORBIT_MAX_PENDING_REFERENCE_UPLOADS_PER_REGISTRY: '64' }).ORBIT_MAX_PENDING_REFERENCE_UPLOADS_PER_REGISTRY).toBe(64);
    for (const given of ['0', '65', 'six', '2.5']) {
      expect(configProblemsOf(() => readConfig(gatewayEnv, { ORBIT_MAX_PENDING_REFERENCE_UPLOADS_PER_REGISTRY: given })), given)
        .toEqual([expect.stringMatching(/^ORBIT_MAX_PENDING_REFERENCE_UPLOADS_PER_REGISTRY/)]);
    }
  });
});

describe('archive uploads streaming through one gateway, per owner and in all (found by a review: one caller held 150 and took 775 MiB)', () => {
  it('default to 4 per owner and 32 in all, and are refused at start, named, when no whole number from 1 to 64 (per owner) or 1 to 1024 (in all)', () => {
    const config = readConfig(gatewayEnv, {});
    expect([config.ORBIT_MAX_STREAMED_UPLOADS_PER_OWNER, config.ORBIT_MAX_STREAMED_UPLOADS]).toEqual([8, 32]);
    expect(readConfig(gatewayEnv, { ORBIT_MAX_STREAMED_UPLOADS_PER_OWNER: '64', ORBIT_MAX_STREAMED_UPLOADS: '1024' })).toMatchObject({ ORBIT_MAX_STREAMED_UPLOADS_PER_OWNER: 64, ORBIT_MAX_STREAMED_UPLOADS: 1024 });
    for (const [variable, given] of [['ORBIT_MAX_STREAMED_UPLOADS_PER_OWNER', '0'], ['ORBIT_MAX_STREAMED_UPLOADS_PER_OWNER', '65'], ['ORBIT_MAX_STREAMED_UPLOADS', '0'], ['ORBIT_MAX_STREAMED_UPLOADS', '1025'], ['ORBIT_MAX_STREAMED_UPLOADS', 'many']] as const) {
      expect(configProblemsOf(() => readConfig(gatewayEnv, { [variable]: given })), `${variable}=${given}`).toEqual([expect.stringMatching(new RegExp(`^${variable}`))]);
    }
  });
});
