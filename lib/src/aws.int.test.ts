import { HeadBucketCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentProxy, type SilentProxy } from '../../test/helpers/silent-proxy.js';
import { testConfig } from '../../test/helpers/index.js';
import { createS3 } from './aws.js';
import { isRetriable } from './retry-classifier.js';

let proxy: SilentProxy;

beforeAll(async () => {
  const endpoint = new URL(testConfig.AWS_ENDPOINT_URL_S3);
  proxy = await silentProxy(endpoint.hostname, Number(endpoint.port || 80));
});

afterAll(async () => {
  proxy.speak();
  await proxy.close();
});

describe('an S3 that takes the connection and answers nothing', () => {
  it('fails a call with a retriable error after its silence timeout (two attempts), and answers again once S3 does', async () => {
    const s3 = createS3({ ...testConfig, AWS_ENDPOINT_URL_S3: `http://${proxy.address}` }, 1_000);
    const head = () => s3.send(new HeadBucketCommand({ Bucket: testConfig.ORBIT_BUCKET_STAGING }));
    await head();
    proxy.silence();
    const started = Date.now();
    const error = await head().then(() => undefined, (caught: unknown) => caught);
    const seconds = (Date.now() - started) / 1000;
    expect(error).toBeDefined();
    expect(isRetriable(error)).toBe(true);
    expect(seconds).toBeGreaterThanOrEqual(0.9);
    expect(seconds).toBeLessThan(5);
    proxy.speak();
    await expect(head()).resolves.toBeDefined();
    s3.destroy();
  }, 30_000);
});
