import { execFile, execFileSync, spawnSync } from 'node:child_process';
import { PassThrough } from 'node:stream';
import { promisify } from 'node:util';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { DeleteObjectCommand, GetObjectCommand, HeadObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bucketNames, createDynamo, createS3, imageBucketOf, isPushRefusal, legacyOwnerPathOf, newImageUID, ownerPathOf, RegistryUnavailableError, tableName, type EnvironmentName } from '@orbit/lib';
import { pinnedDigestOf, sampleEvents, type ImageCopied, type ImageValidated, type TransferRequested } from '@orbit/schemas';
import { quietLogger, testConfig, uniqueSuffix } from '../../../../test/helpers/index.js';
import { buildImage, buildMultiPlatformImage, multiPlatformSummaryOf, type BuiltImage, type MultiPlatformImage } from '../../../../test/helpers/images.js';
import { cosignSignatureOf, imageManifestOf, referrerOf, referrersListed, sha256, withReferrers, type Artifact } from '../../../../test/helpers/referrers.js';
import { pullWithSkopeo, startRegistry, type TestRegistry } from '../../../../test/helpers/registry.js';
import { storedKeyOf, storeValidatedImage } from '../store-image.js';
import { stagedMultiPlatformValidated, stagedValidated } from '../testing/staged-image.js';
import { recordTransferLocation, transferImage } from '../transfer.js';
import { BlobSources } from './blob-sources.js';
import type { PushResult } from './push-image.js';
import { pushIntoTargetRegistry } from './push-transferred.js';
import { checkVersions, placementsOf, repushVersion, storedVersions } from './repush.js';

const execFileAsync = promisify(execFile);

const s3 = createS3(testConfig);
const buckets = bucketNames(testConfig);

/** A version's image metadata row: what handleTransfer hands the push from recording the copy (recordTransferLocation's ALL_NEW). */
const recordedRowOf = async (version: { readonly imageUID: string; readonly imageVersion: string }): Promise<Record<string, unknown> | undefined> =>
  (await createDynamo(testConfig).send(new GetCommand({ TableName: tableName('appImageMetadata', testConfig), Key: { imageUID: version.imageUID, imageVersion: version.imageVersion }, ConsistentRead: true }))).Item;
let registry: TestRegistry;
let guarded: TestRegistry;
let image: BuiltImage;

const exists = (bucket: string, key: string): Promise<boolean> => s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key })).then(() => true, () => false);

/** A validated docker-archive staged in MinIO (stagedValidated), under `owner`'s uploads. */
const staged = (imageName: string, owner = 'dev1'): Promise<ImageValidated> => stagedValidated({ s3, bucket: buckets.staging }, image.dockerArchive, imageName, owner);

/** A validated multi-platform OCI archive (amd64 and arm64) staged in MinIO, its summary read from the archive. */
async function stagedMultiPlatform(imageName: string, multi: MultiPlatformImage): Promise<ImageValidated> {
  return stagedMultiPlatformValidated({ s3, bucket: buckets.staging }, multi.ociArchive, await multiPlatformSummaryOf(multi.ociArchive), imageName);
}

/** A validated OCI archive with an SBOM, its signature and cosign's signature beside the image, staged in MinIO. */
async function stagedWithReferrers(imageName: string): Promise<{ event: ImageValidated; artifacts: Artifact[] }> {
  const manifest = await imageManifestOf(image.ociArchive);
  const sbom = referrerOf('application/spdx+json', `{"name":"${imageName}"}`, manifest);
  const artifacts = [sbom, referrerOf('application/vnd.cncf.notary.signature', 'signed', sbom.manifest), cosignSignatureOf(manifest)];
  const file = await withReferrers(image.ociArchive, artifacts, `${image.dir}/referrers-${uniqueSuffix()}.tar`);
  const body = readFileSync(file);
  const key = `uploads/dev1/test/${uniqueSuffix()}.tar`;
  const put = await s3.send(new PutObjectCommand({ Bucket: buckets.staging, Key: key, Body: body, ServerSideEncryption: 'AES256' }));
  const parsed = JSON.parse(manifest.toString('utf8')) as { config: { digest: string }; layers: { digest: string; size: number; mediaType: string }[] };
  const base = sampleEvents(newImageUID(), `req-${uniqueSuffix()}`)['orbit.image.validated'];
  const event: ImageValidated = {
    ...base, metadata: { ...base.metadata, imageName, imageVersion: '1.4.2' },
    staging: { bucket: buckets.staging, key, versionId: put.VersionId ?? null }, sizeBytes: body.length, sha256: createHash('sha256').update(body).digest('hex'),
    image: {
      ...base.image, format: 'OCI_ARCHIVE', compression: 'NONE', manifestDigest: sha256(manifest), configDigest: parsed.config.digest,
      layers: parsed.layers.map((layer) => ({ digest: layer.digest, diffId: layer.digest, sizeBytes: layer.size, mediaType: layer.mediaType })),
      referrers: artifacts.map((artifact) => artifact.referrer),
    },
  };
  return { event, artifacts };
}

