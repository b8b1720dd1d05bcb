/**
 * The upload flow against the real stack and the six real services: images
 * built by umoci and skopeo go in through the gateway over HTTP and come out
 * validated, stored, charted and projected, with one event-log row per
 * message; broken and hostile archives end `failed` with their reason code,
 * an error-log row, and nothing in the Development bucket.
 */
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { GetObjectCommand, HeadObjectCommand, ListObjectsV2Command, ListObjectVersionsCommand } from '@aws-sdk/client-s3';
import { GetCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { ALL_TOPICS, createDynamo, createMysqlPool, createS3, ownerPathOf, tableName, type Kafka } from '@orbit/lib';
import { startPipeline, stopPipeline } from '@orbit/local-stack';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  archiveOf, blobEntry, buildImage as buildSyntheticImage, configJson, json, ociEntries, sha256, type TarEntry,
} from '../../consumers/image-validator/test-fixtures/images.js';
import { gzipBombBlob } from '../../consumers/image-validator/test-fixtures/big-stream.js';
import { api, finished, GATEWAY_URL, tokenFor, tokenTheCommandRefuses, uploadArchive, uploadReference, type RequestView } from '../helpers/gateway.js';
import { buildImage, buildMultiPlatformImage, tarEntries, type BuiltImage } from '../helpers/images.js';
import { testConfig, testKafka, uniqueSuffix, waitFor } from '../helpers/index.js';
import { messagesWithKeys } from '../helpers/kafka-scan.js';
import { deployedImage, kustomizeBuilt, withHelm } from '../helpers/helm.js';
import { pullWithSkopeo, startRegistry, type TestRegistry } from '../helpers/registry.js';

const USER = `e2e-${uniqueSuffix()}`;
const s3 = createS3(testConfig);
const dynamo = createDynamo(testConfig);
const mysql = createMysqlPool(testConfig.MYSQL_URL);
const tables = {
  eventLog: tableName('userEventLog', testConfig), errorLog: tableName('userErrorLog', testConfig),
  kustomizeDev: tableName('kustomizeDevelopment', testConfig), base: tableName('baseKustomize', testConfig),
};
// The validator's gzip-bomb guard, lowered so the test bomb (512 MiB of zeros) trips it quickly.
const DECOMPRESSED_LIMIT = 256 * 1024 * 1024;
/** S3's smallest part: a presigned upload of a few MiB then comes in several. */
const PRESIGN_PART_BYTES = 5 * 1024 * 1024;

let kafka: Kafka;
let image: BuiltImage;
let whiteoutImage: BuiltImage;
/** A registry behind htpasswd whose credentials the validator is configured with. */
let privateRegistry: TestRegistry;
const ROBOT = { username: 'orbit-robot', password: 'pull:only' };

function metadata(imageName: string, imageVersion = 'v1-0-00'): Record<string, unknown> {
  return {
    imageName, imageVersion, imageCategory: 'e2e', Description: `${imageName} from the e2e suite`, Part: 'billing', port: 8080,
    envVars: [{ key: 'MODE', value: 'test' }], volumes: [{ key: 'data', value: '/var/lib/app' }], imageLabels: [{ key: 'team', value: 'orbit' }],
    ticket: 'ORB-1',
  };
}

const hex = (bytes: Buffer): string => createHash('sha256').update(bytes).digest('hex');

async function eventLogRows(imageUID: string): Promise<Record<string, unknown>[]> {
  const rows: Record<string, unknown>[] = [];
  let start: Record<string, unknown> | undefined;
  do {
    const page = await dynamo.send(new QueryCommand({
      TableName: tables.eventLog, IndexName: 'byImageUID', KeyConditionExpression: 'imageUID = :uid', ExpressionAttributeValues: { ':uid': imageUID }, ExclusiveStartKey: start,
    }));
    rows.push(...(page.Items ?? []));
    start = page.LastEvaluatedKey;
  } while (start);
  return rows;
}

/** Every message keyed by this image has exactly one row in the event log, and no row lacks its message. */
async function expectOneRowPerMessage(imageUID: string): Promise<Record<string, unknown>[]> {
  const messages = await messagesWithKeys(kafka, ALL_TOPICS, new Set([imageUID]));
  const positions = messages.map((m) => `${m.topic}/${m.partition}/${m.offset}`).sort();
  // The event-logger may still be writing the last ones.
  const deadline = Date.now() + 30_000;
  let rows = await eventLogRows(imageUID);
  while (rows.length < positions.length && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 300));
    rows = await eventLogRows(imageUID);
  }
  const messageRows = rows.filter((row) => row['rowKind'] === undefined || row['rowKind'] === 'message');
  expect(messageRows.map((row) => `${String(row['topic'])}/${String(row['partition'])}/${String(row['offset'])}`).sort()).toEqual(positions);
  return messageRows;
}

