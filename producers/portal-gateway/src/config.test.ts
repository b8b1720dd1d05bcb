import { ConfigError, readConfig } from '@orbit/lib';
import { describe, expect, it } from 'vitest';
import { gatewayConfigProblems, gatewayEnv } from './config.js';

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
    expect(gatewayConfigProblems(readConfig(gatewayEnv, reached))).toEqual([expect.stringMatching(/^JWT_SECRET: is the local stack's key, published .* \(0\.0\.0\.0, orbit\.example\.com\).*Set JWT_JWKS_URL/)]);
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
