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

  it('names the user by preferred_username, else sub, unless told which claims to try', () => {
    expect(readConfig(gatewayEnv, {}).JWT_USERNAME_CLAIMS).toEqual(['preferred_username', 'sub']);
    expect(readConfig(gatewayEnv, { JWT_USERNAME_CLAIMS: 'oid, sub' }).JWT_USERNAME_CLAIMS).toEqual(['oid', 'sub']);
    expect(() => readConfig(gatewayEnv, { JWT_USERNAME_CLAIMS: ' , ' })).toThrow(/JWT_USERNAME_CLAIMS: must list at least one item/);
  });
});
