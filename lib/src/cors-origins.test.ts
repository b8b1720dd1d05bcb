import { describe, expect, it } from 'vitest';
import { readConfig } from './config.js';
import { corsOriginsEnv } from './cors-origins.js';

describe('ORBIT_CORS_ORIGINS, read the same by the gateway and by provisioning', () => {
  const origins = (value: string) => readConfig({ ORBIT_CORS_ORIGINS: corsOriginsEnv }, { ORBIT_CORS_ORIGINS: value }).ORBIT_CORS_ORIGINS;

  it('reads origins as browsers send them and refuses what is not one, naming it', () => {
    expect(origins('')).toEqual([]);
    expect(origins('https://Portal.Example.com/, http://localhost:5173,https://a.example:443')).toEqual(['https://portal.example.com', 'http://localhost:5173', 'https://a.example']);
    expect(origins('*')).toEqual(['*']);
    expect(() => origins('https://portal.example.com/app')).toThrow(/"https:\/\/portal.example.com\/app" is not an origin/);
    expect(() => origins('portal.example.com')).toThrow(/is not an origin/);
    expect(() => origins('*,https://portal.example.com')).toThrow(/\* alone/);
    // No wildcard inside an origin: it was taken as a host no browser sends, and never matched.
    expect(() => origins('https://*.portal.example.com')).toThrow(/\* inside an origin is no wildcard/);
  });
});
