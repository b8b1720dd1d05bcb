import { fileURLToPath } from 'node:url';
import { newImageUID } from '@orbit/lib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testConfig, uniqueSuffix } from '../../../test/helpers/index.js';
import { silentListener, type SilentListener } from '../../../test/helpers/silent-listener.js';
import { runSourceCli } from '../../../test/helpers/source-cli.js';
import { privateViewport, type PrivateViewport } from '../../../test/helpers/viewport-db.js';

const cli = fileURLToPath(new URL('./reconcile-cli.ts', import.meta.url));
const imageUID = newImageUID();

let silent: SilentListener;
let silentEndpoint = '';
let viewport: PrivateViewport;

beforeAll(async () => {
  silent = await silentListener();
  silentEndpoint = `http://${silent.address}`;
  // A ViewPort of its own holding one succeeded transfer, so the dry run has a copy to look at in S3 whatever else the stack holds.
  viewport = await privateViewport('reconcile_cli');
  const requestId = `req-silent-s3-${uniqueSuffix()}`;
  await viewport.pool.query(
    "INSERT INTO viewport_requests (request_id, kind, image_uid, image_version, user_login, status, created_at, updated_at) VALUES (?, 'transfer', ?, 'v1-0-00', 'dev1', 'succeeded', UTC_TIMESTAMP(3), UTC_TIMESTAMP(3))",
    [requestId, imageUID]);
  await viewport.pool.query("INSERT INTO transfer_claims (image_uid, image_version, target_env, request_id) VALUES (?, 'v1-0-00', 'Testing', ?)", [imageUID, requestId]);
});
afterAll(async () => {
  await viewport.drop();
  await silent.close();
});

/** The dry run as a person runs it, on that ViewPort, S3 aside; stopped after 50 s so a hang fails the test instead of holding it. */
const dryRun = () => {
  const mysqlUrl = new URL(testConfig.MYSQL_URL);
  mysqlUrl.pathname = `/${viewport.database}`;
  return runSourceCli(cli, ['--dry-run'], { AWS_ENDPOINT_URL_S3: silentEndpoint, MYSQL_URL: mysqlUrl.toString() }, 50_000);
};

describe('transfers:reconcile --dry-run against an S3 that never answers', () => {
  it('fails within a minute naming the S3 call and object (found by a review: silent for over ten minutes)', async () => {
    const run = await dryRun();
    expect(run.seconds).toBeLessThan(45);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(new RegExp(`^transfers:reconcile failed: HeadObject s3://\\S+/${imageUID}-v1-0-00\\.tar: TimeoutError`, 'm'));
  }, 60_000);
});