async function expectStoredAndCharted(upload: { requestId: string; imageUID: string }, file: Buffer, version = 'v1-0-00'): Promise<void> {
  const key = `${upload.imageUID}-${version}.tar`;
  const head = await s3.send(new HeadObjectCommand({ Bucket: testConfig.ORBIT_BUCKET_DEVELOPMENT, Key: key, ChecksumMode: 'ENABLED' }));
  expect(head.ContentLength).toBe(file.length);
  expect(head.ServerSideEncryption).toBe('AES256');
  expect(head.VersionId).toBeTruthy();
  const stored = await s3.send(new GetObjectCommand({ Bucket: testConfig.ORBIT_BUCKET_DEVELOPMENT, Key: key }));
  expect(hex(Buffer.from(await stored.Body!.transformToByteArray()))).toBe(hex(file));

  const view = await api(USER, `/v1/images/${upload.imageUID}`);
  expect(view.status).toBe(200);
  expect(view.body).toMatchObject({ imageUID: upload.imageUID, environments: ['Development'] });
  const versions = view.body['versions'] as Record<string, unknown>[];
  const entry = versions.find((v) => v['imageVersion'] === version);
  expect(entry).toMatchObject({ status: 'ready', sha256: hex(file), sizeBytes: file.length, environments: ['Development'], s3Location: { bucket: testConfig.ORBIT_BUCKET_DEVELOPMENT, key } });
  expect(String(entry?.['digest'])).toMatch(/^sha256:[a-f0-9]{64}$/);
  // Pulled from nowhere: absent, not null.
  expect(entry).not.toHaveProperty('pulledFrom');
  expect(entry?.['chartName']).toBeTruthy();

  const chartLocation = entry?.['chartLocation'] as { bucket: string; key: string };
  const chart = await s3.send(new HeadObjectCommand({ Bucket: chartLocation.bucket, Key: chartLocation.key }));
  expect(chart.ContentLength).toBeGreaterThan(0);
  const helmChartName = `${upload.imageUID}-${version}`;
  const manifests = await dynamo.send(new GetCommand({ TableName: tables.kustomizeDev, Key: { helmChartName } }));
  expect(manifests.Item).toBeDefined();
  const base = await dynamo.send(new GetCommand({ TableName: tables.base, Key: { helmChartName } }));
  expect(base.Item).toBeDefined();

  const [uidRows] = await mysql.execute('SELECT user_login, image_name FROM wp_image_uid WHERE image_uid = ?', [upload.imageUID]);
  expect(uidRows).toHaveLength(1);

  // What the manifests pin is in the stack's registry, whole: skopeo pulls it by digest, and by the version's tag.
  const rendered = await api<{ items: { kind: string; spec?: { template?: { spec: { containers: { image: string }[] } } } }[] }>(USER, `/v1/images/${upload.imageUID}/versions/${version}/manifests?environment=Development`);
  const pinned = rendered.body.items.find((item) => item.kind === 'Deployment')?.spec?.template?.spec.containers[0]?.image ?? '';
  expect(pinned).toBe(`${process.env['ORBIT_IMAGE_REGISTRY'] ?? ''}/${ownerPathOf(USER)}/${String(entry?.['chartName'])}@${String(entry?.['digest'])}`);
  expect(pullWithSkopeo(pinned)).toBe(entry?.['digest']);
  // The Kustomize tree the gateway serves builds, with kustomize itself, into those very manifests.
  const byName = (objects: readonly Record<string, unknown>[]) => new Map(objects.map((object) => [`${String(object['kind'])}/${String((object['metadata'] as { name?: string } | undefined)?.name)}`, object]));
  const built = await kustomizeBuilt(GATEWAY_URL, tokenFor(USER), `/v1/images/${upload.imageUID}/versions/${version}`, 'Development');
  expect(byName(built)).toEqual(byName(rendered.body.items as unknown as Record<string, unknown>[]));
  // ViewPort says where to pull it, as the chart does.
  expect(entry).toMatchObject({ imageReference: pinned, imageTag: `${pinned.slice(0, pinned.indexOf('@'))}:${version}` });
  expect(pullWithSkopeo(`${pinned.slice(0, pinned.indexOf('@'))}:${version}`)).toBe(entry?.['digest']);
  // The chart is in the registry too, as an OCI artifact beside the image.
  expect(String(entry?.['chartReference'])).toMatch(new RegExp(`^${process.env['ORBIT_IMAGE_REGISTRY'] ?? ''}/${ownerPathOf(USER)}/charts/${String(entry?.['chartName'])}@sha256:[0-9a-f]{64}$`));
}

async function expectRejected(archive: Buffer, code: string): Promise<RequestView> {
  const name = `bad-${code.toLowerCase().replace(/_/g, '-')}-${uniqueSuffix()}`;
  const accepted = await uploadArchive(USER, archive, metadata(name));
  expect(accepted.status).toBe(202);
  const request = await finished(USER, accepted.body.requestId);
  expect(request.status, JSON.stringify(request)).toBe('failed');
  expect(request.error?.code).toBe(code);
  // The event-logger writes the error-log row from the same event the projector finished the request with: it may trail the status.
  await waitFor(async () => {
    const errors = await dynamo.send(new QueryCommand({
      TableName: tables.errorLog, IndexName: 'byImageUID', KeyConditionExpression: 'imageUID = :uid', ExpressionAttributeValues: { ':uid': accepted.body.imageUID },
    }));
    return errors.Items?.some((row) => row['pid'] === 'c12bms03-c20bre24-911');
  }, { what: `the error-log row of ${code}`, timeoutMs: 20_000 });
  const stored = await s3.send(new ListObjectsV2Command({ Bucket: testConfig.ORBIT_BUCKET_DEVELOPMENT, Prefix: accepted.body.imageUID }));
  expect(stored.KeyCount ?? 0).toBe(0);
  return request;
}

/** The query parameters of a presigned URL that name a checksum. */
const checksumParameters = (url: string): string[] => [...new URL(url).searchParams.keys()].filter((name) => /checksum/i.test(name));

beforeAll(async () => {
  process.env['ORBIT_MAX_DECOMPRESSED_BYTES'] = String(DECOMPRESSED_LIMIT);
  process.env['ORBIT_PRESIGN_PART_BYTES'] = String(PRESIGN_PART_BYTES);
  kafka = testKafka();
  image = buildImage({
    name: 'orbit-e2e/billing', tag: '1.0.0', extraTags: ['1.0', 'latest'], exposedPort: '8080/tcp', entrypoint: ['/bin/app'], user: '1000:1000',
    layers: [{ files: { 'bin/app': randomBytes(256 * 1024), 'etc/app.conf': 'mode=prod\n' } }, { files: { 'var/lib/app/seed': 'seed' } }],
  });
  whiteoutImage = buildImage({
    name: 'orbit-e2e/cleaner', tag: '2', exposedPort: '9090/tcp', entrypoint: ['/bin/cleaner'],
    layers: [{ files: { 'bin/cleaner': 'run', 'tmp/secret': 'drop me', 'etc/keep': 'k' } }, { delete: ['tmp/secret'] }],
  });
  privateRegistry = await startRegistry({ users: { [ROBOT.username]: ROBOT.password } });
  process.env['ORBIT_REGISTRY_CREDENTIALS'] = JSON.stringify({ [privateRegistry.address]: ROBOT });
  process.env['ORBIT_REGISTRY_PATIENCE_SECONDS'] = '3';
  await startPipeline(() => undefined);
}, 180_000);

