import { HeadObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { GetCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { legacyOwnerPathOf, ownerPathOf, type EnvironmentName } from '@orbit/lib';
import type { Pool } from 'mysql2/promise';
import { describe, expect, it } from 'vitest';
import {
  chartRowDifferences, checkTransfer, findBrokenTransfers, isRepairable, progressReporter, recordRedrives, redriveEvent, transfersToCheck, type ExpectedChart, type ReconcileDeps, type TransferRecord,
} from './reconcile.js';

const sha = 'a'.repeat(64);
const copy = { bucket: 'app-image-1209-bkt-k8t-aws', key: 'uid-v1-0-00.tar', versionId: 'v2' };
const expected: ExpectedChart = { source: 'Development', target: 'Testing', sha256: sha, copy };
const labelled = (environment: string) => ({ inline: JSON.stringify([{ kind: 'Deployment', metadata: { name: 'web', labels: { environment } } }]) });
const sourceRow = {
  helmChartName: 'uid-v1-0-00', chartName: 'web', chartSha256: 'c'.repeat(64), chart: { bucket: 'charts', key: 'uid/web-1.0.0.tgz', versionId: 'c1' },
  manifests: labelled('Development'), environment: 'Development', image: { bucket: 'app-image-1206-bkt-k8d-aws', key: 'uid-v1-0-00.tar', versionId: 'd1' },
  createdTimestampUTC: '2026-12-01T00:00:00Z', createdTimestampUnix: 1,
};
const testingChart = { bucket: 'charts', key: 'uid/testing/web-1.0.0.tgz', versionId: 't1' };
/** The row promoteChart writes into Testing for that source row. */
const promoted = {
  ...sourceRow, environment: 'Testing', manifests: labelled('Testing'), image: copy, imageSha256: sha, promotedFrom: 'Development', transferRequestId: 'req-1',
  createdTimestampUTC: '2026-12-01T00:05:00Z', createdTimestampUnix: 300,
};

describe('chartRowDifferences', () => {
  it('finds nothing in a row as the promotion writes it, whenever it was written', () => {
    expect(chartRowDifferences(sourceRow, promoted, expected)).toEqual([]);
  });

  it('takes a row promoted before chart rows recorded owner paths as the first spelling\'s, which its regenerated source row now records (found by a review)', () => {
    const regenerated = { ...sourceRow, owner: 'Ada.Lovelace@example.com', ownerPath: legacyOwnerPathOf('Ada.Lovelace@example.com') };
    const promotedBefore = { ...promoted, owner: 'Ada.Lovelace@example.com' };
    expect(chartRowDifferences(regenerated, promotedBefore, expected)).toEqual([]);
    // Any other owner path than the one the row implies is a difference.
    expect(chartRowDifferences({ ...regenerated, ownerPath: ownerPathOf('Ada.Lovelace@example.com') }, promotedBefore, expected)).toEqual(['ownerPath differs from the Development row']);
  });

  it('takes a row promoted before chart rows recorded owner paths as pushed at the top when its regenerated source row says so (a review: pre-12-04 versions)', () => {
    const promotedBefore = { ...promoted, owner: 'Ada.Lovelace@example.com' };
    expect(chartRowDifferences({ ...sourceRow, owner: 'Ada.Lovelace@example.com', ownerPath: null }, promotedBefore, expected)).toEqual([]);
    // A promoted row recording a path must match it exactly.
    expect(chartRowDifferences({ ...sourceRow, owner: 'Ada.Lovelace@example.com', ownerPath: null }, { ...promotedBefore, ownerPath: legacyOwnerPathOf('Ada.Lovelace@example.com') }, expected))
      .toEqual(['ownerPath differs from the Development row']);
  });

  it('names a chart field that no longer matches the source row, down to nested values', () => {
    expect(chartRowDifferences(sourceRow, { ...promoted, chartName: 'other' }, expected)).toEqual(['chartName differs from the Development row']);
    const { helmChartName: _name, ...withoutName } = promoted;
    expect(chartRowDifferences(sourceRow, withoutName, expected)).toEqual(['helmChartName differs from the Development row']);
  });

  it('wants the version\'s chart where the target pulls from the upload registry, whichever environment it came from', () => {
    const withUpload = { ...expected, upload: sourceRow };
    expect(chartRowDifferences(sourceRow, promoted, withUpload)).toEqual([]);
    expect(chartRowDifferences(sourceRow, { ...promoted, chartSha256: '0'.repeat(64) }, withUpload)).toEqual([`chartSha256 is ${'0'.repeat(64)}, the version's chart's ${'c'.repeat(64)}`]);
    const { chart: _chart, ...withoutChart } = promoted;
    expect(chartRowDifferences(sourceRow, withoutChart, withUpload)).toEqual(['serves no chart, not the version\'s charts/uid/web-1.0.0.tgz@c1']);
    // From Testing, which has a registry of its own, to Staging, which has none: Staging serves the upload's chart and pins no reference.
    const testingRow = { ...promoted, imageReference: 'harbor-testing.example/orbit/web@sha256:1', imageTag: 'harbor-testing.example/orbit/web:v1', chart: testingChart, chartSha256: 'd'.repeat(64) };
    const staging = { ...promoted, environment: 'Staging', manifests: labelled('Staging'), promotedFrom: 'Testing' };
    const toStaging = { ...withUpload, source: 'Testing', target: 'Staging' } as const;
    expect(chartRowDifferences(testingRow, staging, toStaging)).toEqual([]);
    expect(chartRowDifferences(testingRow, { ...staging, imageReference: testingRow.imageReference, chart: testingChart, chartSha256: 'd'.repeat(64) }, toStaging)).toEqual([
      'pulls from harbor-testing.example/orbit/web@sha256:1, but Staging pulls from the upload registry',
      'serves chart charts/uid/testing/web-1.0.0.tgz@t1, not the version\'s charts/uid/web-1.0.0.tgz@c1',
    ]);
  });

  it('wants a reference into the target\'s own registry and a chart packaged for it, so versions promoted before it had one are re-driven', () => {
    const own = { ...expected, upload: sourceRow, ownRegistry: 'harbor-testing.example/orbit' };
    const pushed = { ...promoted, imageReference: 'harbor-testing.example/orbit/web@sha256:1', imageTag: 'harbor-testing.example/orbit/web:v1', chart: testingChart, chartSha256: 'd'.repeat(64) };
    expect(chartRowDifferences(sourceRow, pushed, own)).toEqual([]);
    expect(chartRowDifferences(sourceRow, promoted, own)).toEqual(['pulls from the upload registry, not Testing\'s own registry harbor-testing.example/orbit']);
    expect(chartRowDifferences(sourceRow, { ...pushed, imageReference: 'harbor.example/orbit/web@sha256:1' }, own)).toEqual(['pulls from harbor.example/orbit/web@sha256:1, not Testing\'s own registry harbor-testing.example/orbit']);
    expect(chartRowDifferences(sourceRow, { ...pushed, chart: sourceRow.chart, chartSha256: sourceRow.chartSha256 }, own)).toEqual(['serves the upload\'s chart, not one pulling from harbor-testing.example/orbit']);
  });

  it('wants the target environment\'s manifests: a row promoted with the Development ones is caught', () => {
    expect(chartRowDifferences(sourceRow, { ...promoted, manifests: sourceRow.manifests }, expected)).toEqual(["manifests are Development's, not Testing's"]);
    const { manifests: _manifests, ...withoutManifests } = promoted;
    expect(chartRowDifferences(sourceRow, withoutManifests, expected)).toEqual(['manifests are missing']);
    expect(chartRowDifferences(sourceRow, { ...promoted, manifests: { inline: '[]' } }, expected)).toEqual(['manifests are empty']);
    expect(chartRowDifferences(sourceRow, { ...promoted, manifests: { location: { bucket: 'charts', key: 'uid/manifests-testing.json' }, sha256: sha } }, expected)).toEqual([]);
  });

  it('catches a row that deploys another image than the copy: another object, an older version, another checksum', () => {
    expect(chartRowDifferences(sourceRow, { ...promoted, image: sourceRow.image }, expected)).toEqual([
      'image points at app-image-1206-bkt-k8d-aws/uid-v1-0-00.tar@d1, not the copy app-image-1209-bkt-k8t-aws/uid-v1-0-00.tar@v2',
    ]);
    expect(chartRowDifferences(sourceRow, { ...promoted, image: { ...copy, versionId: 'v1' } }, expected)).toHaveLength(1);
    expect(chartRowDifferences(sourceRow, { ...promoted, imageSha256: 'f'.repeat(64) }, expected)).toEqual([`imageSha256 is ${'f'.repeat(64)}, the copy's ${sha}`]);
    const { imageSha256: _sha, ...withoutSha } = promoted;
    expect(chartRowDifferences(sourceRow, withoutSha, expected)).toEqual([`imageSha256 is absent, the copy's ${sha}`]);
  });

  it('accepts any version of the copy when the bucket keeps none', () => {
    expect(chartRowDifferences(sourceRow, { ...promoted, image: { ...copy, versionId: null } }, { ...expected, copy: { ...copy, versionId: null } })).toEqual([]);
  });
});

describe('redriveEvent', () => {
  it('is the same request again: its id, version, environments, requester and notes', () => {
    const transfer = { requestId: 'req-1', imageUID: 'U'.repeat(60), imageVersion: 'v1-0-00', owner: 'rm1', notes: 'CAB-1234 approved', source: 'Staging', target: 'Production' } as const;
    expect(redriveEvent(transfer)).toMatchObject({
      pid: 'c8fms06-c8bms18-e10', correlationId: 'req-1', requestId: 'req-1', imageUID: transfer.imageUID, imageVersion: 'v1-0-00',
      sourceEnvironment: 'Staging', targetEnvironment: 'Production', notes: 'CAB-1234 approved', actor: { username: 'rm1' },
    });
    expect(redriveEvent({ ...transfer, notes: null }).notes).toBeNull();
  });
});

/**
 * A version promoted Development -> Testing -> Production while the chain had
 * no Staging: its copies, its metadata row and its chart rows as the pipeline
 * left them. `rowsWithoutSource` drops promotedFrom, as rows written before it was kept.
 */
function promotedWithoutStaging(options: { rowsWithoutSource?: boolean; productionCopy?: boolean | 'forged' } = {}) {
  const uid = 'U'.repeat(60);
  const key = `${uid}-v1-0-00.tar`;
  const buckets: Record<EnvironmentName, string> = { Development: 'dev', Testing: 'test', Staging: 'stage', Production: 'prod' };
  // 'forged': Production's latest version is p2, not the p1 Orbit recorded, put there out of band (no SHA-256 of S3's own) with
  // the validated SHA-256 in its `orbit-sha256`, and the chart row points at it: what a re-drive that adopted it left.
  const forged = options.productionCopy === 'forged';
  const copies = new Map([['dev', 'd1'], ['test', 't1'], ...(options.productionCopy === false ? [] : [['prod', forged ? 'p2' : 'p1'] as const])]);
  const s3 = {
    send: async (command: HeadObjectCommand) => {
      const versionId = copies.get(String(command.input.Bucket));
      if (!versionId) throw Object.assign(new Error('NotFound'), { name: 'NotFound' });
      if (versionId === 'p2') return { ChecksumCRC32: 'AAAAAA==', ChecksumType: 'FULL_OBJECT', ContentLength: 10, VersionId: versionId, ETag: '"p2"', Metadata: { 'orbit-sha256': sha } };
      return { ChecksumSHA256: Buffer.from(sha, 'hex').toString('base64'), ChecksumType: 'FULL_OBJECT', ContentLength: 10, VersionId: versionId, ETag: `"${versionId}"`, Metadata: {} };
    },
  } as unknown as S3Client;
  const upload = { ...sourceRow, helmChartName: `${uid}-v1-0-00`, image: { bucket: 'dev', key, versionId: 'd1' } };
  const promotedInto = (environment: EnvironmentName, from: EnvironmentName) => ({
    ...upload, environment, manifests: labelled(environment), image: { bucket: buckets[environment], key, versionId: copies.get(buckets[environment]) ?? null }, imageSha256: sha,
    ...(options.rowsWithoutSource ? {} : { promotedFrom: from }),
  });
  const rows = new Map<string, Record<string, unknown>>([
    ['k-Development', upload], ['k-Testing', promotedInto('Testing', 'Development')], ['k-Production', promotedInto('Production', 'Testing')],
  ]);
  const dynamo = {
    send: async (command: GetCommand) => ({
      Item: command.input.TableName === 'meta' ? { sha256: sha, versionId: 'd1', locationTesting: { versionId: 't1' }, locationProduction: { versionId: 'p1' } } : rows.get(String(command.input.TableName)),
    }),
  } as unknown as DynamoDBDocumentClient;
  const deps: ReconcileDeps = {
    s3, dynamo, metadataTable: 'meta', bucketOf: (environment) => buckets[environment], kustomizeTableOf: (environment) => `k-${environment}`, registryOf: () => 'registry.example.com/orbit',
  };
  // The claim row as MySQL holds it: only the target is recorded.
  const pool = {
    query: async () => [[{ request_id: 'req-p', image_uid: uid, image_version: 'v1-0-00', target_env: 'Production', user_login: 'rm1', notes: null, status: 'succeeded', idle_seconds: 0 }]],
  } as unknown as Pool;
  return { deps, pool };
}

describe('where a transfer came from', () => {
  it('is what its target\'s chart row was promoted from: a Staging put into the chain later does not make earlier promotions broken', async () => {
    const { deps, pool } = promotedWithoutStaging();
    const [transfer] = await transfersToCheck(pool, ['Development', 'Testing', 'Staging', 'Production']);
    expect(await checkTransfer(transfer!, deps)).toEqual({ source: 'Testing', problems: [], repairable: true });
    expect(await findBrokenTransfers([transfer!], deps)).toEqual([]);
  });

  it('still checks a transfer into an environment the chain no longer holds', async () => {
    const { deps, pool } = promotedWithoutStaging({ productionCopy: false });
    const [transfer] = await transfersToCheck(pool, ['Development', 'Testing']);
    expect(transfer).toMatchObject({ requestId: 'req-p', target: 'Production' });
    const [finding] = await findBrokenTransfers([transfer!], deps);
    expect(finding?.problems).toEqual([`prod/${'U'.repeat(60)}-v1-0-00.tar is missing`]);
    // Re-driven as it was made: from Testing.
    expect(finding && isRepairable(finding) && redriveEvent(finding.transfer)).toMatchObject({ sourceEnvironment: 'Testing', targetEnvironment: 'Production' });
  });

  it('holds a target to what S3 shows, not to its orbit-sha256 metadata: an overwrite so labelled, not the recorded version, needs repair', async () => {
    const { deps, pool } = promotedWithoutStaging({ productionCopy: 'forged' });
    const [transfer] = await transfersToCheck(pool, ['Development', 'Testing', 'Production']);
    const [finding] = await findBrokenTransfers([transfer!], deps);
    expect(finding?.problems).toEqual([
      `prod/${'U'.repeat(60)}-v1-0-00.tar has version p2 (not p1, the one Orbit recorded) with no SHA-256 of S3's own, only the claim ${sha} in its metadata, its Testing twin ${sha}`,
    ]);
    expect(finding && isRepairable(finding)).toBe(true);
  });

  it('falls back to the chain for a row that records none, and says so when the chain cannot tell either', async () => {
    const { deps, pool } = promotedWithoutStaging({ rowsWithoutSource: true });
    const [guessed] = await transfersToCheck(pool, ['Development', 'Testing', 'Production']);
    expect(await checkTransfer(guessed!, deps)).toEqual({ source: 'Testing', problems: [], repairable: true });
    const [unknown] = await transfersToCheck(pool, ['Development', 'Testing']);
    expect(await checkTransfer(unknown!, deps)).toEqual({
      source: undefined, repairable: false,
      problems: ['nothing records where it came from (Production has no environment before it in ORBIT_ENVIRONMENT_CHAIN, and its chart row names none in promotedFrom)'],
    });
  });
});

describe('progress of a long check', () => {
  it('counts every transfer checked and those that need repair, as the checks end', async () => {
    const { deps, pool } = promotedWithoutStaging({ productionCopy: false });
    const [transfer] = await transfersToCheck(pool, ['Development', 'Testing']);
    const seen: [number, number][] = [];
    await findBrokenTransfers([transfer!, transfer!, transfer!], deps, (checked, broken) => void seen.push([checked, broken]));
    expect(seen).toEqual([[1, 1], [2, 2], [3, 3]]);
  });

  it('says how far it is at most once per period, and leaves the end to the report', () => {
    let at = 0;
    const lines: string[] = [];
    const report = progressReporter(86_000, (line) => void lines.push(line), 10_000, () => at);
    report(1, 0);
    at = 9_999;
    report(500, 0);
    at = 10_000;
    report(1_000, 2);
    at = 15_000;
    report(1_500, 2);
    at = 20_000;
    report(2_000, 3);
    at = 40_000;
    report(86_000, 9);
    expect(lines).toEqual(['checked 1000 of 86000 transfers; 2 need repair so far\n', 'checked 2000 of 86000 transfers; 3 need repair so far\n']);
  });
});

describe('recordRedrives', () => {
  it('stamps the stuck transfers just re-driven, only while they are unfinished, and no succeeded one', async () => {
    const sent: { sql: string; values: unknown }[] = [];
    const pool = { query: async (sql: string, values: unknown) => { sent.push({ sql, values }); return [{ affectedRows: 1 }]; } } as unknown as Pool;
    const base = { imageUID: 'U'.repeat(60), imageVersion: 'v1-0-00', owner: 'dev1', notes: null, source: 'Development', target: 'Testing' } as const;
    const transfers: TransferRecord[] = [
      { ...base, requestId: 'req-broken' }, { ...base, requestId: 'req-lost', stuck: { status: 'accepted', idleMinutes: 45 } },
    ];
    await recordRedrives(pool, transfers);
    expect(sent).toHaveLength(1);
    expect(sent[0]?.values).toEqual([['req-lost']]);
    expect(sent[0]?.sql).toMatch(/status IN \('accepted', 'running'\)/);
    await recordRedrives(pool, [transfers[0]!]);
    expect(sent).toHaveLength(1);
  });
});
