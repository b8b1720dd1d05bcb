/**
 * The transfer flow against the real stack and services: a stored image is
 * promoted from Development to Testing by a server-side copy, its chart row is
 * copied between the kustomize tables, ViewPort shows both environments, and
 * the event log holds the transfer document's steps in order, each with its
 * PID. Refusals answer 4xx and leave an error-log row; repeats and concurrent
 * requests share one result; an S3 outage half way leaves ViewPort untouched
 * and the transfer completes once S3 is back. transfers:reconcile heals a
 * copy or chart row that went missing or wrong, and a transfer whose command
 * was lost.
 */
import { createHash, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { isDeepStrictEqual } from 'node:util';
import { DeleteObjectCommand, GetObjectCommand, HeadObjectCommand } from '@aws-sdk/client-s3';
import { DeleteCommand, GetCommand, PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { createDynamo, createMysqlPool, createS3, ownerPathOf, tableName } from '@orbit/lib';
import { stackStatus, startPipeline, startService, stopPipeline, stopService } from '@orbit/local-stack';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, finished, tokenFor, tokenTheCommandRefuses, uploadArchive, GATEWAY_URL, type RequestView } from '../helpers/gateway.js';
import { withHelm } from '../helpers/helm.js';
import { buildImage, type BuiltImage } from '../helpers/images.js';
import { archiveOf, buildImage as buildSyntheticImage, ociEntries } from '../../consumers/image-validator/test-fixtures/images.js';
import { pullWithSkopeo } from '../helpers/registry.js';
import { testConfig, uniqueSuffix, waitFor } from '../helpers/index.js';

const USER = `tx-${uniqueSuffix()}`;
const VERSION = 'v1-0-00';
const s3 = createS3(testConfig);
const dynamo = createDynamo(testConfig);
const mysql = createMysqlPool(testConfig.MYSQL_URL, 2);
let image: BuiltImage;

const TRANSFER_STEPS = [
  ['c8fms06-c8bms18-e10', 'transfer-requested'],
  ['c8bms18-c20bre21-e15', 'transfer-initiated'],
  ['c8bms18-c16bre06-e40', 'image-retrieved'],
  ['c8bms18-c16bre09-e50', 'image-uploaded'],
  ['c8bms18-c20bre09-e60', 'helm-chart-retrieved'],
  ['c8bms18-c20bre30-e70', 'helm-chart-uploaded'],
  ['c8bms30-c32bre03-e85', 'viewport-updated'],
  ['c8bms18-c20bre21-e95', 'image-transferred'],
];

async function uploaded(name: string): Promise<string> {
  const accepted = await uploadArchive(USER, readFileSync(image.ociArchive), { imageName: name, imageVersion: VERSION, port: 8080 });
  expect((await finished(USER, accepted.body.requestId)).status).toBe('succeeded');
  return accepted.body.imageUID;
}

async function transfer(imageUID: string, body: Record<string, unknown>, roles: readonly string[] = [], user = USER): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(`${GATEWAY_URL}/v1/images/${imageUID}/transfers`, {
    method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${tokenFor(user, roles)}` }, body: JSON.stringify(body),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

async function environmentsOf(imageUID: string): Promise<string[]> {
  const view = await api(USER, `/v1/images/${imageUID}`);
  return ((view.body['versions'] as Record<string, unknown>[])[0]?.['environments'] as string[]) ?? [];
}

async function errorLogPids(imageUID: string): Promise<string[]> {
  const rows = await dynamo.send(new QueryCommand({
    TableName: tableName('userErrorLog', testConfig), IndexName: 'byImageUID', KeyConditionExpression: 'imageUID = :u', ExpressionAttributeValues: { ':u': imageUID },
  }));
  return (rows.Items ?? []).map((row) => String(row['pid']));
}

beforeAll(async () => {
  image = buildImage({ name: 'orbit-e2e/promoted', tag: '1', exposedPort: '8080/tcp', entrypoint: ['/bin/app'], layers: [{ files: { 'bin/app': 'app' } }] });
  await startPipeline(() => undefined);
}, 180_000);

afterAll(async () => {
  await startService('s3');
  await stopPipeline();
  await mysql.end();
  image?.cleanup();
});

describe('transferring an image from Development to Testing', () => {
  it('copies the image server side, promotes the chart, updates ViewPort and logs the document\'s steps in order', async () => {
    const imageUID = await uploaded(`promote-${uniqueSuffix()}`);
    const asked = await transfer(imageUID, { imageVersion: VERSION, transferEnvironment: 'Testing', dryRun: true });
    expect(asked).toEqual({ status: 200, body: { dryRun: true, outcome: 'allowed', imageUID, imageVersion: VERSION, sourceEnvironment: 'Development', targetEnvironment: 'Testing', requestId: null } });
    const accepted = await transfer(imageUID, { imageVersion: VERSION, transferEnvironment: 'Testing', notes: 'release candidate' });
    expect(accepted.status).toBe(202);
    expect(accepted.body).toMatchObject({ pid: 'c8fms06-c8bms18-e10', status: 'accepted' });
    const done = await finished(USER, String(accepted.body['requestId']));
    expect(done.status, JSON.stringify(done.error)).toBe('succeeded');
    // The long poll that saw it finish also waited for the event log's last step: the timeline is whole at once.
    expect(done.steps.map((step) => [step.pid, step.eventType])).toEqual(TRANSFER_STEPS);

    const key = `${imageUID}-${VERSION}.tar`;
    const dev = await s3.send(new HeadObjectCommand({ Bucket: testConfig.ORBIT_BUCKET_DEVELOPMENT, Key: key, ChecksumMode: 'ENABLED' }));
    const test = await s3.send(new HeadObjectCommand({ Bucket: testConfig.ORBIT_BUCKET_TESTING, Key: key, ChecksumMode: 'ENABLED' }));
    expect(test.ContentLength).toBe(dev.ContentLength);
    expect(test.ChecksumSHA256).toBe(dev.ChecksumSHA256);
    expect(test.ServerSideEncryption).toBe('AES256');
    const chart = await dynamo.send(new GetCommand({ TableName: tableName('kustomizeTesting', testConfig), Key: { helmChartName: `${imageUID}-${VERSION}` } }));
    expect(chart.Item).toMatchObject({ environment: 'Testing', image: { bucket: testConfig.ORBIT_BUCKET_TESTING, key } });
    // The Testing table holds what the Testing overlay builds, not the Development manifests.
    const testingManifests = JSON.parse(String((chart.Item?.['manifests'] as { inline: string }).inline)) as { kind: string; metadata: { namespace?: string; labels?: Record<string, string> }; spec?: Record<string, unknown> }[];
    expect(testingManifests.map((object) => [object.kind, object.metadata.namespace, object.metadata.labels?.['environment']])).toEqual(testingManifests.map((object) => [object.kind, 'orbit-testing', 'Testing']));
    expect(testingManifests.find((object) => object.kind === 'HorizontalPodAutoscaler')?.spec).toMatchObject({ minReplicas: 1, maxReplicas: 3 });
    expect((await environmentsOf(imageUID)).sort()).toEqual(['Development', 'Testing']);
    // ViewPort keeps who promoted it, when, why, and where the copy lies, and the request names its target.
    const view = await api<{ versions: { promotions?: Record<string, Record<string, unknown>> }[] }>(USER, `/v1/images/${imageUID}`);
    expect(view.body.versions[0]?.promotions).toEqual({
      Testing: {
        requestId: accepted.body['requestId'], promotedAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/), promotedBy: USER, notes: 'release candidate',
        s3Location: { bucket: testConfig.ORBIT_BUCKET_TESTING, key, versionId: test.VersionId }, sha256: Buffer.from(dev.ChecksumSHA256 ?? '', 'base64').toString('hex'),
      },
    });
    expect(done).toMatchObject({ kind: 'transfer', targetEnvironment: 'Testing', notes: 'release candidate', createdAt: expect.any(String), updatedAt: expect.any(String) });

    // What Testing deploys, as a client gets it: its manifests (a List kubectl applies), its own archive copy and the chart, by redirect.
    const versionUrl = `${GATEWAY_URL}/v1/images/${imageUID}/versions/${VERSION}`;
    const bearer = { authorization: `Bearer ${tokenFor(USER, [])}` };
    const list = await fetch(`${versionUrl}/manifests?environment=Testing`, { headers: bearer });
    expect(list.status).toBe(200);
    expect(await list.json()).toEqual({ apiVersion: 'v1', kind: 'List', items: testingManifests });
    const yamlStream = await (await fetch(`${versionUrl}/manifests?environment=Testing`, { headers: { ...bearer, accept: 'application/yaml' } })).text();
    expect(yamlStream.split(/^---$/m).filter((doc) => doc.trim() !== '')).toHaveLength(testingManifests.length);
    // fetch drops the bearer token on the cross-origin redirect, as S3 requires of a presigned GET.
    const archive = await fetch(`${versionUrl}/archive?environment=Testing`, { headers: bearer });
    expect(archive.status, await archive.clone().text().then((text) => text.slice(0, 300))).toBe(200);
    expect(archive.url).toContain(testConfig.ORBIT_BUCKET_TESTING);
    expect(archive.headers.get('content-disposition')).toContain(`.tar`);
    expect(createHash('sha256').update(Buffer.from(await archive.arrayBuffer())).digest('base64')).toBe(test.ChecksumSHA256);
    const chartTgz = await fetch(`${versionUrl}/chart`, { headers: bearer });
    expect(chartTgz.status).toBe(200);
    expect(createHash('sha256').update(Buffer.from(await chartTgz.arrayBuffer())).digest('hex')).toBe(chart.Item?.['chartSha256']);
    const stranger = await fetch(`${versionUrl}/archive?environment=Testing`, { headers: { authorization: `Bearer ${tokenFor(`other-${USER}`, [])}` }, redirect: 'manual' });
    expect(stranger.status).toBe(404);
    // Ops see it end: the projector counts requests by how they ended and times them from acceptance.
    const projector = (await stackStatus()).find((row) => row.name === 'viewport-projector');
    const metrics = await (await fetch(`http://127.0.0.1:${projector?.port}/metrics`)).text();
    const sample = (name: string, ...labels: string[]): number => Number(metrics.split('\n').find((line) => line.startsWith(`${name}{`) && labels.every((label) => line.includes(label)))?.split(' ').at(-1));
    expect(sample('orbit_requests_finished_total', 'kind="transfer"', 'status="succeeded"', 'reason=""')).toBeGreaterThanOrEqual(1);
    expect(sample('orbit_request_duration_seconds_count', 'kind="transfer"', 'status="succeeded"')).toBeGreaterThanOrEqual(1);
    // The owner's listing of the image's requests: the transfer, then the upload; the dry run left none.
    const listed = await api<{ requests: { requestId: string; kind: string; status: string }[]; nextCursor: string | null }>(USER, `/v1/requests?imageUID=${imageUID}`);
    expect(listed.body).toEqual({ requests: [expect.objectContaining({ requestId: accepted.body['requestId'], kind: 'transfer', status: 'succeeded' }), expect.objectContaining({ kind: 'upload', status: 'succeeded' })], nextCursor: null });

    // Done already: 200 with the earlier result, nothing repeated.
    const again = await transfer(imageUID, { imageVersion: VERSION, transferEnvironment: 'Testing' });
    expect(again).toMatchObject({ status: 200, body: { requestId: accepted.body['requestId'], status: 'succeeded' } });
    const search = await api<{ images: { imageUID: string }[] }>(USER, '/v1/images?environment=Testing');
    expect(search.body.images.map((entry) => entry.imageUID)).toContain(imageUID);
  }, 120_000);

  it('carries metadata and image facts up to their limits through upload and transfer, every step logged', async () => {
    // 126 KB of envVars and 185 KB of labels: each just under its limit (128 KiB, 192 KiB), together as much as one version may carry.
    const labels = { big1: 'v'.repeat(92_500), big2: 'w'.repeat(92_500) };
    const archive = await archiveOf(ociEntries(await buildSyntheticImage({ layers: [{ files: { 'bin/app': 'app' } }], runConfig: { Labels: labels, ExposedPorts: { '8080/tcp': {} } } })));
    const envVars = [...[0, 1, 2].map((i) => ({ key: `K${i}`, value: 'x'.repeat(32_000) })), { key: 'K3', value: 'y'.repeat(30_000) }];
    const accepted = await uploadArchive(USER, archive, { imageName: `edge-${uniqueSuffix()}`, imageVersion: VERSION, port: 8080, envVars });
    expect(accepted.status, JSON.stringify(accepted.body)).toBe(202);
    const stored = await finished(USER, accepted.body.requestId);
    expect(stored.status, JSON.stringify(stored.error)).toBe('succeeded');
    expect(stored.steps.map((step) => step.eventType)).toEqual(expect.arrayContaining(['upload-requested', 'image-validated', 'image-stored', 'helm-chart-generated']));
    const moved = await transfer(accepted.body.imageUID, { imageVersion: VERSION, transferEnvironment: 'Testing' });
    const done = await finished(USER, String(moved.body['requestId']));
    expect(done.status, JSON.stringify(done.error)).toBe('succeeded');
    expect(done.steps.map((step) => step.eventType)).toEqual(TRANSFER_STEPS.map(([, eventType]) => eventType));
    const testing = await api<{ items: { kind: string; data?: Record<string, string> }[] }>(USER, `/v1/images/${accepted.body.imageUID}/versions/${VERSION}/manifests?environment=Testing`);
    expect(testing.body.items.find((item) => item.kind === 'ConfigMap')?.data?.['K3']).toBe('y'.repeat(30_000));
  }, 120_000);

  it('refuses what the rules forbid, with a code and an error-log row', async () => {
    const imageUID = await uploaded(`rules-${uniqueSuffix()}`);
    expect(await transfer(imageUID, { imageVersion: 'v9-9-99', transferEnvironment: 'Testing' })).toMatchObject({ status: 404, body: { code: 'VERSION_NOT_FOUND' } });
    expect(await transfer('Z'.repeat(60), { imageVersion: VERSION, transferEnvironment: 'Testing' })).toMatchObject({ status: 404, body: { code: 'IMAGE_NOT_FOUND' } });
    // MySQL matches these to the image and its owner (it ignores trailing spaces): refused at the door, not carried on as another UID or user.
    expect(await transfer(`${imageUID}%20`, { imageVersion: VERSION, transferEnvironment: 'Testing' })).toMatchObject({ status: 400, body: { problems: [{ field: 'params.uid' }] } });
    const spaced = await fetch(`${GATEWAY_URL}/v1/images/${imageUID}/transfers`, {
      method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${await tokenTheCommandRefuses(`${USER} `)}` },
      body: JSON.stringify({ imageVersion: VERSION, transferEnvironment: 'Testing' }),
    });
    // The reason, not only the status: a token the gateway could not verify at all would be a 401 too.
    expect([spaced.status, ((await spaced.json()) as { message?: string }).message]).toEqual([401, expect.stringContaining('with white space at an end')]);
    expect(await transfer(imageUID, { imageVersion: VERSION, transferEnvironment: 'Staging' })).toMatchObject({ status: 409, body: { code: 'SKIPS_ENVIRONMENT' } });
    const refused = await transfer(imageUID, { imageVersion: VERSION, transferEnvironment: 'Production' });
    expect(refused).toMatchObject({ status: 403, body: { code: 'ROLE_REQUIRED' } });
    const failed: RequestView = await finished(USER, String(refused.body['requestId']));
    expect(failed).toMatchObject({ status: 'failed', error: { code: 'ROLE_REQUIRED', pid: 'c8bms18-c20bre24-911' } });
    await waitFor(async () => (await errorLogPids(imageUID)).filter((pid) => pid === 'c8bms18-c20bre24-911').length >= 3, { what: 'three error-log rows', timeoutMs: 20_000 });
    expect(await environmentsOf(imageUID)).toEqual(['Development']);
  }, 120_000);

  it('walks the whole chain: the owner promotes to Testing and Staging, a release manager (not the owner) into Production and reads it as a Helm repository', async () => {
    const imageUID = await uploaded(`chain-${uniqueSuffix()}`);
    for (const environment of ['Testing', 'Staging']) {
      const accepted = await transfer(imageUID, { imageVersion: VERSION, transferEnvironment: environment });
      expect(accepted.status).toBe(202);
      expect((await finished(USER, String(accepted.body['requestId']))).status).toBe('succeeded');
    }
    const releaseManager = `rm-${uniqueSuffix()}`;
    const stranger = `dev-${uniqueSuffix()}`;
    // Another developer without the role does not even see the image.
    expect(await transfer(imageUID, { imageVersion: VERSION, transferEnvironment: 'Production' }, [], stranger)).toMatchObject({ status: 404, body: { code: 'IMAGE_NOT_FOUND' } });
    expect((await api(stranger, `/v1/images/${imageUID}`)).status).toBe(404);
    // The release manager sees what waits in Staging before promoting it: the image, its timeline, and in a search.
    const seen = await api(releaseManager, `/v1/images/${imageUID}`, {}, ['release-manager']);
    expect(seen.status).toBe(200);
    expect(seen.body).toMatchObject({ imageUID, owner: USER, versions: [{ imageVersion: VERSION, environments: ['Development', 'Testing', 'Staging'] }] });
    const timeline = await api<{ events: { eventType: string }[] }>(releaseManager, `/v1/images/${imageUID}/events`, {}, ['release-manager']);
    expect(timeline.body.events.map((event) => event.eventType)).toEqual(expect.arrayContaining(['image-stored', 'helm-chart-generated', 'image-transferred']));
    const found = await api<{ images: { imageUID: string }[] }>(releaseManager, `/v1/images?environment=Staging&q=chain-`, {}, ['release-manager']);
    expect(found.body.images.map((entry) => entry.imageUID)).toContain(imageUID);
    expect((await api<{ images: unknown[] }>(stranger, `/v1/images?environment=Staging&q=chain-`)).body.images).toEqual([]);
    const promoted = await transfer(imageUID, { imageVersion: VERSION, transferEnvironment: 'Production', notes: 'release 1' }, ['release-manager'], releaseManager);
    expect(promoted.status).toBe(202);
    const done = await finished(releaseManager, String(promoted.body['requestId']));
    expect(done.status, JSON.stringify(done.error)).toBe('succeeded');
    expect(done.steps.map((step) => [step.pid, step.eventType])).toEqual(TRANSFER_STEPS);
    expect((await environmentsOf(imageUID)).sort()).toEqual(['Development', 'Production', 'Staging', 'Testing']);
    const key = `${imageUID}-${VERSION}.tar`;
    const dev = await s3.send(new HeadObjectCommand({ Bucket: testConfig.ORBIT_BUCKET_DEVELOPMENT, Key: key, ChecksumMode: 'ENABLED' }));
    const production = await s3.send(new HeadObjectCommand({ Bucket: testConfig.ORBIT_BUCKET_PRODUCTION, Key: key, ChecksumMode: 'ENABLED' }));
    expect(production.ChecksumSHA256).toBe(dev.ChecksumSHA256);
    const view = await api<{ versions: { promotions?: Record<string, Record<string, unknown>> }[] }>(USER, `/v1/images/${imageUID}`);
    expect(Object.keys(view.body.versions[0]?.promotions ?? {}).sort()).toEqual(['Production', 'Staging', 'Testing']);
    expect(view.body.versions[0]?.promotions?.['Production']).toMatchObject({ promotedBy: releaseManager, notes: 'release 1', s3Location: { bucket: testConfig.ORBIT_BUCKET_PRODUCTION, key, versionId: production.VersionId } });
    expect(view.body.versions[0]?.promotions?.['Staging']).toMatchObject({ promotedBy: USER, notes: null });
    // What Production deploys, as the release manager reads it: Production's namespace, replica bounds and resources.
    type Manifest = { kind: string; metadata: { namespace: string; labels: Record<string, string> }; spec?: { minReplicas?: number; maxReplicas?: number; template?: { spec: { containers: { resources: unknown }[] } } } };
    const productionList = await api<{ items: Manifest[] }>(releaseManager, `/v1/images/${imageUID}/versions/${VERSION}/manifests?environment=Production`, {}, ['release-manager']);
    expect(productionList.status).toBe(200);
    expect(productionList.body.items.every((item) => item.metadata.namespace === 'orbit-production' && item.metadata.labels['environment'] === 'Production')).toBe(true);
    expect(productionList.body.items.find((item) => item.kind === 'HorizontalPodAutoscaler')?.spec).toMatchObject({ minReplicas: 3, maxReplicas: 10 });
    expect(productionList.body.items.find((item) => item.kind === 'Deployment')?.spec?.template?.spec.containers[0]?.resources).toEqual({ requests: { cpu: '250m', memory: '256Mi' }, limits: { cpu: '1', memory: '512Mi' } });
    // The role reads Staging and Production only: not what Development holds of someone else's image.
    expect((await api(releaseManager, `/v1/images/${imageUID}/versions/${VERSION}/manifests?environment=Development`, {}, ['release-manager'])).status).toBe(404);

    // Helm (and Argo CD, Flux) read Production's charts as a chart repository, the release manager's token as the password.
    const { chartName, chartVersion, chartLocation } = view.body.versions[0] as { chartName: string; chartVersion: string; chartLocation: { bucket: string; key: string; versionId: string } };
    await withHelm(async (run, home) => {
      run('repo', 'add', 'orbit-production', `${GATEWAY_URL}/helm/Production/${encodeURIComponent(USER)}`, '--username', 'argocd', '--password', tokenFor(releaseManager, ['release-manager']));
      const listed = JSON.parse(run('search', 'repo', 'orbit-production/', '--output', 'json')) as { name: string; version: string; app_version: string }[];
      expect(listed).toEqual([expect.objectContaining({ name: `orbit-production/${chartName}`, version: chartVersion, app_version: VERSION })]);
      run('pull', `orbit-production/${chartName}`, '--version', chartVersion, '--destination', home);
      const stored = await s3.send(new GetObjectCommand({ Bucket: chartLocation.bucket, Key: chartLocation.key, VersionId: chartLocation.versionId }));
      const pulled = readFileSync(join(home, `${chartName}-${chartVersion}.tgz`));
      expect(pulled).toEqual(Buffer.from(await stored.Body!.transformToByteArray()));
      // The index's digest is the pulled archive's, as strict clients (Flux, flux-local) check.
      const index = readFileSync(join(home, 'cache', 'repository', 'orbit-production-index.yaml'), 'utf8');
      expect(index).toContain(`digest: "${createHash('sha256').update(pulled).digest('hex')}"`);
      // A developer without the role finds nothing of it there.
      run('repo', 'add', 'orbit-stranger', `${GATEWAY_URL}/helm/Production/${encodeURIComponent(USER)}`, '--username', 'x', '--password', tokenFor(stranger));
      expect(JSON.parse(run('search', 'repo', 'orbit-stranger/', '--output', 'json'))).toEqual([]);
    });
  }, 180_000);

  it('what Testing deploys can be pulled by the digest its manifests pin: the pipeline pushed it to the registry (docker and OCI archives)', async () => {
    for (const [format, archive] of [['docker-archive', image.dockerArchive], ['oci-archive', image.ociArchive]] as const) {
      const accepted = await uploadArchive(USER, readFileSync(archive), { imageName: `deploy-${format}-${uniqueSuffix()}`, imageVersion: VERSION, port: 8080 });
      expect((await finished(USER, accepted.body.requestId)).status).toBe('succeeded');
      const imageUID = accepted.body.imageUID;
      const promotedTo = await transfer(imageUID, { imageVersion: VERSION, transferEnvironment: 'Testing' });
      expect((await finished(USER, String(promotedTo.body['requestId']))).status).toBe('succeeded');
      const versionUrl = `/v1/images/${imageUID}/versions/${VERSION}`;
      const manifests = await api<{ items: { kind: string; spec?: { template?: { spec: { containers: { image: string }[] } } } }[] }>(USER, `${versionUrl}/manifests?environment=Testing`);
      const pinned = manifests.body.items.find((item) => item.kind === 'Deployment')?.spec?.template?.spec.containers[0]?.image ?? '';
      expect(pinned, format).toMatch(new RegExp(`^${(process.env['ORBIT_IMAGE_REGISTRY'] ?? '').replaceAll('.', '\\.')}/${ownerPathOf(USER)}/deploy-.*@sha256:[0-9a-f]{64}$`));
      // skopeo, a client Orbit did not write, pulls every blob of it by that digest.
      expect(pullWithSkopeo(pinned), format).toBe(pinned.slice(pinned.indexOf('@') + 1));
    }
  }, 180_000);

  it('serializes concurrent transfers of one image into one request and one result', async () => {
    const imageUID = await uploaded(`race-${uniqueSuffix()}`);
    const answers = await Promise.all(Array.from({ length: 5 }, () => transfer(imageUID, { imageVersion: VERSION, transferEnvironment: 'Testing' })));
    const ids = new Set(answers.map((answer) => answer.body['requestId']));
    expect(ids.size).toBe(1);
    expect((await finished(USER, String([...ids][0]))).status).toBe('succeeded');
    expect((await environmentsOf(imageUID)).sort()).toEqual(['Development', 'Testing']);
  }, 120_000);

  it('shows nothing half done while S3 is unreachable, and completes once it is back', async () => {
    const imageUID = await uploaded(`outage-${uniqueSuffix()}`);
    await stopService('s3');
    try {
      const accepted = await transfer(imageUID, { imageVersion: VERSION, transferEnvironment: 'Testing' });
      expect(accepted.status).toBe(202);
      await new Promise((resolve) => setTimeout(resolve, 5000));
      expect(await environmentsOf(imageUID)).toEqual(['Development']);
      const pending = await api<RequestView>(USER, `/v1/requests/${String(accepted.body['requestId'])}`);
      expect(pending.body.status).not.toBe('succeeded');
      await startService('s3');
      const request = await finished(USER, String(accepted.body['requestId']), 120_000);
      expect(request.status, JSON.stringify(request.error)).toBe('succeeded');
      expect((await environmentsOf(imageUID)).sort()).toEqual(['Development', 'Testing']);
    } finally {
      await startService('s3');
    }
  }, 240_000);

  it('transfers:reconcile finds a transfer broken on purpose, re-drives it, and then finds nothing to do', async () => {
    const imageUID = await uploaded(`heal-${uniqueSuffix()}`);
    const accepted = await transfer(imageUID, { imageVersion: VERSION, transferEnvironment: 'Testing' });
    expect((await finished(USER, String(accepted.body['requestId']))).status).toBe('succeeded');
    const reconcile = (): string => execFileSync(process.execPath, ['consumers/harbor-writer/dist/reconcile-cli.js'], { encoding: 'utf8' });
    expect(reconcile()).toMatch(/0 need repair/);

    const key = `${imageUID}-${VERSION}.tar`;
    await s3.send(new DeleteObjectCommand({ Bucket: testConfig.ORBIT_BUCKET_TESTING, Key: key }));
    await dynamo.send(new DeleteCommand({ TableName: tableName('kustomizeTesting', testConfig), Key: { helmChartName: `${imageUID}-${VERSION}` } }));
    const report = reconcile();
    expect(report).toMatch(/1 need repair/);
    expect(report).toContain(`${key} is missing`);
    expect(report).toContain('re-drove 1');

    await waitFor(async () => {
      const head = await s3.send(new HeadObjectCommand({ Bucket: testConfig.ORBIT_BUCKET_TESTING, Key: key })).catch(() => undefined);
      const row = await dynamo.send(new GetCommand({ TableName: tableName('kustomizeTesting', testConfig), Key: { helmChartName: `${imageUID}-${VERSION}` } }));
      return head !== undefined && row.Item !== undefined;
    }, { timeoutMs: 60_000, what: 'the transfer to heal' });
    expect(reconcile()).toMatch(/0 need repair/);
    expect((await environmentsOf(imageUID)).sort()).toEqual(['Development', 'Testing']);

    // A chart row that is there but wrong (edited by hand, say) is as broken as a missing one.
    const chartKey = { TableName: tableName('kustomizeTesting', testConfig), Key: { helmChartName: `${imageUID}-${VERSION}` } };
    const healed = (await dynamo.send(new GetCommand(chartKey))).Item ?? {};
    await dynamo.send(new PutCommand({ TableName: chartKey.TableName, Item: { ...healed, chartSha256: '0'.repeat(64) } }));
    const differs = reconcile();
    expect(differs).toMatch(/1 need repair/);
    expect(differs).toContain(`chartSha256 is ${'0'.repeat(64)}, the version's chart's ${String(healed['chartSha256'])}`);
    await waitFor(async () => (await dynamo.send(new GetCommand(chartKey))).Item?.['chartSha256'] === healed['chartSha256'], { timeoutMs: 60_000, what: 'the chart row to heal' });
    expect(reconcile()).toMatch(/0 need repair/);

    // A row promoted with the Development manifests (as promotions did before they rendered the target's overlay) is re-rendered.
    const developmentRow = (await dynamo.send(new GetCommand({ TableName: tableName('kustomizeDevelopment', testConfig), Key: chartKey.Key }))).Item ?? {};
    await dynamo.send(new PutCommand({ TableName: chartKey.TableName, Item: { ...healed, manifests: developmentRow['manifests'] } }));
    expect(reconcile()).toContain("manifests are Development's, not Testing's");
    await waitFor(async () => isDeepStrictEqual((await dynamo.send(new GetCommand(chartKey))).Item?.['manifests'], healed['manifests']), { timeoutMs: 60_000, what: 'the manifests to be Testing\'s again' });
    expect(reconcile()).toMatch(/0 need repair/);
  }, 180_000);

  it('transfers:reconcile re-drives a transfer whose command was lost on the way, and it completes', async () => {
    const imageUID = await uploaded(`lost-${uniqueSuffix()}`);
    // What a lost TransferRequested leaves: the request and its claim recorded an hour ago, nothing on Kafka.
    const requestId = randomUUID();
    await mysql.query(
      "INSERT INTO viewport_requests (request_id, kind, image_uid, image_version, target_env, notes, user_login, status, created_at, updated_at) VALUES (?, 'transfer', ?, ?, 'Testing', 'QA-42 signed off', ?, 'accepted', UTC_TIMESTAMP(3) - INTERVAL 1 HOUR, UTC_TIMESTAMP(3) - INTERVAL 1 HOUR)",
      [requestId, imageUID, VERSION, USER]);
    await mysql.query("INSERT INTO transfer_claims (image_uid, image_version, target_env, request_id) VALUES (?, ?, 'Testing', ?)", [imageUID, VERSION, requestId]);
    const again = await transfer(imageUID, { imageVersion: VERSION, transferEnvironment: 'Testing' });
    expect(again.body['requestId'], 'a new request joins the stuck one instead of starting another').toBe(requestId);

    const report = execFileSync(process.execPath, ['consumers/harbor-writer/dist/reconcile-cli.js', '--stuck-after', '30'], { encoding: 'utf8' });
    expect(report).toMatch(/1 stuck transfers; 1 need repair/);
    expect(report).toContain(`${requestId} ${imageUID} ${VERSION} Development -> Testing: still accepted, nothing moved for 60 min`);
    const request = await finished(USER, requestId, 60_000);
    expect(request.status, JSON.stringify(request.error)).toBe('succeeded');
    expect((await environmentsOf(imageUID)).sort()).toEqual(['Development', 'Testing']);
    // The re-drive is the same request, notes included: the promotion keeps what the requester wrote.
    expect(request).toMatchObject({ targetEnvironment: 'Testing', notes: 'QA-42 signed off' });
    const view = await api<{ versions: { promotions?: Record<string, Record<string, unknown>> }[] }>(USER, `/v1/images/${imageUID}`);
    expect(view.body.versions[0]?.promotions?.['Testing']).toMatchObject({ requestId, promotedBy: USER, notes: 'QA-42 signed off' });
  }, 180_000);
});
