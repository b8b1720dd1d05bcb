import { describe, expect, it } from 'vitest';
import { readConfig } from './config.js';
import { corsOriginsEnv, s3PublicEndpointEnv } from './runtime-config.js';

describe('ORBIT_S3_PUBLIC_ENDPOINT', () => {
  const endpoint = (value: string | undefined) => readConfig(s3PublicEndpointEnv, value === undefined ? {} : { ORBIT_S3_PUBLIC_ENDPOINT: value }).ORBIT_S3_PUBLIC_ENDPOINT;

  it('is unset by default (presigned URLs name AWS_ENDPOINT_URL_S3), and taken as S3 will see it', () => {
    expect(endpoint(undefined)).toBeUndefined();
    expect(endpoint('  ')).toBeUndefined();
    expect(endpoint('https://S3.Example.com/')).toBe('https://s3.example.com');
    expect(endpoint('https://s3.example.com:443')).toBe('https://s3.example.com');
    expect(endpoint('http://minio.corp.example:9000')).toBe('http://minio.corp.example:9000');
    expect(endpoint('http://[::1]:9000')).toBe('http://[::1]:9000');
  });

  it('refuses at start what no presigned URL could work with, saying what it takes', () => {
    for (const value of ['https://s3.example.com/minio', 'https://s3.example.com/?x=1', 'https://s3.example.com/#a', 'https://key:secret@s3.example.com', 'ftp://s3.example.com', 's3.example.com', '127.0.0.1:9000']) {
      expect(() => endpoint(value), value).toThrow(/ORBIT_S3_PUBLIC_ENDPOINT: must be the S3 address callers reach, scheme, host and port only, like https:\/\/s3\.example\.com/);
    }
    // Credentials in it are not echoed back.
    expect(() => endpoint('https://key:secret@s3.example.com')).toThrow(/got "https:\/\/\[redacted\]@s3\.example\.com"/);
  });
});

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
