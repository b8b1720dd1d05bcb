import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { DeleteObjectCommand, HeadObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { DeleteCommand, GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { bucketNames, createDynamo, createMysqlPool, createS3, databaseOf, imageBucketOf, kustomizeTableKeyOf, newImageUID, tableName, type EnvironmentName } from '@orbit/lib';
import type { Pool, RowDataPacket } from 'mysql2/promise';
import { describe, expect, it } from 'vitest';
import { testConfig, uniqueSuffix } from '../../../test/helpers/index.js';
import { runSourceCli } from '../../../test/helpers/source-cli.js';
import { privateViewport } from '../../../test/helpers/viewport-db.js';
import { findLeftoverCopies, removeLeftoverCopies, type LeftoverDeps } from './leftover-copies.js';
import {
  checkTransfer, findBrokenTransfers, lockReconcile, ReconcileLockLostError, reconcileLockName, ReconcileRunningError, recordRedrives, transfersToCheck, unknownImages, type ReconcileDeps, type TransferRecord,
} from './reconcile.js';
import { storedKeyOf } from './store-image.js';

const s3 = createS3(testConfig);
const dynamo = createDynamo(testConfig);
const buckets = bucketNames(testConfig);
const deps: ReconcileDeps = {
  s3, dynamo, metadataTable: tableName('appImageMetadata', testConfig), bucketOf: (environment) => imageBucketOf(environment, buckets),
  kustomizeTableOf: (environment) => tableName(kustomizeTableKeyOf(environment), testConfig),
  registryOf: () => 'registry.example.com/orbit',
};

/** A transfer as the pipeline leaves it: the image in both buckets, the chart row in both tables, the Testing row promoted from the other. */
const manifestsFor = (environment: EnvironmentName) => ({ inline: JSON.stringify([{ kind: 'Deployment', metadata: { name: 'web', labels: { environment } }, spec: { replicas: 1 } }]) });

async function healthyTransfer(): Promise<{ transfer: TransferRecord; key: string; sha256: string; targetRow: Record<string, unknown> }> {
  const transfer: TransferRecord = {
    requestId: `req-${uniqueSuffix()}`, imageUID: newImageUID(), imageVersion: 'v1-0-00', owner: 'reconcile-test', notes: 'qa sign-off', source: 'Development', target: 'Testing',
  };
  const key = storedKeyOf(transfer.imageUID, transfer.imageVersion);
  const body = Buffer.from(`image ${transfer.imageUID}`);
  const sha256 = createHash('sha256').update(body).digest('hex');
  const put = (environment: EnvironmentName) => s3.send(new PutObjectCommand({
    Bucket: deps.bucketOf(environment), Key: key, Body: body, ServerSideEncryption: 'AES256', ChecksumSHA256: Buffer.from(sha256, 'hex').toString('base64'),
  }));
  const stored = await put('Development');
  const copy = await put('Testing');
  await dynamo.send(new PutCommand({ TableName: deps.metadataTable, Item: { imageUID: transfer.imageUID, imageVersion: transfer.imageVersion, sha256, versionId: stored.VersionId ?? null } }));
  const sourceRow = {
    helmChartName: `${transfer.imageUID}-${transfer.imageVersion}`, chartName: 'web', chartSha256: 'c'.repeat(64), manifests: manifestsFor('Development'),
    chart: { bucket: testConfig.ORBIT_BUCKET_CHARTS, key: `${transfer.imageUID}-${transfer.imageVersion}/web-1.0.0.tgz`, versionId: 'c1' },
    environment: 'Development', image: { bucket: deps.bucketOf('Development'), key, versionId: null },
  };
  const targetRow = {
    ...sourceRow, environment: 'Testing', manifests: manifestsFor('Testing'), image: { bucket: deps.bucketOf('Testing'), key, versionId: copy.VersionId ?? null }, imageSha256: sha256,
    promotedFrom: 'Development', transferRequestId: transfer.requestId,
  };
  await dynamo.send(new PutCommand({ TableName: deps.kustomizeTableOf('Development'), Item: sourceRow }));
  await dynamo.send(new PutCommand({ TableName: deps.kustomizeTableOf('Testing'), Item: targetRow }));
  return { transfer, key, sha256, targetRow };
}

describe('transfers:reconcile checks against MinIO and DynamoDB Local', () => {
  it('finds nothing wrong with a healthy transfer', async () => {
    const { transfer } = await healthyTransfer();
    expect(await checkTransfer(transfer, deps)).toEqual({ source: 'Development', problems: [], repairable: true });
  });

  it('holds a copy to the bytes that were validated, not to what was put in Development after them', async () => {
    const { transfer, key } = await healthyTransfer();
    const other = Buffer.from('put there out of band');
    await s3.send(new PutObjectCommand({ Bucket: deps.bucketOf('Development'), Key: key, Body: other, ChecksumSHA256: createHash('sha256').update(other).digest('base64') }));
    // The Testing copy is the validated image: nothing to re-drive (a re-drive would copy the validated version again).
    expect(await checkTransfer(transfer, deps)).toEqual({ source: 'Development', problems: [], repairable: true });
  });

  it('reports a chart row that is there but differs from its source row, as one a re-drive repairs', async () => {
    const { transfer, targetRow } = await healthyTransfer();
    await dynamo.send(new PutCommand({ TableName: deps.kustomizeTableOf('Testing'), Item: { ...targetRow, manifests: manifestsFor('Development'), imageSha256: 'f'.repeat(64) } }));
    const check = await checkTransfer(transfer, deps);
    expect(check.repairable).toBe(true);
    expect(check.problems).toHaveLength(1);
    expect(check.problems[0]).toContain("manifests are Development's, not Testing's");
    expect(check.problems[0]).toContain(`imageSha256 is ${'f'.repeat(64)}`);
  });

  it('re-drives a version promoted before its environment got a registry of its own, reading the upload\'s row for a later environment', async () => {
    const { transfer, targetRow } = await healthyTransfer();
    const testingOwn: ReconcileDeps = { ...deps, registryOf: (environment) => (environment === 'Testing' ? 'harbor-testing.example/orbit' : 'registry.example.com/orbit') };
    expect(await checkTransfer(transfer, testingOwn)).toEqual({ source: 'Development', problems: [expect.stringContaining('pulls from the upload registry, not Testing\'s own registry harbor-testing.example/orbit')], repairable: true });

    // Testing with a registry of its own, then Staging without one: Staging must serve the upload's chart, which only the Development row holds.
    const testingChart = { bucket: testConfig.ORBIT_BUCKET_CHARTS, key: `${transfer.imageUID}-v1-0-00/testing/web-1.0.0.tgz`, versionId: 't1' };
    await dynamo.send(new PutCommand({ TableName: deps.kustomizeTableOf('Testing'), Item: { ...targetRow, imageReference: `harbor-testing.example/orbit/web@sha256:${'1'.repeat(64)}`, chart: testingChart, chartSha256: 'd'.repeat(64) } }));
    expect(await checkTransfer(transfer, testingOwn)).toEqual({ source: 'Development', problems: [], repairable: true });
    const { VersionId } = await s3.send(new PutObjectCommand({ Bucket: deps.bucketOf('Staging'), Key: storedKeyOf(transfer.imageUID, 'v1-0-00'), Body: Buffer.from(`image ${transfer.imageUID}`), ServerSideEncryption: 'AES256',
      ChecksumSHA256: createHash('sha256').update(`image ${transfer.imageUID}`).digest('base64'),
    }));
    const stagingRow = { ...targetRow, environment: 'Staging', manifests: manifestsFor('Staging'), image: { bucket: deps.bucketOf('Staging'), key: storedKeyOf(transfer.imageUID, 'v1-0-00'), versionId: VersionId ?? null }, promotedFrom: 'Testing' };
    await dynamo.send(new PutCommand({ TableName: deps.kustomizeTableOf('Staging'), Item: stagingRow }));
    const toStaging: TransferRecord = { ...transfer, requestId: `${transfer.requestId}-s`, source: 'Testing', target: 'Staging' };
    expect(await checkTransfer(toStaging, testingOwn)).toEqual({ source: 'Testing', problems: [], repairable: true });
    await dynamo.send(new PutCommand({ TableName: deps.kustomizeTableOf('Staging'), Item: { ...stagingRow, chart: testingChart, chartSha256: 'd'.repeat(64) } }));
    expect((await checkTransfer(toStaging, testingOwn)).problems).toEqual([expect.stringContaining(`serves chart ${testingChart.bucket}/${testingChart.key}@t1, not the version's`)]);
  });

  it('reports a transfer whose source copy or source chart row is gone as one no re-drive can repair', async () => {
    const lostImage = await healthyTransfer();
    // Gone for good: its version deleted, not hidden behind a delete marker (a hidden version is still copied from).
    const { VersionId } = await s3.send(new HeadObjectCommand({ Bucket: deps.bucketOf('Development'), Key: lostImage.key }));
    await s3.send(new DeleteObjectCommand({ Bucket: deps.bucketOf('Development'), Key: lostImage.key, VersionId }));
    const lostRow = await healthyTransfer();
    await dynamo.send(new DeleteCommand({ TableName: deps.kustomizeTableOf('Development'), Key: { helmChartName: `${lostRow.transfer.imageUID}-v1-0-00` } }));
    const healthy = await healthyTransfer();

    const findings = await findBrokenTransfers([lostImage.transfer, healthy.transfer, lostRow.transfer], deps);
    expect(findings.map((finding) => [finding.transfer.requestId, finding.repairable])).toEqual([[lostImage.transfer.requestId, false], [lostRow.transfer.requestId, false]]);
    expect(findings[0]?.problems).toEqual([`${deps.bucketOf('Development')}/${lostImage.key} is missing: no source to copy from again`]);
    expect(findings[1]?.problems[0]).toContain(`missing from ${deps.kustomizeTableOf('Development')} as well`);
  });
});

describe('which transfers transfers:reconcile looks at (MySQL)', () => {
  it('takes every succeeded transfer, and the unfinished ones that have not moved for the given minutes', async () => {
    const viewport = await privateViewport('reconcile');
    try {
      const uids = new Map<string, string>();
      const recorded = async (label: string, status: string, idleMinutes: number, target = 'Testing'): Promise<string> => {
        const requestId = `req-${label}-${uniqueSuffix()}`;
        const imageUID = newImageUID();
        uids.set(requestId, imageUID);
        await viewport.pool.query(
          "INSERT INTO viewport_requests (request_id, kind, image_uid, image_version, user_login, status, created_at, updated_at) VALUES (?, 'transfer', ?, 'v1-0-00', 'dev1', ?, UTC_TIMESTAMP(3) - INTERVAL ? MINUTE, UTC_TIMESTAMP(3) - INTERVAL ? MINUTE)",
          [requestId, imageUID, status, idleMinutes + 1, idleMinutes]);
        await viewport.pool.query('INSERT INTO transfer_claims (image_uid, image_version, target_env, request_id) VALUES (?, ?, ?, ?)', [imageUID, 'v1-0-00', target, requestId]);
        return requestId;
      };
      const done = await recorded('done', 'succeeded', 120, 'Staging');
      const lost = await recorded('lost', 'accepted', 60);
      const stalled = await recorded('stalled', 'running', 45);
      await recorded('moving', 'running', 5);
      await recorded('failed', 'failed', 90);
      const chain = ['Development', 'Testing', 'Staging', 'Production'] as const;

      const checked = await transfersToCheck(viewport.pool, chain, 30);
      expect(checked.map((transfer) => [transfer.requestId, transfer.source, transfer.target, transfer.stuck?.status ?? 'succeeded'])).toEqual([
        [done, 'Testing', 'Staging', 'succeeded'], [lost, 'Development', 'Testing', 'accepted'], [stalled, 'Development', 'Testing', 'running'],
      ]);
      expect(checked[2]?.stuck?.idleMinutes).toBe(45);
      expect((await transfersToCheck(viewport.pool, chain)).map((transfer) => transfer.requestId)).toEqual([done]);
      // --image: only the transfers of the images named.
      expect((await transfersToCheck(viewport.pool, chain, 30, [uids.get(lost)!, uids.get(done)!])).map((transfer) => transfer.requestId)).toEqual([done, lost]);
      expect(await transfersToCheck(viewport.pool, chain, 30, [newImageUID()])).toEqual([]);
      // A UID ViewPort does not know is named, so a typo does not read as "0 need repair" (found by a probe).
      const known = uids.get(done)!;
      await viewport.pool.query("INSERT INTO wp_image_uid (image_uid, post_id, user_login, image_name, created_at, updated_at) VALUES (?, 1, 'dev1', 'known', NOW(3), NOW(3))", [known]);
      const typo = newImageUID();
      expect(await unknownImages(viewport.pool, [known, typo])).toEqual([typo]);
      expect(await unknownImages(viewport.pool, [])).toEqual([]);
      // A stuck transfer is re-driven whatever its copy looks like: the same request again ends it, done or failed with a reason.
      expect(await checkTransfer(checked[1] as TransferRecord, deps)).toEqual({ source: 'Development', problems: ['still accepted, nothing moved for 60 min'], repairable: true });

      // Staging taken out of the chain: the transfer into it is still checked (its chart row says where it came from).
      const shortened = await transfersToCheck(viewport.pool, ['Development', 'Testing', 'Production'], 30);
      expect(shortened.map((transfer) => [transfer.requestId, transfer.source])).toEqual([[done, undefined], [lost, 'Development'], [stalled, 'Development']]);

      // Re-driven, a stuck transfer is left alone for another --stuck-after (one waiting out an outage is not re-driven by every run); a finished row keeps its time.
      const timeOf = async (requestId: string): Promise<string> => {
        const [rows] = await viewport.pool.query<RowDataPacket[]>('SELECT updated_at FROM viewport_requests WHERE request_id = ?', [requestId]);
        return String(rows[0]?.['updated_at']);
      };
      const doneAt = await timeOf(done);
      await recordRedrives(viewport.pool, checked);
      expect((await transfersToCheck(viewport.pool, chain, 30)).map((transfer) => transfer.requestId)).toEqual([done]);
      expect((await transfersToCheck(viewport.pool, chain, 0)).map((transfer) => transfer.requestId)).toEqual(expect.arrayContaining([lost, stalled]));
      expect(await timeOf(done)).toBe(doneAt);
    } finally {
      await viewport.drop();
    }
  });
});

describe('one transfers:reconcile at a time', () => {
  // Two runs at once both re-drove the same transfer: its steps ran three times. A database name of its own, so a real
  // run against the stack's is neither refused by this test nor refuses it.
  const database = `${databaseOf(testConfig.MYSQL_URL)}_reconcile_${uniqueSuffix()}`;

  it('refuses a second run at once while one holds the lock, and lets the next one run once it is released', async () => {
    const first = await lockReconcile(testConfig.MYSQL_URL, undefined, database);
    try {
      const started = Date.now();
      const refused = await lockReconcile(testConfig.MYSQL_URL, undefined, database).then(() => undefined, (error: unknown) => error);
      expect(Date.now() - started).toBeLessThan(2_000);
      expect(refused).toBeInstanceOf(ReconcileRunningError);
      expect(refused).toMatchObject({ code: 'ORBIT_ERR_RECONCILE_RUNNING' });
      expect((refused as Error).message).toMatch(/already running; nothing was checked or re-driven by this one/);
      await expect(first.assertHeld()).resolves.toBeUndefined();
    } finally {
      await first.release();
    }
    const next = await lockReconcile(testConfig.MYSQL_URL, undefined, database);
    await next.release();
  });

  it('refuses a second `npm run transfers:reconcile` at once (exit 75), and lets a --dry-run run beside the first', async () => {
    const viewport = await privateViewport('reconcilecli');
    const url = new URL(testConfig.MYSQL_URL);
    url.pathname = `/${viewport.database}`;
    const run = (...args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> => new Promise((resolve) => {
      const child = spawn(process.execPath, ['--conditions=@orbit/source', '--import', 'tsx', fileURLToPath(new URL('./reconcile-cli.ts', import.meta.url)), ...args], {
        stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, MYSQL_URL: url.toString() },
      });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (chunk: Buffer) => { stdout += chunk.toString(); });
      child.stderr.on('data', (chunk: Buffer) => { stderr += chunk.toString(); });
      child.on('exit', (code) => resolve({ code, stdout, stderr }));
    });
    const first = await lockReconcile(url.toString(), undefined, viewport.database);
    try {
      const second = await run();
      expect(second.code).toBe(75);
      expect(second.stderr).toContain(`ORBIT_ERR_RECONCILE_RUNNING: a transfers:reconcile of ${viewport.database} is already running`);
      expect(second.stdout).toBe('');
      const dry = await run('--dry-run');
      expect(dry.code).toBe(0);
      expect(dry.stdout).toContain('checked 0 succeeded and 0 stuck transfers; 0 need repair');
    } finally {
      await first.release();
      await viewport.drop();
    }
  }, 60_000);

  it('says so before re-driving once its lock went with its connection', async () => {
    const pool = createMysqlPool(testConfig.MYSQL_URL, 1);
    const lock = await lockReconcile(testConfig.MYSQL_URL, undefined, database);
    try {
      const [rows] = await pool.query<RowDataPacket[]>('SELECT IS_USED_LOCK(?) AS holder', [reconcileLockName(database)]);
      await pool.query(`KILL ${Number(rows[0]?.['holder'])}`);
      await expect(lock.assertHeld()).rejects.toBeInstanceOf(ReconcileLockLostError);
    } finally {
      await lock.release();
      await pool.end();
    }
  });
});

describe('transfers:reconcile removes the copies failed transfers left in their target (MinIO, DynamoDB Local, a ViewPort of its own)', () => {
  const cli = fileURLToPath(new URL('./reconcile-cli.ts', import.meta.url));
  const owner = 'fix43orphan-owner';
  const leftoverDeps: LeftoverDeps = { ...deps, chain: ['Development', 'Testing', 'Staging', 'Production'] };
  const locationOf = async (imageUID: string, environment = 'Testing'): Promise<unknown> =>
    (await dynamo.send(new GetCommand({ TableName: deps.metadataTable, Key: { imageUID, imageVersion: 'v1-0-00' }, ConsistentRead: true }))).Item?.[`location${environment}`];
  const versionExists = (bucket: string, key: string, versionId: string): Promise<boolean> =>
    s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key, VersionId: versionId })).then(() => true, (error: unknown) => {
      if ((error as { name?: string }).name === 'NotFound') return false;
      throw error;
    });

  interface Leftover { imageUID: string; requestId: string; key: string; stored: string; copy: string }

  /**
   * What a Development -> Testing transfer whose chart step failed leaves (s4-transfer-midway): the upload and its
   * Development chart row, the Testing copy (named after the request that made it) and `locationTesting`, no Testing
   * chart row, and ViewPort's request `status` (failed with `errorCode`) holding the claim.
   */
  async function failedTransfer(pool: Pool, { status = 'failed', errorCode = 'CHART_ROW', madeBy, prefix = 'fix43orphan' }: { status?: string; errorCode?: string | null; madeBy?: string; prefix?: string } = {}): Promise<Leftover> {
    const imageUID = `${prefix}${newImageUID().slice(prefix.length)}`;
    const requestId = `req-${prefix}-${uniqueSuffix()}`;
    const key = storedKeyOf(imageUID, 'v1-0-00');
    const body = Buffer.from(`image ${imageUID}`);
    const sha256 = createHash('sha256').update(body).digest('hex');
    const put = (environment: EnvironmentName, metadata: Record<string, string> = {}) => s3.send(new PutObjectCommand({
      Bucket: deps.bucketOf(environment), Key: key, Body: body, ServerSideEncryption: 'AES256', ChecksumSHA256: Buffer.from(sha256, 'hex').toString('base64'), Metadata: metadata,
    }));
    const stored = await put('Development');
    const copy = await put('Testing', { 'orbit-sha256': sha256, 'orbit-transfer-request-id': madeBy ?? requestId });
    await dynamo.send(new PutCommand({ TableName: deps.metadataTable, Item: {
      imageUID, imageVersion: 'v1-0-00', sha256, username: owner, bucket: deps.bucketOf('Development'), key, versionId: stored.VersionId ?? null,
      locationTesting: { bucket: deps.bucketOf('Testing'), key, versionId: copy.VersionId ?? null },
    } }));
    await dynamo.send(new PutCommand({ TableName: deps.kustomizeTableOf('Development'), Item: { helmChartName: `${imageUID}-v1-0-00`, environment: 'Development', owner, image: { bucket: deps.bucketOf('Development'), key, versionId: stored.VersionId ?? null } } }));
    await pool.query("INSERT INTO wp_image_uid (image_uid, post_id, user_login, image_name, created_at, updated_at) VALUES (?, 1, ?, 'fix43orphan', NOW(3), NOW(3))", [imageUID, owner]);
    await pool.query(
      "INSERT INTO viewport_requests (request_id, kind, image_uid, image_version, user_login, status, error_code, created_at, updated_at) VALUES (?, 'transfer', ?, 'v1-0-00', ?, ?, ?, UTC_TIMESTAMP(3), UTC_TIMESTAMP(3))",
      [requestId, imageUID, owner, status, status === 'failed' ? errorCode : null]);
    await pool.query("INSERT INTO transfer_claims (image_uid, image_version, target_env, request_id) VALUES (?, 'v1-0-00', 'Testing', ?)", [imageUID, requestId]);
    return { imageUID, requestId, key, stored: stored.VersionId ?? '', copy: copy.VersionId ?? '' };
  }

  it('reports the copy on --dry-run, changing nothing, and removes exactly it and its locationTesting on a run (the upload and its row stay)', async () => {
    const viewport = await privateViewport('fix43orphan_cli');
    try {
      const left = await failedTransfer(viewport.pool);
      const mysqlUrl = new URL(testConfig.MYSQL_URL);
      mysqlUrl.pathname = `/${viewport.database}`;
      const run = (...args: string[]) => runSourceCli(cli, [...args, '--image', left.imageUID], { MYSQL_URL: mysqlUrl.toString() }, 50_000);

      const dry = await run('--dry-run');
      expect(dry.stdout).toContain('1 leftover copies of failed transfers found');
      expect(dry.stdout).toContain(`  ${left.imageUID} v1-0-00 Testing: ${deps.bucketOf('Testing')}/${left.key}@${left.copy} (transfer ${left.requestId} failed)`);
      expect(dry.code).toBe(1);
      expect(await versionExists(deps.bucketOf('Testing'), left.key, left.copy)).toBe(true);
      expect(await locationOf(left.imageUID)).toEqual({ bucket: deps.bucketOf('Testing'), key: left.key, versionId: left.copy });

      const fixed = await run();
      expect(fixed.stdout).toContain('1 leftover copies removed');
      expect(fixed.code).toBe(0);
      expect(await versionExists(deps.bucketOf('Testing'), left.key, left.copy)).toBe(false);
      expect(await locationOf(left.imageUID)).toBeUndefined();
      // The source copy (the upload) and its chart row are never touched.
      expect(await versionExists(deps.bucketOf('Development'), left.key, left.stored)).toBe(true);
      expect((await dynamo.send(new GetCommand({ TableName: deps.kustomizeTableOf('Development'), Key: { helmChartName: `${left.imageUID}-v1-0-00` } }))).Item).toBeDefined();

      const again = await run('--dry-run');
      expect(again.stdout).toContain('0 leftover copies of failed transfers found');
      expect(again.code).toBe(0);
    } finally {
      await viewport.drop();
    }
  }, 120_000);

  it('leaves a copy whose transfer succeeded, runs, or was dead-lettered, one a chart row holds, and one ViewPort knows no transfer of', async () => {
    const viewport = await privateViewport('fix43orphan_kept');
    try {
      const running = await failedTransfer(viewport.pool, { status: 'running' });
      const succeeded = await failedTransfer(viewport.pool, { status: 'succeeded' });
      const deadLettered = await failedTransfer(viewport.pool, { errorCode: 'DEAD_LETTERED' });
      const charted = await failedTransfer(viewport.pool);
      await dynamo.send(new PutCommand({ TableName: deps.kustomizeTableOf('Testing'), Item: { helmChartName: `${charted.imageUID}-v1-0-00`, environment: 'Testing', owner } }));
      const unknown = await failedTransfer(viewport.pool);
      await viewport.pool.query('DELETE FROM transfer_claims WHERE image_uid = ?', [unknown.imageUID]);
      // Its version went on from Testing to Staging (the transfer runs): the Testing copy may be what it reads.
      const source = await failedTransfer(viewport.pool);
      await viewport.pool.query("INSERT INTO viewport_requests (request_id, kind, image_uid, image_version, user_login, status, created_at, updated_at) VALUES (?, 'transfer', ?, 'v1-0-00', ?, 'accepted', UTC_TIMESTAMP(3), UTC_TIMESTAMP(3))", [`${source.requestId}-s`, source.imageUID, owner]);
      await viewport.pool.query("INSERT INTO transfer_claims (image_uid, image_version, target_env, request_id) VALUES (?, 'v1-0-00', 'Staging', ?)", [source.imageUID, `${source.requestId}-s`]);
      const left = await failedTransfer(viewport.pool);

      const all = [running, succeeded, deadLettered, charted, unknown, source, left].map(({ imageUID }) => imageUID);
      const found = await findLeftoverCopies(viewport.pool, leftoverDeps, all);
      expect(found.leftovers.map(({ imageUID, environment, failedRequestId, objectGone }) => [imageUID, environment, failedRequestId, objectGone])).toEqual([[left.imageUID, 'Testing', left.requestId, false]]);
      expect(found.questionable).toEqual([]);
    } finally {
      await viewport.drop();
    }
  });

  it('reads only the versions ViewPort holds a failed transfer of: no scan, and a healthy version\'s rows are never asked for', async () => {
    const viewport = await privateViewport('s44hw_reads');
    try {
      const left = await failedTransfer(viewport.pool, { prefix: 's44hw' });
      // A copy of a transfer that succeeded (in the test as failedTransfer leaves it but for the status: no chart row), and one ViewPort knows no transfer of.
      const healthy = await failedTransfer(viewport.pool, { status: 'succeeded', prefix: 's44hw' });
      const unknown = await failedTransfer(viewport.pool, { prefix: 's44hw' });
      await viewport.pool.query('DELETE FROM transfer_claims WHERE image_uid = ?', [unknown.imageUID]);
      const sent: { name: string; input: Record<string, unknown> }[] = [];
      const counting = new Proxy(dynamo, {
        get(target, property, receiver) {
          if (property !== 'send') return Reflect.get(target, property, receiver) as unknown;
          return (command: Parameters<typeof dynamo.send>[0]) => {
            sent.push({ name: command.constructor.name, input: command.input as Record<string, unknown> });
            return target.send(command);
          };
        },
      });
      // The whole ViewPort, no --image: what a plain run reads.
      const found = await findLeftoverCopies(viewport.pool, { ...leftoverDeps, dynamo: counting });
      expect(found.leftovers.map(({ imageUID, failedRequestId }) => [imageUID, failedRequestId])).toEqual([[left.imageUID, left.requestId]]);
      expect(sent.map(({ name }) => name).filter((name) => name !== 'GetCommand')).toEqual([]);
      const named = (imageUID: string) => sent.filter(({ input }) => JSON.stringify(input['Key']).includes(imageUID));
      expect(named(healthy.imageUID)).toEqual([]);
      expect(named(unknown.imageUID)).toEqual([]);
      // Its metadata row, and its Testing chart row.
      expect(named(left.imageUID).map(({ input }) => input['TableName'])).toEqual([deps.metadataTable, deps.kustomizeTableOf('Testing')]);
    } finally {
      await viewport.drop();
    }
  });

  it('leaves to a person a copy another transfer that did not fail made (orbit-transfer-request-id)', async () => {
    const viewport = await privateViewport('fix43orphan_madeby');
    try {
      const other = `req-fix43orphan-other-${uniqueSuffix()}`;
      await viewport.pool.query("INSERT INTO viewport_requests (request_id, kind, image_uid, image_version, user_login, status, created_at, updated_at) VALUES (?, 'transfer', 'x', 'v1-0-00', ?, 'succeeded', UTC_TIMESTAMP(3), UTC_TIMESTAMP(3))", [other, owner]);
      const left = await failedTransfer(viewport.pool, { madeBy: other });
      const found = await findLeftoverCopies(viewport.pool, leftoverDeps, [left.imageUID]);
      expect(found.leftovers).toEqual([]);
      expect(found.questionable.map(({ imageUID, why }) => [imageUID, why])).toEqual([[left.imageUID, expect.stringContaining(`was copied by transfer ${other}, which is succeeded`)]]);
      // An earlier transfer into Testing that failed too made it: a leftover all the same.
      await viewport.pool.query("UPDATE viewport_requests SET status = 'failed', error_code = 'CHART_NOT_FOUND' WHERE request_id = ?", [other]);
      expect((await findLeftoverCopies(viewport.pool, leftoverDeps, [left.imageUID])).leftovers.map(({ imageUID }) => imageUID)).toEqual([left.imageUID]);
    } finally {
      await viewport.drop();
    }
  });

  it('re-checks right before deleting: a transfer into the environment accepted since keeps the copy; a copy recorded since keeps its attribute', async () => {
    const viewport = await privateViewport('fix43orphan_race');
    try {
      const accepted = await failedTransfer(viewport.pool);
      const replaced = await failedTransfer(viewport.pool);
      const { leftovers } = await findLeftoverCopies(viewport.pool, leftoverDeps, [accepted.imageUID, replaced.imageUID]);
      expect(leftovers).toHaveLength(2);

      // The transfer asked for again (the failed claim is replaced) after the scan.
      const again = `${accepted.requestId}-again`;
      await viewport.pool.query("INSERT INTO viewport_requests (request_id, kind, image_uid, image_version, user_login, status, created_at, updated_at) VALUES (?, 'transfer', ?, 'v1-0-00', ?, 'accepted', UTC_TIMESTAMP(3), UTC_TIMESTAMP(3))", [again, accepted.imageUID, owner]);
      await viewport.pool.query("UPDATE transfer_claims SET request_id = ? WHERE image_uid = ? AND target_env = 'Testing'", [again, accepted.imageUID]);
      // A copy of its own recorded meanwhile (a transfer between the re-check and the delete): the old version goes, the new record stays.
      const newer = { bucket: deps.bucketOf('Testing'), key: replaced.key, versionId: 'fix43orphan-newer' };
      await dynamo.send(new UpdateCommand({ TableName: deps.metadataTable, Key: { imageUID: replaced.imageUID, imageVersion: 'v1-0-00' }, UpdateExpression: 'SET locationTesting = :l', ExpressionAttributeValues: { ':l': newer } }));

      const outcome = await removeLeftoverCopies(leftovers, viewport.pool, leftoverDeps);
      expect(outcome.inUse.map(({ imageUID }) => imageUID)).toEqual([accepted.imageUID]);
      expect(outcome.removed.map(({ imageUID }) => imageUID)).toEqual([replaced.imageUID]);
      expect(await versionExists(deps.bucketOf('Testing'), accepted.key, accepted.copy)).toBe(true);
      expect(await locationOf(accepted.imageUID)).toEqual({ bucket: deps.bucketOf('Testing'), key: accepted.key, versionId: accepted.copy });
      expect(await versionExists(deps.bucketOf('Testing'), replaced.key, replaced.copy)).toBe(false);
      expect(await locationOf(replaced.imageUID)).toEqual(newer);
    } finally {
      await viewport.drop();
    }
  });
});