function deps(at: TestRegistry) {
  return {
    s3, dynamo: createDynamo(testConfig), developmentBucket: buckets.development, stagingBucket: buckets.staging,
    metadataTable: tableName('appImageMetadata', testConfig), manifestTable: tableName('userInputManifest', testConfig),
    pushing: { prefix: `${at.address}/orbit`, access: { insecure: new Set<string>(), credentials: new Map() } },
  };
}

beforeAll(async () => {
  registry = await startRegistry();
  guarded = await startRegistry({ users: { robot: 'secret' } });
  image = buildImage({ name: 'team/app', tag: 'v1', layers: [{ files: { 'app/run': '#!/bin/sh\necho hi\n' } }], exposedPort: '8080/tcp' });
}, 120_000);

afterAll(async () => {
  await registry.stop();
  await guarded.stop();
  image.cleanup();
});

describe('storing a validated image pushes it where its charts pull it from', () => {
  it('pushes from the staged upload before the copy: ORBIT_IMAGE_REGISTRY/<chart name>@<digest> and :<version> pull', async () => {
    const event = await staged('Billing API');
    const outcome = await storeValidatedImage(event, deps(registry), quietLogger);
    const pinned = `${registry.address}/orbit/dev1/billing-api@${event.image.manifestDigest}`;
    // ImageStored says where: the chart-generator pins that, ViewPort shows it.
    expect(outcome).toMatchObject({ kind: 'stored', event: { imageReference: pinned, imageTag: `${registry.address}/orbit/dev1/billing-api:1.4.2` } });
    const inspected = JSON.parse(execFileSync('skopeo', ['inspect', '--tls-verify=false', `docker://${registry.address}/orbit/dev1/billing-api:1.4.2`], { encoding: 'utf8' })) as { Digest: string };
    expect(inspected.Digest).toBe(event.image.manifestDigest);
    execFileSync('skopeo', ['copy', '--quiet', '--src-tls-verify=false', `docker://${pinned}`, `oci:${image.dir}/pulled:x`]);
    // A redelivery, after the staged upload is gone, finds the image in place.
    expect((await storeValidatedImage(event, deps(registry), quietLogger)).kind).toBe('stored');
  }, 60_000);

  it('pushes a first delivery under the owner\'s path of today, and a redelivery of a version stored before under the path its row implies: 8 hex, or the top before 2026-12-04 (found by reviews)', async () => {
    const owner = 'Ada.Lovelace@example.com';
    const table = tableName('appImageMetadata', testConfig);
    const rowOf = async (event: ImageValidated) => (await createDynamo(testConfig).send(new GetCommand({ TableName: table, Key: { imageUID: event.imageUID, imageVersion: '1.4.2' }, ConsistentRead: true }))).Item;
    const fresh = await staged(`fresh-${uniqueSuffix()}`, owner);
    const outcome = await storeValidatedImage(fresh, deps(registry), quietLogger);
    expect(outcome).toMatchObject({ kind: 'stored', event: { imageReference: expect.stringContaining(`/orbit/${ownerPathOf(owner)}/`) as unknown } });
    expect((await rowOf(fresh))?.['ownerPath']).toBe(ownerPathOf(owner));

    // A version stored before owner paths were recorded: its row has none, so it was pushed under the first spelling.
    const old = await staged(`old-${uniqueSuffix()}`, owner);
    const { pushing: _pushing, ...withoutPushing } = deps(registry);
    expect((await storeValidatedImage(old, withoutPushing, quietLogger)).kind).toBe('stored');
    await createDynamo(testConfig).send(new UpdateCommand({ TableName: table, Key: { imageUID: old.imageUID, imageVersion: '1.4.2' }, UpdateExpression: 'REMOVE ownerPath' }));
    const redelivered = await storeValidatedImage(old, deps(registry), quietLogger);
    expect(redelivered).toMatchObject({ kind: 'stored', event: { imageReference: expect.stringContaining(`/orbit/${legacyOwnerPathOf(owner)}/`) as unknown } });
    // Not written down: read from the row's time, so images:push still looks at every earlier path (found by a review).
    expect((await rowOf(old))?.['ownerPath']).toBeUndefined();

    // Stored before 0ff7fcf (2026-12-04 18:07 UTC), whose row names its owner all the same: pushed at <registry>/<chart
    // name>, and kept there; a review found it pushed again under the 8-hex path.
    const older = await staged(`older-${uniqueSuffix()}`, owner);
    expect((await storeValidatedImage(older, withoutPushing, quietLogger)).kind).toBe('stored');
    await createDynamo(testConfig).send(new UpdateCommand({
      TableName: table, Key: { imageUID: older.imageUID, imageVersion: '1.4.2' },
      UpdateExpression: 'REMOVE ownerPath SET createdTimestampUTC = :utc', ExpressionAttributeValues: { ':utc': '2026-12-03T12:00:00.000Z' },
    }));
    const olderRedelivered = await storeValidatedImage(older, deps(registry), quietLogger);
    expect(olderRedelivered).toMatchObject({ kind: 'stored', event: { imageReference: `${registry.address}/orbit/${older.metadata.imageName}@${older.image.manifestDigest}` } });
    expect((await rowOf(older))?.['ownerPath']).toBeUndefined();
    // Read back by its time, with the other paths it may be under still looked at.
    const [version] = await storedVersions(createDynamo(testConfig), table, older.imageUID);
    expect(version).toMatchObject({ ownerPath: null, otherOwnerPaths: [expect.any(String)] });
  }, 60_000);

  it('fails the request with REGISTRY_PUSH_REFUSED when the registry refuses, leaving nothing stored in Development', async () => {
    const event = await staged(`refused-${uniqueSuffix()}`);
    const outcome = await storeValidatedImage(event, deps(guarded), quietLogger);
    expect(outcome).toMatchObject({ kind: 'failed', event: { reasonCode: 'REGISTRY_PUSH_REFUSED', stage: 'store' } });
    if (outcome.kind === 'failed') expect(outcome.event.message).toContain(`${guarded.address}/orbit/dev1/refused-`);
    expect(await exists(buckets.development, storedKeyOf(event.imageUID, event.metadata.imageVersion))).toBe(false);
    expect(await exists(event.staging.bucket, event.staging.key)).toBe(true);
  }, 60_000);

  it('waits (a retriable error) while the registry does not answer, recording nothing, and stores once it is back', async () => {
    const gone = await startRegistry();
    await gone.stop();
    const event = await staged(`waiting-${uniqueSuffix()}`);
    await expect(storeValidatedImage(event, deps(gone), quietLogger)).rejects.toBeInstanceOf(RegistryUnavailableError);
    const row = await createDynamo(testConfig).send(new GetCommand({ TableName: tableName('appImageMetadata', testConfig), Key: { imageUID: event.imageUID, imageVersion: event.metadata.imageVersion } }));
    expect(row.Item, 'nothing is recorded as stored').toBeUndefined();
    expect(await exists(event.staging.bucket, event.staging.key)).toBe(true);
    // The redelivery, with a registry that answers: the verified copy is kept, the image pushed from it.
    expect((await storeValidatedImage(event, deps(registry), quietLogger)).kind).toBe('stored');
    execFileSync('skopeo', ['inspect', '--raw', '--tls-verify=false', `docker://${registry.address}/orbit/dev1/${event.metadata.imageName}@${event.image.manifestDigest}`]);
  }, 60_000);

  it('never takes away a stored image: a redelivery after it was stored, meeting a registry that now refuses, keeps the Development copy', async () => {
    const event = await staged(`kept-${uniqueSuffix()}`);
    expect((await storeValidatedImage(event, deps(registry), quietLogger)).kind).toBe('stored');
    // Pushed to the guarded registry the image is not there, and the push is refused (no credentials).
    expect((await storeValidatedImage(event, deps(guarded), quietLogger)).kind).toBe('failed');
    expect(await exists(buckets.development, storedKeyOf(event.imageUID, event.metadata.imageVersion))).toBe(true);
  }, 60_000);

  it('ends the push in flight when the consumer stops: an error the loop retries, no failure event, nothing pullable', async () => {
    const event = await staged(`stopped-${uniqueSuffix()}`);
    // The staged archive as a large image reads: half of it at once, the rest not for minutes.
    const stalling = {
      send: async (command: Parameters<typeof s3.send>[0], options?: { abortSignal?: AbortSignal }) => {
        const answer = await s3.send(command as never, options);
        if (!(command instanceof GetObjectCommand)) return answer;
        const whole = Buffer.from(await (answer as { Body: { transformToByteArray(): Promise<Uint8Array> } }).Body.transformToByteArray());
        const body = new PassThrough();
        body.write(whole.subarray(0, Math.floor(whole.length / 2)));
        return { ...answer, Body: body };
      },
    } as unknown as typeof s3;
    const stopping = new AbortController();
    const storing = storeValidatedImage(event, { ...deps(registry), s3: stalling, signal: stopping.signal }, quietLogger);
    setTimeout(() => stopping.abort(), 1_000);
    const started = performance.now();
    const error: unknown = await storing.then(() => undefined, (reason: unknown) => reason);
    expect(error, 'a thrown error, not a failed request').toBeInstanceOf(Error);
    expect(isPushRefusal(error)).toBe(false);
    expect(performance.now() - started).toBeLessThan(10_000);
    const pinned = `docker://${registry.address}/orbit/dev1/${event.metadata.imageName}@${event.image.manifestDigest}`;
    expect(spawnSync('skopeo', ['inspect', '--raw', '--tls-verify=false', pinned]).status, 'nothing was made pullable').not.toBe(0);
    // The next owner of the message stores it.
    expect((await storeValidatedImage(event, deps(registry), quietLogger)).kind).toBe('stored');
  }, 60_000);

  it('takes the Development copy away again when the push is refused after the blobs went in', async () => {
    const event = await staged(`half-${uniqueSuffix()}`);
    // The blobs go in, but the manifest the archive gives is not the one the event names: nothing is committed.
    const broken = { ...event, image: { ...event.image, manifestDigest: `sha256:${'2'.repeat(64)}` } };
    const outcome = await storeValidatedImage(broken, deps(registry), quietLogger);
    expect(outcome).toMatchObject({ kind: 'failed', event: { reasonCode: 'REGISTRY_PUSH_REFUSED' } });
    expect(await exists(buckets.development, storedKeyOf(event.imageUID, event.metadata.imageVersion))).toBe(false);
  }, 60_000);
});

