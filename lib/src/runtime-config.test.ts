import { describe, expect, it } from 'vitest';
import { readConfig } from './config.js';
import { s3PublicEndpointEnv } from './runtime-config.js';

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
