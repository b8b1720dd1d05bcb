import { fileURLToPath } from 'node:url';
import { DeleteCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { createDynamo, kustomizeTableKeyOf, newImageUID, tableName } from '@orbit/lib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testConfig } from '../../../test/helpers/index.js';
import { silentListener, type SilentListener } from '../../../test/helpers/silent-listener.js';
import { runSourceCli } from '../../../test/helpers/source-cli.js';

const cli = fileURLToPath(new URL('./charts-push-cli.ts', import.meta.url));
const dynamo = createDynamo(testConfig);
const developmentTable = tableName(kustomizeTableKeyOf('Development'), testConfig);
// A charted version of its own, so the dry run has a chart to read from S3 whatever else the stack holds.
const imageUID = newImageUID();
const helmChartName = `${imageUID}-v1-0-00`;

let silent: SilentListener;
let silentEndpoint = '';

beforeAll(async () => {
  silent = await silentListener();
  silentEndpoint = `http://${silent.address}`;
  await dynamo.send(new PutCommand({
    TableName: developmentTable,
    Item: {
      helmChartName, imageUID, imageVersion: 'v1-0-00', chartName: 'web', environment: 'Development', chartSha256: 'c'.repeat(64),
      chart: { bucket: testConfig.ORBIT_BUCKET_CHARTS, key: `${helmChartName}/web-1.0.0.tgz`, versionId: null },
    },
  }));
});
afterAll(async () => {
  await dynamo.send(new DeleteCommand({ TableName: developmentTable, Key: { helmChartName } }));
  await silent.close();
});

/** The dry run of that version's chart as a person runs it against the local stack, S3 aside; stopped after 50 s so a hang fails the test instead of holding it. */
const dryRun = () => runSourceCli(cli, ['--dry-run', '--image', imageUID], { AWS_ENDPOINT_URL_S3: silentEndpoint }, 50_000);

describe('charts:push --dry-run against an S3 that never answers', () => {
  it('fails within a minute naming the S3 call and object (found by a review: silent for over ten minutes)', async () => {
    const run = await dryRun();
    expect(run.seconds).toBeLessThan(45);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(new RegExp(`^charts:push failed: GetObject s3://${testConfig.ORBIT_BUCKET_CHARTS}/${helmChartName}/web-1\\.0\\.0\\.tgz: TimeoutError`, 'm'));
  }, 60_000);
});
