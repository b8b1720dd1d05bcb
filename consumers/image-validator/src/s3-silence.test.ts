import { GetObjectCommand } from '@aws-sdk/client-s3';
import { describeError, readConfig, runtimeEnv } from '@orbit/lib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentListener, type SilentListener } from '../../../test/helpers/silent-listener.js';
import { validatorEnv, validatorS3 } from './config.js';

/**
 * Found by an SRE review: the validator took lib's S3 client with its ten minutes of silence (for server-side copies,
 * which it never makes), so an S3 that hung held an upload 10 to 20 minutes, long after it came back.
 */
describe('the validator\'s S3 client (ORBIT_S3_SILENCE_TIMEOUT_SECONDS)', () => {
  let s3Endpoint: SilentListener;
  beforeAll(async () => {
    process.env['AWS_ACCESS_KEY_ID'] ??= 'test';
    process.env['AWS_SECRET_ACCESS_KEY'] ??= 'test';
    s3Endpoint = await silentListener();
  });
  afterAll(async () => { await s3Endpoint.close(); });

  it('gives up reading a staged archive from an S3 that takes the connection and never answers within the silence configured, twice', async () => {
    const config = readConfig({ ...runtimeEnv, ...validatorEnv }, { AWS_ENDPOINT_URL_S3: `http://${s3Endpoint.address}`, ORBIT_S3_SILENCE_TIMEOUT_SECONDS: '5' });
    const started = Date.now();
    const error = await validatorS3(config).send(new GetObjectCommand({ Bucket: 'orbit-staging', Key: 'uploads/ada/req-1.tar' })).then(() => undefined, (caught: unknown) => caught);
    const waited = Date.now() - started;
    expect(describeError(error)).toMatch(/^GetObject s3:\/\/orbit-staging\/uploads\/ada\/req-1\.tar: TimeoutError/);
    // Two attempts of 5 s each and the SDK's short backoff between them: not lib's ten minutes.
    expect(waited).toBeGreaterThanOrEqual(9_000);
    expect(waited).toBeLessThan(15_000);
  }, 30_000);
});

describe('ORBIT_S3_SILENCE_TIMEOUT_SECONDS of the validator', () => {
  it('defaults to a minute and is refused outside 5 to 600', () => {
    expect(readConfig(validatorEnv, {}).ORBIT_S3_SILENCE_TIMEOUT_SECONDS).toBe(60);
    expect(readConfig(validatorEnv, { ORBIT_S3_SILENCE_TIMEOUT_SECONDS: '5' }).ORBIT_S3_SILENCE_TIMEOUT_SECONDS).toBe(5);
    expect(() => readConfig(validatorEnv, { ORBIT_S3_SILENCE_TIMEOUT_SECONDS: '4' })).toThrow(/ORBIT_S3_SILENCE_TIMEOUT_SECONDS/);
    expect(() => readConfig(validatorEnv, { ORBIT_S3_SILENCE_TIMEOUT_SECONDS: '601' })).toThrow(/ORBIT_S3_SILENCE_TIMEOUT_SECONDS/);
  });
});