describe('npm run images:push', () => {
  const cli = (args: readonly string[], env: Record<string, string> = {}) => {
    const run = spawnSync(process.execPath, [fileURLToPath(new URL('../../dist/push-cli.js', import.meta.url)), ...args], {
      encoding: 'utf8', env: { ...process.env, ORBIT_IMAGE_REGISTRY: `${registry.address}/orbit`, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true', ...env },
    });
    return { status: run.status, out: run.stdout };
  };

  it('finds a transferred copy missing from its environment\'s own registry and pushes it from that environment\'s copy', async () => {
    const name = `promoted-${uniqueSuffix()}`;
    const event = await staged(name);
    expect((await storeValidatedImage(event, deps(registry), quietLogger)).kind).toBe('stored');
    const request: TransferRequested = { ...sampleEvents(event.imageUID, `req-${uniqueSuffix()}`)['orbit.transfer.requested'], requestId: `req-${uniqueSuffix()}`, imageVersion: event.metadata.imageVersion };
    const copied = await transferImage(request, { ...deps(registry), bucketOf: (environment) => imageBucketOf(environment, buckets) }, quietLogger);
    if (copied.kind !== 'copied') throw new Error(copied.event.message);
    // Recorded as transferred, but never pushed into Testing's registry: a registry that lost it, or a transfer from before it had one.
    await recordTransferLocation(copied.event, deps(registry));
    const env = { ORBIT_ENVIRONMENT_REGISTRIES: `Testing=${registry.address}/orbit-testing` };
    const reference = `${registry.address}/orbit-testing/dev1/${name}@${event.image.manifestDigest}`;
    const dry = cli(['--dry-run', '--image', event.imageUID], env);
    expect(dry.out).toContain('checked 1 stored versions against');
    expect(dry.out).toContain('and 1 transferred copies against their environments\' registries; 1 missing');
    expect(dry.out).toContain(`missing ${reference} (${event.imageUID} ${event.metadata.imageVersion}, Testing)`);
    expect(dry.status).toBe(1);
    const pushed = cli(['--image', event.imageUID], env);
    expect(pushed.status, pushed.out).toBe(0);
    expect(pushed.out).toContain(`pushed ${reference}`);
    await execFileAsync('skopeo', ['copy', '--quiet', '--src-tls-verify=false', `docker://${reference}`, `oci:${image.dir}/promoted:x`]);
    expect(cli(['--image', event.imageUID], env)).toMatchObject({ status: 0, out: expect.stringContaining('0 missing') });
    // Without the variable Testing pulls from the upload registry, which holds it: nothing more to check.
    expect(cli(['--image', event.imageUID]).out).toContain('checked 1 stored versions against ' + `${registry.address}/orbit; 0 missing`);
  }, 90_000);

  it('finds a version stored without a push (before Orbit pushed, or lost by the registry), pushes it from its Development copy, then finds nothing', async () => {
    const name = `earlier-${uniqueSuffix()}`;
    const event = await staged(name);
    const { pushing: _pushing, ...withoutPushing } = deps(registry);
    expect((await storeValidatedImage(event, withoutPushing, quietLogger)).kind).toBe('stored');
    const versions = await storedVersions(createDynamo(testConfig), tableName('appImageMetadata', testConfig), event.imageUID);
    const [check] = await checkVersions(placementsOf(versions, () => `${registry.address}/orbit`), { s3, log: quietLogger, pushing: deps(registry).pushing });
    const reference = `${registry.address}/orbit/dev1/${name}@${event.image.manifestDigest}`;
    expect(check).toMatchObject({ kind: 'missing', reference });

    const dry = cli(['--dry-run', '--image', event.imageUID]);
    expect(dry).toMatchObject({ status: 1 });
    expect(dry.out).toContain(`missing ${reference}`);
    const pushed = cli(['--image', event.imageUID]);
    expect(pushed.status, pushed.out).toBe(0);
    expect(pushed.out).toContain(`pushed ${reference}`);
    execFileSync('skopeo', ['copy', '--quiet', '--src-tls-verify=false', `docker://${reference}`, `oci:${image.dir}/repushed:x`]);
    const again = cli(['--image', event.imageUID]);
    expect(again).toMatchObject({ status: 0 });
    expect(again.out).toContain('1 stored versions against');
    expect(again.out).toContain('0 missing');
  }, 90_000);

  it('names a version whose stored copy cannot be read, and goes on: one bad archive does not stop the repair of the rest', async () => {
    const event = await staged(`unreadable-${uniqueSuffix()}`);
    const { pushing: _pushing, ...withoutPushing } = deps(registry);
    expect((await storeValidatedImage(event, withoutPushing, quietLogger)).kind).toBe('stored');
    const versions = await storedVersions(createDynamo(testConfig), tableName('appImageMetadata', testConfig), event.imageUID);
    const [placement] = placementsOf(versions, () => `${registry.address}/orbit`);
    // Bit rot, or a copy replaced by hand: gzip's magic, then nothing gzip can read.
    const key = `rotten/${uniqueSuffix()}.tar`;
    await s3.send(new PutObjectCommand({ Bucket: placement!.source.bucket, Key: key, Body: Buffer.concat([Buffer.from([0x1f, 0x8b, 0x08, 0x00]), Buffer.alloc(4096, 7)]) }));
    const why = await repushVersion({ ...placement!, source: { bucket: placement!.source.bucket, key, versionId: null } }, { s3, log: quietLogger, pushing: deps(registry).pushing });
    expect(why).toMatch(new RegExp(`^could not be pushed from s3://${placement!.source.bucket}/${key}: `));
  }, 90_000);

  it('finds a version whose image is in place but a referrer pushed with it is gone or no longer listed, and puts it back', async () => {
    const { event, artifacts } = await stagedWithReferrers(`signed-lost-${uniqueSuffix()}`);
    expect((await storeValidatedImage(event, deps(registry), quietLogger)).kind).toBe('stored');
    const versions = await storedVersions(createDynamo(testConfig), tableName('appImageMetadata', testConfig), event.imageUID);
    const placements = placementsOf(versions, () => `${registry.address}/orbit`);
    const repushDeps = { s3, log: quietLogger, pushing: deps(registry).pushing };
    expect(await checkVersions(placements, repushDeps)).toMatchObject([{ kind: 'pushed' }]);
    const repository = `orbit/dev1/${event.metadata.imageName}`;
    const signature = artifacts[1]!.referrer.digest;
    expect((await fetch(`http://${registry.address}/v2/${repository}/manifests/${signature}`, { method: 'DELETE' })).status).toBe(202);

    expect(await checkVersions(placements, repushDeps)).toMatchObject([{ kind: 'missing' }]);
    expect(await repushVersion(placements[0]!, repushDeps)).toBeUndefined();
    expect(await checkVersions(placements, repushDeps)).toMatchObject([{ kind: 'pushed' }]);
    expect((await referrersListed(registry.address, repository, artifacts[1]!.referrer.subject)).map((entry) => entry.digest)).toEqual([signature]);

    // Another writer put the image's tag-scheme index back without the SBOM (a lost read-add-put race): found, and listed again.
    const sbom = artifacts[0]!.referrer;
    const emptied = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests: [] }));
    const put = await fetch(`http://${registry.address}/v2/${repository}/manifests/${sbom.subject.replace(':', '-')}`, { method: 'PUT', headers: { 'content-type': 'application/vnd.oci.image.index.v1+json' }, body: emptied });
    expect(put.status).toBe(201);
    expect(await checkVersions(placements, repushDeps)).toMatchObject([{ kind: 'missing' }]);
    expect(await repushVersion(placements[0]!, repushDeps)).toBeUndefined();
    expect((await referrersListed(registry.address, repository, sbom.subject)).map((entry) => entry.digest)).toEqual([sbom.digest]);
    expect(await checkVersions(placements, repushDeps)).toMatchObject([{ kind: 'pushed' }]);
  }, 90_000);
});

