import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentListener, type SilentListener } from '../../../test/helpers/silent-listener.js';
import { runSourceCli } from '../../../test/helpers/source-cli.js';

const cli = fileURLToPath(new URL('./reconcile-cli.ts', import.meta.url));

let silent: SilentListener;
let silentEndpoint = '';

beforeAll(async () => {
  silent = await silentListener();
  silentEndpoint = `http://${silent.address}`;
});
afterAll(() => silent.close());

/** The dry run as a person runs it against the local stack, S3 aside; stopped after 50 s so a hang fails the test instead of holding it. */
const dryRun = () => runSourceCli(cli, ['--dry-run'], { AWS_ENDPOINT_URL_S3: silentEndpoint }, 50_000);

describe('transfers:reconcile --dry-run against an S3 that never answers', () => {
  it('fails within a minute naming the S3 call and object (found by a review: silent for over ten minutes)', async () => {
    const run = await dryRun();
    expect(run.seconds).toBeLessThan(45);
    // On a stack with nothing to look at in S3 it has nothing to wait for, and finishes at once.
    if (run.code === 1 && run.stderr !== '') expect(run.stderr).toMatch(/^transfers:reconcile failed: HeadObject s3:\/\/\S+: TimeoutError/m);
  }, 60_000);
});
