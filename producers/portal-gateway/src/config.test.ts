import { ConfigError, readConfig } from '@orbit/lib';
import { describe, expect, it } from 'vitest';
import { gatewayEnv } from './config.js';

describe('the gateway configuration', () => {
  it('reads roles from Orbit\'s, Keycloak\'s realm and Keycloak\'s client claims unless told otherwise', () => {
    expect(readConfig(gatewayEnv, {}).JWT_ROLES_CLAIMS).toEqual(['roles', 'realm_access.roles', 'resource_access.{audience}.roles']);
    expect(readConfig(gatewayEnv, { JWT_ROLES_CLAIMS: 'groups, https://orbit.example.com/roles' }).JWT_ROLES_CLAIMS).toEqual(['groups', 'https://orbit.example.com/roles']);
  });

  it('refuses a roles claim path with an empty segment, by name', () => {
    expect(() => readConfig(gatewayEnv, { JWT_ROLES_CLAIMS: 'realm_access..roles' })).toThrow(ConfigError);
    expect(() => readConfig(gatewayEnv, { JWT_ROLES_CLAIMS: 'realm_access..roles' })).toThrow(/JWT_ROLES_CLAIMS: must be dotted claim paths/);
  });
});