describe('a transfer into an environment with a registry of its own', () => {
  /** An image stored (and pushed to the upload registry), then copied to Testing's bucket: what the push starts from. */
  async function copiedToTesting(name: string, blobSources: BlobSources, stage: (name: string) => Promise<ImageValidated> = staged): Promise<{ copied: ImageCopied; request: TransferRequested; digest: string }> {
    const event = await stage(name);
    expect((await storeValidatedImage(event, { ...deps(registry), pushing: { ...deps(registry).pushing, blobSources } }, quietLogger)).kind).toBe('stored');
    const request: TransferRequested = {
      ...sampleEvents(event.imageUID, `req-${uniqueSuffix()}`)['orbit.transfer.requested'], requestId: `req-${uniqueSuffix()}`, imageVersion: event.metadata.imageVersion,
    };
    const copied = await transferImage(request, { ...deps(registry), bucketOf: (environment) => imageBucketOf(environment, buckets) }, quietLogger);
    if (copied.kind !== 'copied') throw new Error(`the copy failed: ${copied.event.message}`);
    return { copied: copied.event, request, digest: pinnedDigestOf(event.image) };
  }

  function pushDeps(testing: string, blobSources: BlobSources, seen: PushResult[]) {
    return {
      ...deps(registry), registryOf: (environment: EnvironmentName) => (environment === 'Testing' ? testing : `${registry.address}/orbit`),
      pushing: { ...deps(registry).pushing, blobSources, observe: { pushed: (result: PushResult) => seen.push(result), refused: () => undefined } },
    };
  }

  it('pushes it from the Testing copy into the Testing registry, and ImageCopied says where it pulls by digest and by tag', async () => {
    const testingRegistry = await startRegistry();
    try {
      const blobSources = new BlobSources();
      const { copied, request, digest } = await copiedToTesting('Billing API', blobSources);
      const seen: PushResult[] = [];
      const outcome = await pushIntoTargetRegistry(copied, request, await recordedRowOf(copied), pushDeps(`${testingRegistry.address}/orbit-testing`, blobSources, seen), quietLogger);
      const pinned = `${testingRegistry.address}/orbit-testing/dev1/billing-api@${digest}`;
      expect(outcome).toMatchObject({ kind: 'copied', event: { ...copied, imageReference: pinned, imageTag: `${testingRegistry.address}/orbit-testing/dev1/billing-api:1.4.2` } });
      const inspected = JSON.parse((await execFileAsync('skopeo', ['inspect', '--tls-verify=false', `docker://${testingRegistry.address}/orbit-testing/dev1/billing-api:1.4.2`], { encoding: 'utf8' })).stdout) as { Digest: string };
      expect(inspected.Digest).toBe(digest);
      await execFileAsync('skopeo', ['copy', '--quiet', '--src-tls-verify=false', `docker://${pinned}`, `oci:${image.dir}/testing:x`]);
      expect(seen.map((result) => [result.blobsSent > 0, result.alreadyThere])).toEqual([[true, false]]);
      // A redelivered ImageCopied's request finds the image in place and sends nothing.
      expect(await pushIntoTargetRegistry(copied, request, await recordedRowOf(copied), pushDeps(`${testingRegistry.address}/orbit-testing`, blobSources, seen), quietLogger)).toMatchObject({ kind: 'copied', event: { imageReference: pinned } });
      expect(seen.map((result) => result.alreadyThere)).toEqual([false, true]);
    } finally {
      await testingRegistry.stop();
    }
  }, 90_000);

  it('mounts the layers when Testing is another project of the same registry, so only the manifest travels', async () => {
    const blobSources = new BlobSources();
    const { copied, request, digest } = await copiedToTesting(`shared-${uniqueSuffix()}`, blobSources);
    const seen: PushResult[] = [];
    const outcome = await pushIntoTargetRegistry(copied, request, await recordedRowOf(copied), pushDeps(`${registry.address}/orbit-testing`, blobSources, seen), quietLogger);
    expect(outcome).toMatchObject({ kind: 'copied', event: { imageReference: expect.stringMatching(new RegExp(`^${registry.address}/orbit-testing/dev1/shared-.*@${digest}$`)) } });
    expect(seen.map((result) => [result.blobsSent, result.bytesSent, result.blobsMounted > 0])).toEqual([[0, 0, true]]);
  }, 90_000);

  it('copies within the registry after a restart emptied the blob memory: layers mounted from the upload repository, its manifest copied, nothing read from S3', async () => {
    const { copied, request, digest } = await copiedToTesting(`restarted-${uniqueSuffix()}`, new BlobSources());
    // Gone from the Testing bucket, that very version: were the push to read the archive, it would fail.
    await s3.send(new DeleteObjectCommand({ Bucket: copied.target.bucket, Key: copied.target.key, ...(copied.target.versionId ? { VersionId: copied.target.versionId } : {}) }));
    const seen: PushResult[] = [];
    const outcome = await pushIntoTargetRegistry(copied, request, await recordedRowOf(copied), pushDeps(`${registry.address}/orbit-testing`, new BlobSources(), seen), quietLogger);
    expect(outcome).toMatchObject({ kind: 'copied', event: { imageReference: expect.stringMatching(new RegExp(`^${registry.address}/orbit-testing/dev1/restarted-.*@${digest}$`)) } });
    expect(seen.map((result) => [result.blobsSent, result.bytesSent, result.blobsMounted > 1])).toEqual([[0, 0, true]]);
    if (outcome.kind === 'copied') expect(pullWithSkopeo(outcome.event.imageReference ?? '')).toBe(digest);
  }, 90_000);

  it('pushes a multi-platform image whole into the Testing registry, from the Testing copy or, on the same registry after a restart, by mounts and manifest copies alone', async () => {
    const arm = buildImage({ name: 'team/app', tag: 'v1', architecture: 'arm64', layers: [{ files: { 'app/run': '#!/bin/sh\necho arm\n' } }] });
    const multi = buildMultiPlatformImage([{ image, architecture: 'amd64' }, { image: arm, architecture: 'arm64' }], 'v1');
    const testingRegistry = await startRegistry();
    try {
      const stage = (name: string) => stagedMultiPlatform(name, multi);
      const expectBothPlatforms = async (reference: string): Promise<void> => {
        expect(pullWithSkopeo(reference)).toBe(multi.indexDigest);
        for (const architecture of ['amd64', 'arm64']) {
          const seen = JSON.parse((await execFileAsync('skopeo', ['inspect', '--tls-verify=false', '--override-arch', architecture, `docker://${reference}`], { encoding: 'utf8' })).stdout) as { Architecture: string };
          expect(seen.Architecture).toBe(architecture);
        }
      };
      const elsewhere = await copiedToTesting(`multi-${uniqueSuffix()}`, new BlobSources(), stage);
      const other = await pushIntoTargetRegistry(elsewhere.copied, elsewhere.request, await recordedRowOf(elsewhere.copied), pushDeps(`${testingRegistry.address}/orbit-testing`, new BlobSources(), []), quietLogger);
      expect(other).toMatchObject({ kind: 'copied', event: { imageReference: expect.stringMatching(new RegExp(`@${multi.indexDigest}$`)) } });
      if (other.kind === 'copied') await expectBothPlatforms(other.event.imageReference ?? '');

      const { copied, request } = await copiedToTesting(`multi-restarted-${uniqueSuffix()}`, new BlobSources(), stage);
      await s3.send(new DeleteObjectCommand({ Bucket: copied.target.bucket, Key: copied.target.key, ...(copied.target.versionId ? { VersionId: copied.target.versionId } : {}) }));
      const seen: PushResult[] = [];
      const outcome = await pushIntoTargetRegistry(copied, request, await recordedRowOf(copied), pushDeps(`${registry.address}/orbit-testing`, new BlobSources(), seen), quietLogger);
      expect(seen.map((result) => [result.blobsSent, result.bytesSent, result.blobsMounted])).toEqual([[0, 0, 4]]);
      if (outcome.kind !== 'copied') throw new Error(outcome.event.message);
      await expectBothPlatforms(outcome.event.imageReference ?? '');
    } finally {
      await testingRegistry.stop();
      arm.cleanup();
      multi.cleanup();
    }
  }, 90_000);

  it('takes the image\'s SBOM and signatures along, into another registry from the Testing copy and, on the same registry after a restart, by mounts and manifest copies alone', async () => {
    const testingRegistry = await startRegistry();
    try {
      let artifacts: Artifact[] = [];
      const stage = async (name: string): Promise<ImageValidated> => {
        const staged = await stagedWithReferrers(name);
        artifacts = staged.artifacts;
        return staged.event;
      };
      /** The three referrers are at `reference`'s repository, each discoverable as a client would look for it. */
      const expectReferrers = async (address: string, reference: string): Promise<void> => {
        const repository = reference.slice(address.length + 1).split('@')[0]!;
        const [sbomOf, signatureOf, cosignOf] = artifacts;
        expect((await referrersListed(address, repository, sbomOf!.referrer.subject)).map((entry) => entry.digest)).toEqual([sbomOf!.referrer.digest]);
        expect((await referrersListed(address, repository, signatureOf!.referrer.subject)).map((entry) => entry.digest)).toEqual([signatureOf!.referrer.digest]);
        const tagged = await fetch(`http://${address}/v2/${repository}/manifests/${cosignOf!.referrer.tag!}`, { method: 'HEAD', headers: { accept: 'application/vnd.oci.image.manifest.v1+json' } });
        expect(tagged.headers.get('docker-content-digest')).toBe(cosignOf!.referrer.digest);
      };

      const elsewhere = await copiedToTesting(`signed-${uniqueSuffix()}`, new BlobSources(), stage);
      const other = await pushIntoTargetRegistry(elsewhere.copied, elsewhere.request, await recordedRowOf(elsewhere.copied), pushDeps(`${testingRegistry.address}/orbit-testing`, new BlobSources(), []), quietLogger);
      if (other.kind !== 'copied') throw new Error(other.event.message);
      await expectReferrers(testingRegistry.address, other.event.imageReference ?? '');

      const { copied, request } = await copiedToTesting(`signed-restarted-${uniqueSuffix()}`, new BlobSources(), stage);
      await s3.send(new DeleteObjectCommand({ Bucket: copied.target.bucket, Key: copied.target.key, ...(copied.target.versionId ? { VersionId: copied.target.versionId } : {}) }));
      const seen: PushResult[] = [];
      const outcome = await pushIntoTargetRegistry(copied, request, await recordedRowOf(copied), pushDeps(`${registry.address}/orbit-testing`, new BlobSources(), seen), quietLogger);
      if (outcome.kind !== 'copied') throw new Error(outcome.event.message);
      // Nothing read from the (deleted) Testing copy: the image's and the referrers' blobs mounted, their manifests copied.
      expect(seen.map((result) => [result.blobsSent, result.bytesSent, result.referrers])).toEqual([[0, 0, 3]]);
      await expectReferrers(registry.address, outcome.event.imageReference ?? '');
    } finally {
      await testingRegistry.stop();
    }
  }, 90_000);

  it('leaves an environment that pulls from the upload registry as it was', async () => {
    const blobSources = new BlobSources();
    const { copied, request } = await copiedToTesting(`same-${uniqueSuffix()}`, blobSources);
    const seen: PushResult[] = [];
    expect(await pushIntoTargetRegistry(copied, request, await recordedRowOf(copied), pushDeps(`${registry.address}/orbit`, blobSources, seen), quietLogger)).toEqual({ kind: 'copied', event: copied });
    expect(seen).toEqual([]);
  }, 90_000);

  it('fails the transfer with REGISTRY_PUSH_REFUSED, naming the repository, when the target registry refuses', async () => {
    const blobSources = new BlobSources();
    const { copied, request } = await copiedToTesting(`refused-${uniqueSuffix()}`, blobSources);
    const outcome = await pushIntoTargetRegistry(copied, request, await recordedRowOf(copied), pushDeps(`${guarded.address}/orbit-testing`, blobSources, []), quietLogger);
    expect(outcome).toMatchObject({ kind: 'failed', event: { reasonCode: 'REGISTRY_PUSH_REFUSED', stage: 'copy', flow: 'transfer', requestId: request.requestId } });
    if (outcome.kind === 'failed') expect(outcome.event.message).toContain(`${guarded.address}/orbit-testing/dev1/refused-`);
  }, 90_000);
});