afterAll(async () => {
  await stopPipeline();
  await privateRegistry?.stop();
  image?.cleanup();
  whiteoutImage?.cleanup();
  await mysql.end();
});

describe('uploading real images', () => {
  const cases: [string, () => string][] = [
    ['a docker-archive with several tags', () => image.dockerArchive],
    ['an OCI archive', () => image.ociArchive],
    ['a gzip\'d docker-archive', () => image.gzip(image.dockerArchive)],
    ['a gzip\'d OCI archive whose second layer deletes a file', () => whiteoutImage.gzip(whiteoutImage.ociArchive)],
    ['an OCI archive with zstd layers (skopeo --dest-compress-format zstd)', () => image.zstdOciArchive()],
  ];

  it.each(cases)('%s is validated, stored, charted, projected and logged step by step', async (_label, fileOf) => {
    const file = readFileSync(fileOf());
    const accepted = await uploadArchive(USER, file, metadata(`img-${uniqueSuffix()}`));
    expect(accepted.status).toBe(202);
    expect(accepted.body).toMatchObject({ status: 'accepted', pid: 'c8fms03-c8bms06-e10' });
    const request = await finished(USER, accepted.body.requestId);
    expect(request.status, JSON.stringify(request.error)).toBe('succeeded');
    await expectStoredAndCharted(accepted.body, file);

    const rows = await expectOneRowPerMessage(accepted.body.imageUID);
    const types = rows.map((row) => String(row['eventType']));
    for (const type of ['upload-requested', 'image-validated', 'image-stored', 'helm-chart-generated', 'viewport-updated']) expect(types).toContain(type);
    const timeline = await api<{ events: { eventType: string }[] }>(USER, `/v1/images/${accepted.body.imageUID}/events`);
    const order = timeline.body.events.map((event) => event.eventType).filter((type) => type !== 'viewport-updated');
    expect(order).toEqual(['upload-submitted', 'upload-requested', 'image-validated', 'image-stored', 'helm-chart-generated']);
    // The staged upload is gone once the Development copy is verified.
    const staged = await s3.send(new ListObjectsV2Command({ Bucket: testConfig.ORBIT_BUCKET_STAGING, Prefix: `uploads/${USER}/` }));
    expect((staged.Contents ?? []).filter((object) => object.Key?.includes(accepted.body.requestId))).toEqual([]);
  }, 150_000);

  it('takes a big image straight to S3 (presign, PUT, complete), and a retried completion answers the request the first one started', async () => {
    const file = readFileSync(image.ociArchive);
    const presigned = await api<{ uploadId: string; url: string; headers: Record<string, string>; completeUrl: string }>(USER, '/v1/uploads/presign', { method: 'POST' });
    expect(presigned.status).toBe(201);
    // No checksum in the URL: the SDK's default signs the CRC32 of an empty body into it, which AWS S3 holds every upload to (MinIO does not).
    expect(checksumParameters(presigned.body.url)).toEqual([]);
    const put = await fetch(presigned.body.url, { method: 'PUT', headers: presigned.body.headers, body: file });
    expect(put.status).toBe(200);
    const meta = metadata(`presigned-${uniqueSuffix()}`);
    const complete = (sent = meta) => api<{ requestId: string; imageUID: string; status: string }>(USER, new URL(presigned.body.completeUrl).pathname, {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ metadata: sent }),
    });
    const first = await complete();
    expect(first.status).toBe(202);
    // A client that lost the first answer asks again: the same request, not a second one failing ALREADY_STORED.
    const again = await complete();
    expect(again).toMatchObject({ status: 200, body: { requestId: first.body.requestId, imageUID: first.body.imageUID } });
    // Completing it with other metadata is not that request: refused, naming what differs.
    const renamed = await complete(metadata(`presigned-${uniqueSuffix()}`));
    expect([renamed.status, renamed.body]).toMatchObject([422, { code: 'ORBIT_ERR_IDEMPOTENCY_KEY_REUSED', problems: [{ field: 'metadata' }] }]);
    expect((await finished(USER, first.body.requestId)).status).toBe('succeeded');
    expect((await complete()).body).toMatchObject({ requestId: first.body.requestId, status: 'succeeded' });
    const listed = await api<{ requests: { requestId: string }[] }>(USER, `/v1/requests?imageUID=${first.body.imageUID}`);
    expect(listed.body.requests.map((request) => request.requestId)).toEqual([first.body.requestId]);
    await expectStoredAndCharted(first.body, file);
  }, 150_000);

  it('refuses CHECKSUM_MISMATCH a presigned upload whose URL took other bytes after the archive its completion pinned by sha256, and stores one whose archive matches', async () => {
    const file = readFileSync(image.ociArchive);
    type Presigned = { url: string; headers: Record<string, string>; completeUrl: string };
    const presignedWith = async (...bodies: Buffer[]): Promise<Presigned> => {
      const presigned = await api<Presigned>(USER, '/v1/uploads/presign', { method: 'POST' });
      expect(presigned.status).toBe(201);
      for (const body of bodies) expect((await fetch(presigned.body.url, { method: 'PUT', headers: presigned.body.headers, body })).status).toBe(200);
      return presigned.body;
    };
    const complete = (presigned: Presigned, body: object) => api<{ requestId: string; imageUID: string }>(USER, new URL(presigned.completeUrl).pathname, {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body),
    });
    // 1. The single PUT's URL used again within its hour: the archive meant, then other bytes over it.
    const overwritten = await complete(await presignedWith(file, Buffer.concat([file, Buffer.from('tail')])), { metadata: metadata(`pinned-${uniqueSuffix()}`), sha256: `sha256:${hex(file)}` });
    expect(overwritten.status).toBe(202);
    const refused = await finished(USER, overwritten.body.requestId);
    expect(refused).toMatchObject({ status: 'failed', error: { code: 'CHECKSUM_MISMATCH' } });
    expect(refused.error?.message).toContain(`the completion gave sha256 ${hex(file)}`);
    // 2. The archive meant, pinned (in upper case): stored.
    const meant = await complete(await presignedWith(file), { metadata: metadata(`pinned-${uniqueSuffix()}`), sha256: hex(file).toUpperCase() });
    expect(meant.status).toBe(202);
    expect((await finished(USER, meant.body.requestId)).status).toBe('succeeded');
  }, 150_000);

  it('lets exactly one of a completion and a DELETE of one upload sent at the same instant go through (found by a probe: both were answered, and the request failed STAGED_OBJECT_MISSING)', async () => {
    const file = readFileSync(image.ociArchive);
    const outcomes: string[] = [];
    for (let round = 0; round < 4; round += 1) {
      const presigned = await api<{ uploadId: string; url: string; headers: Record<string, string>; completeUrl: string }>(USER, '/v1/uploads/presign', { method: 'POST' });
      expect((await fetch(presigned.body.url, { method: 'PUT', headers: presigned.body.headers, body: file })).status).toBe(200);
      const [completed, deleted] = await Promise.all([
        api<{ requestId: string; imageUID: string; code?: string }>(USER, new URL(presigned.body.completeUrl).pathname, {
          method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ metadata: metadata(`raced-${uniqueSuffix()}`) }),
        }),
        // Not through api(): a 204 has no body to check against the contract.
        fetch(`${GATEWAY_URL}/v1/uploads/${presigned.body.uploadId}`, { method: 'DELETE', headers: { authorization: `Bearer ${tokenFor(USER)}` } })
          .then(async (response) => ({ status: response.status, body: (response.status === 204 ? {} : await response.json()) as { code?: string } })),
      ]);
      const outcome = `${completed.status} ${completed.body.code ?? ''} / ${deleted.status} ${deleted.body.code ?? ''}`.replace(/ +/g, ' ').trim();
      outcomes.push(outcome);
      expect(['202 / 409 ORBIT_ERR_UPLOAD_COMPLETED', '409 ORBIT_ERR_UPLOAD_GIVEN_UP / 204']).toContain(outcome);
      if (completed.status === 202) expect((await finished(USER, completed.body.requestId)).status).toBe('succeeded');
    }
  }, 240_000);

  it('takes an image in presigned parts when the client declares its size (AWS S3 takes 5 GiB at most in one PUT), naming a part that has not arrived and giving a fresh URL for it', async () => {
    const big = buildImage({ name: 'orbit-e2e/parts', tag: '1', exposedPort: '8080/tcp', layers: [{ files: { 'data/blob': randomBytes(11 * 1024 * 1024) } }] });
    try {
      const file = readFileSync(big.ociArchive);
      // Sent three times at once with one Idempotency-Key (a client retrying before its first answer came): one upload is opened.
      const key = `parts-${uniqueSuffix()}`;
      const answers = await Promise.all([1, 2, 3].map(() => api<{ uploadId: string; completeUrl: string; headers: Record<string, string>; partSizeBytes: number; parts: { partNumber: number; url: string; sizeBytes: number }[] }>(
        USER, '/v1/uploads/presign', { method: 'POST', headers: { 'content-type': 'application/json', 'idempotency-key': key }, body: JSON.stringify({ sizeBytes: file.length }) })));
      expect(answers.map((answer) => answer.status).sort()).toEqual([200, 200, 201]);
      const s3UploadIds = answers.map((answer) => new URL(answer.body.parts[0]!.url).searchParams.get('uploadId'));
      expect(new Set(answers.map((answer) => answer.body.uploadId)).size).toBe(1);
      expect(new Set(s3UploadIds).size, 'every answer names the one multipart upload').toBe(1);
      const presigned = answers.find((answer) => answer.status === 201)!;
      expect(presigned.body.parts).toHaveLength(Math.ceil(file.length / PRESIGN_PART_BYTES));
      expect(presigned.body.parts.length).toBeGreaterThan(1);
      expect(presigned.body.parts.flatMap((part) => checksumParameters(part.url))).toEqual([]);
      const putPart = async ({ partNumber, url, sizeBytes }: { partNumber: number; url: string; sizeBytes: number }) => {
        const from = (partNumber - 1) * presigned.body.partSizeBytes;
        const answer = await fetch(url, { method: 'PUT', headers: presigned.body.headers, body: file.subarray(from, from + sizeBytes) });
        expect(answer.status).toBe(200);
      };
      const [firstPart, ...rest] = presigned.body.parts;
      await Promise.all(rest.map(putPart));
      const meta = metadata(`parts-${uniqueSuffix()}`);
      const complete = () => api<{ requestId: string; imageUID: string; code: string; problems: { field: string; message: string }[] }>(USER, new URL(presigned.body.completeUrl).pathname, {
        method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ metadata: meta }),
      });
      const early = await complete();
      expect(early.status).toBe(409);
      expect(early.body).toMatchObject({ code: 'ORBIT_ERR_UPLOAD_INCOMPLETE', problems: [{ field: 'parts', message: `part 1 of ${presigned.body.parts.length} has not arrived` }] });
      // Asked which parts are missing (a client that restarted), the gateway names part 1 with a fresh URL.
      const resumed = await api<{ parts: { partNumber: number; url: string; sizeBytes: number }[] }>(USER, `/v1/uploads/${presigned.body.uploadId}/parts`);
      expect(resumed.body.parts.map((part) => part.partNumber)).toEqual([firstPart!.partNumber]);
      await putPart(resumed.body.parts[0]!);
      const accepted = await complete();
      expect(accepted.status).toBe(202);
      expect((await finished(USER, accepted.body.requestId)).status).toBe('succeeded');
      await expectStoredAndCharted(accepted.body, file);
    } finally {
      big.cleanup();
    }
  }, 150_000);

  it('answers an upload sent again with its Idempotency-Key (a retry after a lost answer, even a concurrent one) with the request the first one started', async () => {
    const file = readFileSync(image.ociArchive);
    const meta = metadata(`idempotent-${uniqueSuffix()}`);
    const idempotencyKey = `ci-${uniqueSuffix()}`;
    const [one, two] = await Promise.all([uploadArchive(USER, file, meta, { idempotencyKey }), uploadArchive(USER, file, meta, { idempotencyKey })]);
    expect([one.status, two.status].sort()).toEqual([200, 202]);
    expect(two.body.requestId).toBe(one.body.requestId);
    expect((await finished(USER, one.body.requestId)).status).toBe('succeeded');
    const later = await uploadArchive(USER, file, meta, { idempotencyKey });
    expect(later).toMatchObject({ status: 200, body: { requestId: one.body.requestId, status: 'succeeded' } });
    // The key with another version (a client reusing keys by mistake): refused, not answered with the stored version's request.
    const reused = await uploadArchive(USER, file, { ...meta, imageVersion: 'v1-0-01' }, { idempotencyKey });
    expect([reused.status, reused.body]).toMatchObject([422, { code: 'ORBIT_ERR_IDEMPOTENCY_KEY_REUSED', problems: [{ field: 'metadata' }] }]);
    const listed = await api<{ requests: { requestId: string }[] }>(USER, `/v1/requests?imageUID=${one.body.imageUID}`);
    expect(listed.body.requests.map((request) => request.requestId)).toEqual([one.body.requestId]);
    await expectStoredAndCharted(one.body, file);
    // Without the key the same upload is a second request, refused at the door as the version exists (recorded, with its reason).
    const unkeyed = await uploadArchive(USER, file, meta);
    expect([unkeyed.status, unkeyed.body]).toMatchObject([409, { code: 'NAME_CONFLICT', requestId: expect.any(String) }]);
    expect(await finished(USER, unkeyed.body.requestId)).toMatchObject({ status: 'failed', error: { code: 'NAME_CONFLICT', pid: 'c8bms06-c20bre24-911' } });
  }, 150_000);

  it('refuses the same name and version from the same owner (NAME_CONFLICT), keeping the first', async () => {
    const name = `twice-${uniqueSuffix()}`;
    const first = await uploadArchive(USER, readFileSync(image.ociArchive), metadata(name));
    expect((await finished(USER, first.body.requestId)).status).toBe('succeeded');
    // Refused before the image is read (409), and recorded as a failed request of that image, in the error log like any refusal.
    const second = await uploadArchive(USER, readFileSync(whiteoutImage.ociArchive), metadata(name));
    expect([second.status, second.body]).toMatchObject([409, { code: 'NAME_CONFLICT' }]);
    const request = await finished(USER, second.body.requestId);
    expect(request).toMatchObject({ status: 'failed', imageUID: first.body.imageUID, error: { code: 'NAME_CONFLICT' } });
    await expectStoredAndCharted(first.body, readFileSync(image.ociArchive));
  }, 150_000);

  it('keeps two owners\' images of one name and version apart, each in a repository of its own under its version tag: one owner cannot take another\'s tag first (found by a probe)', async () => {
    const name = `shared-${uniqueSuffix()}`;
    const otherOwner = `other-${uniqueSuffix()}`;
    // The other owner uploads the version first, as a squatter on the name would.
    const squatter = await uploadArchive(otherOwner, readFileSync(whiteoutImage.ociArchive), metadata(name));
    expect((await finished(otherOwner, squatter.body.requestId)).status).toBe('succeeded');
    const mineAccepted = await uploadArchive(USER, readFileSync(image.ociArchive), metadata(name));
    expect((await finished(USER, mineAccepted.body.requestId)).status).toBe('succeeded');
    const versionOf = async (user: string, imageUID: string) =>
      ((await api<{ versions: Record<string, unknown>[] }>(user, `/v1/images/${imageUID}`)).body.versions).find((entry) => entry['imageVersion'] === 'v1-0-00') ?? {};
    const [mine, theirs] = [await versionOf(USER, mineAccepted.body.imageUID), await versionOf(otherOwner, squatter.body.imageUID)];
    const registry = process.env['ORBIT_IMAGE_REGISTRY'] ?? '';
    const [myRepository, theirRepository] = [`${registry}/${ownerPathOf(USER)}/${String(mine['chartName'])}`, `${registry}/${ownerPathOf(otherOwner)}/${String(theirs['chartName'])}`];
    expect(myRepository).not.toBe(theirRepository);
    expect([String(mine['imageReference']).split('@')[0], mine['imageTag']]).toEqual([myRepository, `${myRepository}:v1-0-00`]);
    expect([String(theirs['imageReference']).split('@')[0], theirs['imageTag']]).toEqual([theirRepository, `${theirRepository}:v1-0-00`]);
    // Each tag and each pinned digest pulls its own image.
    expect(pullWithSkopeo(String(mine['imageTag']))).toBe(mine['digest']);
    expect(pullWithSkopeo(String(theirs['imageTag']))).toBe(theirs['digest']);
    expect(theirs['digest']).not.toBe(mine['digest']);
    // Their charts are apart the same way, each under its chart version, and helm deploys each owner's own image from its chart.
    const chartRepositoryOf = (owner: string, entry: Record<string, unknown>) => `${registry}/${ownerPathOf(owner)}/charts/${String(entry['chartName'])}`;
    expect([mine['chartTag'], theirs['chartTag']]).toEqual([`${chartRepositoryOf(USER, mine)}:${String(mine['chartVersion'])}`, `${chartRepositoryOf(otherOwner, theirs)}:${String(theirs['chartVersion'])}`]);
    await withHelm((helm) => {
      for (const [entry, owner] of [[mine, USER], [theirs, otherOwner]] as const) {
        expect(deployedImage(helm('template', 'release', `oci://${chartRepositoryOf(owner, entry)}`, '--version', String(entry['chartVersion']), '--plain-http', '--skip-tests'))).toBe(entry['imageReference']);
      }
    });
    // charts:push finds both where ViewPort says, with nothing to push.
    const check = execFileSync(process.execPath, ['consumers/chart-generator/dist/charts-push-cli.js', '--dry-run', '--image', mineAccepted.body.imageUID], { encoding: 'utf8' });
    expect(check).toContain('checked 1 charts; 0 missing, 0 cannot be checked');
  }, 150_000);

  it('serves a user whose name is as long as a token may carry (255 characters, not ASCII) and refuses a longer one with a reason', async () => {
    // 255 characters that URI-encode to 2 000+ bytes: too long for one S3 key segment as they are.
    const longest = `${uniqueSuffix()}${'名'.repeat(247)}`;
    const accepted = await uploadArchive(longest, readFileSync(image.ociArchive), metadata(`long-owner-${uniqueSuffix()}`));
    expect(accepted.status, JSON.stringify(accepted.body)).toBe(202);
    expect((await finished(longest, accepted.body.requestId)).status).toBe('succeeded');
    const listed = await api<{ images: { imageUID: string }[] }>(longest, '/v1/images');
    expect(listed.body.images.map((entry) => entry.imageUID)).toContain(accepted.body.imageUID);
    // `npm run token` refuses to print a token for it; one signed all the same is refused by the gateway, with the reason.
    const tooLong = await fetch(`${GATEWAY_URL}/v1/images`, { headers: { authorization: `Bearer ${await tokenTheCommandRefuses(`${uniqueSuffix()}${'u'.repeat(248)}`)}` } });
    expect([tooLong.status, ((await tooLong.json()) as { message?: string }).message]).toEqual([401, 'token names a user of 256 characters; at most 255 are supported']);
  }, 150_000);

  it('pulls from a private registry with the credentials ORBIT_REGISTRY_CREDENTIALS holds for it', async () => {
    const { execFileSync } = await import('node:child_process');
    execFileSync('skopeo', ['copy', '--quiet', '--dest-tls-verify=false', '--dest-creds', `${ROBOT.username}:${ROBOT.password}`, image.layoutRef, `docker://${privateRegistry.address}/team/secret:1.0.0`]);
    const accepted = await uploadReference(USER, `${privateRegistry.address}/team/secret:1.0.0`, metadata(`private-${uniqueSuffix()}`));
    const request = await finished(USER, accepted.body.requestId);
    expect(request.status, JSON.stringify(request.error)).toBe('succeeded');
    // The same registry without credentials for it: refused with a reason, not retried forever.
    const elsewhere = privateRegistry.address.replace('127.0.0.1', 'localhost');
    const refused = await uploadReference(USER, `${elsewhere}/team/secret:1.0.0`, metadata(`private-${uniqueSuffix()}`));
    expect(await finished(USER, refused.body.requestId)).toMatchObject({ status: 'failed', error: { code: 'REGISTRY_UNAUTHORIZED' } });
  }, 150_000);

  it('refuses a reference to a registry nothing answers at (REGISTRY_UNAVAILABLE) at once, instead of holding its partition for the patience', async () => {
    const { createServer } = await import('node:net');
    const closed = createServer();
    const port = await new Promise<number>((resolve) => closed.listen(0, '127.0.0.1', () => resolve((closed.address() as { port: number }).port)));
    await new Promise((resolve) => closed.close(resolve));
    const started = Date.now();
    // Under a loopback address no test registry listens on: the validator refuses this registry for a minute, and the
    // operating system may hand the freed port to the next test's registry on 127.0.0.1 (which then was refused too).
    const accepted = await uploadReference(USER, `127.0.0.3:${port}/team/gone:1.0.0`, metadata(`gone-${uniqueSuffix()}`));
    const request = await finished(USER, accepted.body.requestId, 60_000);
    expect(request).toMatchObject({ status: 'failed', error: { code: 'REGISTRY_UNAVAILABLE' } });
    expect(request.error?.message).toContain(`registry 127.0.0.3:${port} is unavailable`);
    expect(request.error?.message).toContain('has not pulled from');
    // Never seen answering, so not waited for: well inside the 30 s patience a known registry gets.
    expect(Date.now() - started).toBeLessThan(15_000);
  }, 90_000);

  it('takes the image part before the metadata (form libraries that put files first); refused metadata leaves nothing staged', async () => {
    const stagedVersions = async () => {
      const listed = await s3.send(new ListObjectVersionsCommand({ Bucket: testConfig.ORBIT_BUCKET_STAGING, Prefix: `uploads/${USER}/` }));
      return [...(listed.Versions ?? []), ...(listed.DeleteMarkers ?? [])].length;
    };
    const late = await uploadArchive(USER, image.ociArchive, metadata(`late-${uniqueSuffix()}`), { imageFirst: true });
    expect(late.status).toBe(202);
    const request = await finished(USER, late.body.requestId);
    expect(request.status, JSON.stringify(request.error)).toBe('succeeded');
    const before = await stagedVersions();
    const refused = await uploadArchive(USER, image.ociArchive, { ...metadata(`late-${uniqueSuffix()}`), port: 'eighty' }, { imageFirst: true });
    expect(refused.status).toBe(400);
    expect(refused.body).toMatchObject({ code: 'ORBIT_ERR_BAD_METADATA' });
    // A command the chart could not split used to be stored first and fail at chart generation (CHART_COMMAND).
    const unsplittable = await uploadArchive(USER, image.ociArchive, { ...metadata(`late-${uniqueSuffix()}`), commandOverride: "serve --title 'unclosed" }, { imageFirst: true });
    expect(unsplittable).toMatchObject({ status: 400, body: { code: 'ORBIT_ERR_BAD_METADATA', problems: [{ field: 'commandOverride' }] } });
    expect(await stagedVersions()).toBe(before);
  }, 150_000);

  it('keeps a multi-platform image whole, uploaded as an archive or named in a registry: every platform validated and pushed, the charts pinning its index', async () => {
    const arm = buildImage({ name: 'orbit-e2e/billing', tag: '1.0.0', architecture: 'arm64', layers: [{ files: { 'bin/app': 'arm64 build' } }] });
    const multi = buildMultiPlatformImage([{ image, architecture: 'amd64' }, { image: arm, architecture: 'arm64' }], '1.0.0');
    let registry: TestRegistry | undefined;
    const expectWhole = async (imageUID: string, indexDigest: string): Promise<void> => {
      const version = ((await api(USER, `/v1/images/${imageUID}`)).body['versions'] as Record<string, unknown>[])[0];
      expect(version).toMatchObject({ digest: indexDigest, platforms: ['linux/amd64', 'linux/arm64'], architecture: 'amd64' });
      expect(String(version?.['imageReference'])).toMatch(new RegExp(`@${indexDigest}$`));
      // A node of either kind pulls its own platform from the tag the pipeline pushed.
      for (const architecture of ['amd64', 'arm64']) {
        const seen = JSON.parse(execFileSync('skopeo', ['inspect', '--tls-verify=false', '--override-arch', architecture, `docker://${String(version?.['imageTag'])}`], { encoding: 'utf8' })) as { Architecture: string };
        expect(seen.Architecture).toBe(architecture);
      }
      const rendered = await api<{ items: { kind: string; spec?: { template?: { spec: { nodeSelector?: Record<string, string> } } } }[] }>(USER, `/v1/images/${imageUID}/versions/v1-0-00/manifests?environment=Development`);
      expect(rendered.body.items.find((item) => item.kind === 'Deployment')?.spec?.template?.spec.nodeSelector).toEqual({ 'kubernetes.io/os': 'linux' });
    };
    try {
      const file = readFileSync(multi.ociArchive);
      const accepted = await uploadArchive(USER, file, metadata(`multi-${uniqueSuffix()}`));
      const request = await finished(USER, accepted.body.requestId);
      expect(request.status, JSON.stringify(request.error)).toBe('succeeded');
      await expectStoredAndCharted(accepted.body, file);
      await expectWhole(accepted.body.imageUID, multi.indexDigest);

      // The same archive without arm64's manifest (as docker save holds the machine's platform alone): linux/amd64 only, ViewPort saying why.
      const entries = await tarEntries(multi.ociArchive);
      const partial = await archiveOf([...entries].filter(([name]) => !name.endsWith('/') && !name.endsWith(multi.manifestDigests[1]!.slice(7))).map(([name, data]) => ({ name, data })));
      const one = await uploadArchive(USER, partial, metadata(`multi-partial-${uniqueSuffix()}`));
      const oneRequest = await finished(USER, one.body.requestId);
      expect(oneRequest.status, JSON.stringify(oneRequest.error)).toBe('succeeded');
      const oneVersion = ((await api(USER, `/v1/images/${one.body.imageUID}`)).body['versions'] as Record<string, unknown>[])[0];
      expect(oneVersion).toMatchObject({ digest: multi.manifestDigests[0], architecture: 'amd64' });
      expect(oneVersion?.['platforms']).toBeUndefined();
      expect(String((oneVersion?.['validationNotes'] as string[] | undefined)?.join(' '))).toMatch(/linux\/amd64, linux\/arm64 \(1 not in the archive\); validated linux\/amd64, the only platform kept/);

      registry = await startRegistry();
      execFileSync('skopeo', ['copy', '--quiet', '--all', '--dest-tls-verify=false', `oci-archive:${multi.ociArchive}`, `docker://${registry.address}/team/multi:1.0.0`]);
      const pulled = await uploadReference(USER, `${registry.address}/team/multi:1.0.0`, metadata(`multi-ref-${uniqueSuffix()}`));
      const pulledRequest = await finished(USER, pulled.body.requestId);
      expect(pulledRequest.status, JSON.stringify(pulledRequest.error)).toBe('succeeded');
      await expectWhole(pulled.body.imageUID, pullWithSkopeo(`${registry.address}/team/multi:1.0.0`));
    } finally {
      await registry?.stop();
      arm.cleanup();
      multi.cleanup();
    }
  }, 150_000);

  it('pulls an image by reference from a real registry (skopeo pushed it there)', async () => {
    let registry: TestRegistry | undefined;
    try {
      registry = await startRegistry();
      const { execFileSync } = await import('node:child_process');
      // zstd first: once the registry holds the gzip blobs, skopeo would reuse them instead of recompressing.
      execFileSync('skopeo', ['copy', '--quiet', '--dest-tls-verify=false', '--dest-compress-format', 'zstd', image.layoutRef, `docker://${registry.address}/team/billing-zstd:1.0.0`]);
      execFileSync('skopeo', ['copy', '--quiet', '--dest-tls-verify=false', `oci-archive:${image.ociArchive}`, `docker://${registry.address}/team/billing:1.0.0`]);
      const reference = `${registry.address}/team/billing:1.0.0`;
      const accepted = await uploadReference(USER, reference, metadata(`pulled-${uniqueSuffix()}`));
      expect(accepted.status).toBe(202);
      const request = await finished(USER, accepted.body.requestId);
      expect(request.status, JSON.stringify(request.error)).toBe('succeeded');
      const view = await api(USER, `/v1/images/${accepted.body.imageUID}`);
      const version = (view.body['versions'] as Record<string, unknown>[])[0];
      expect(version?.['status']).toBe('ready');
      // Where it came from, for its owner: the reference as given and the digest the tag resolved to (a single image: its manifest's).
      expect(version?.['pulledFrom']).toEqual({ reference, digest: version?.['digest'] });
      expect((await api(USER, `/v1/images/${accepted.body.imageUID}/versions/${String(version?.['imageVersion'])}`)).body['pulledFrom']).toEqual({ reference, digest: version?.['digest'] });
      // The same image pushed with zstd layers: pulled, decoded, same diff_ids.
      const zstd = await uploadReference(USER, `${registry.address}/team/billing-zstd:1.0.0`, metadata(`pulled-zstd-${uniqueSuffix()}`));
      const zstdRequest = await finished(USER, zstd.body.requestId);
      expect(zstdRequest.status, JSON.stringify(zstdRequest.error)).toBe('succeeded');
      const zstdLayers = ((await api(USER, `/v1/images/${zstd.body.imageUID}`)).body['versions'] as { layers: { mediaType: string; diffId: string }[] }[])[0]?.layers;
      expect(zstdLayers?.map((layer) => layer.mediaType)).toEqual(['application/vnd.oci.image.layer.v1.tar+zstd', 'application/vnd.oci.image.layer.v1.tar+zstd']);
      expect(zstdLayers?.map((layer) => layer.diffId)).toEqual((version?.['layers'] as { diffId: string }[]).map((layer) => layer.diffId));
      const missing = await uploadReference(USER, `${registry.address}/team/billing:9.9.9`, metadata(`pulled-${uniqueSuffix()}`));
      expect(await finished(USER, missing.body.requestId)).toMatchObject({ status: 'failed', error: { code: 'REFERENCE_NOT_FOUND' } });
    } finally {
      await registry?.stop();
    }
  }, 150_000);
});

describe('broken and hostile archives', () => {
  let oci: TarEntry[];
  let synthetic: Awaited<ReturnType<typeof buildSyntheticImage>>;

  beforeAll(async () => {
    synthetic = await buildSyntheticImage({
      repoTags: ['hostile:1'], runConfig: { ExposedPorts: { '8080/tcp': {} } },
      layers: [{ files: { 'bin/app': 'app' } }, { files: { 'etc/app.conf': 'x=1' }, gzip: true }],
    });
    oci = ociEntries(synthetic);
  });

  const withManifest = (edit: (manifest: Record<string, unknown>) => unknown, extra: TarEntry[] = []): TarEntry[] => {
    const [layout, , manifestEntry, ...rest] = oci as [TarEntry, TarEntry, TarEntry, ...TarEntry[]];
    const manifest = json(edit(JSON.parse(manifestEntry.data!.toString()) as Record<string, unknown>));
    const index = json({ schemaVersion: 2, manifests: [{ mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: sha256(manifest), size: manifest.length }] });
    return [layout, { name: 'index.json', data: index }, blobEntry(manifest), ...rest, ...extra];
  };

  const hostile: [string, () => Promise<Buffer>][] = [
    ['NOT_AN_ARCHIVE', async () => randomBytes(64 * 1024)],
    ['TRUNCATED', async () => (await archiveOf(oci)).subarray(0, 512 * 3 + 100)],
    ['NO_MANIFEST', async () => archiveOf([{ name: 'README.md', data: Buffer.from('just a file') }])],
    ['BAD_MANIFEST', async () => archiveOf([{ name: 'manifest.json', data: Buffer.from('{not json') }])],
    ['MISSING_BLOB', async () => archiveOf(oci.slice(0, -1))],
    ['DIGEST_MISMATCH', async () => archiveOf(oci.map((entry, i) => (i === oci.length - 1 ? { ...entry, data: Buffer.concat([entry.data!.subarray(0, 10), Buffer.from('X'), entry.data!.subarray(11)]) } : entry)))],
    ['CONFIG_MISMATCH', async () => {
      const config = configJson({ layers: [] }, [synthetic.layers[1]!.diffId, synthetic.layers[0]!.diffId]);
      return archiveOf(withManifest((m) => ({ ...m, config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha256(config), size: config.length } }), [blobEntry(config)]));
    }],
    ['UNSAFE_PATH', async () => archiveOf([...oci, { name: '../../etc/cron.d/evil', data: Buffer.from('* * * * * root sh') }])],
    ['UNSAFE_PATH', async () => archiveOf([...oci, { name: 'escape', type: 'symlink', linkname: '/etc/shadow' }])],
    ['TOO_LARGE', async () => {
      // A gzip bomb: 520 KiB that inflates to 512 MiB, over the decompressed limit.
      const bomb = gzipBombBlob(8);
      const layers = [synthetic.layers[0]!, { ...synthetic.layers[1]!, bytes: bomb, digest: sha256(bomb) }];
      return archiveOf(ociEntries({ ...synthetic, layers }), { gzip: true });
    }],
    ['TOO_LARGE', async () => {
      // A valid image with 800 KB of labels: more than its version's DynamoDB rows hold (it was dead-lettered half way).
      const labels = Object.fromEntries(Array.from({ length: 8 }, (_, i) => [`label${i}`, 'v'.repeat(100_000)]));
      return archiveOf(ociEntries(await buildSyntheticImage({ layers: [{ files: { 'bin/app': 'app' } }], runConfig: { Labels: labels } })));
    }],
  ];

  it.each(hostile)('%s ends failed with its code, an error-log row and nothing stored', async (code, build) => {
    await expectRejected(await build(), code);
  }, 90_000);
});
