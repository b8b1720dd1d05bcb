import { execFileSync, type ExecFileSyncOptions } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bucketNames, createDynamo, createS3, imageBucketOf, tableName, type EnvironmentName, type ReferrerCopyLimits } from '@orbit/lib';
import { sampleEvents, type ImageCopied, type ImageValidated, type TransferRequested } from '@orbit/schemas';
import { quietLogger, testConfig, uniqueSuffix } from '../../../../test/helpers/index.js';
import { memoryLogger } from '../../../../test/helpers/memory-logger.js';
import { orasBinary, regctlBinary } from '../../../../test/helpers/image-tools.js';
import { buildImage, buildMultiPlatformImage, multiPlatformSummaryOf, type BuiltImage } from '../../../../test/helpers/images.js';
import { OCI_MANIFEST, referrersListed, sha256 } from '../../../../test/helpers/referrers.js';
import { startRegistry, type RegistryServer, type TestRegistry } from '../../../../test/helpers/registry.js';
import { storeValidatedImage } from '../store-image.js';
import { stagedMultiPlatformValidated, stagedValidated } from '../testing/staged-image.js';
import { recordTransferLocation, transferImage } from '../transfer.js';
import { pushIntoTargetRegistry } from './push-transferred.js';

/**
 * The Development registry is the local stack's (docker-registry 2.8 at
 * 127.0.0.1:5050: no referrers API, so oras lists there through the
 * referrers tag scheme); Testing's is one started here.
 */
const DEVELOPMENT = process.env['ORBIT_IMAGE_REGISTRY'] ?? '127.0.0.1:5050/orbit';
const RUN: ExecFileSyncOptions = { stdio: ['ignore', 'pipe', 'pipe'] };

const s3 = createS3(testConfig);
const buckets = bucketNames(testConfig);
let image: BuiltImage;
let oras: string;
let regctl: string;

beforeAll(() => {
  image = buildImage({ name: 'team/app', tag: 'v1', layers: [{ files: { 'app/run': '#!/bin/sh\necho carried\n' } }] });
  oras = orasBinary();
  regctl = regctlBinary();
}, 600_000);

afterAll(() => image.cleanup());

const storeDeps = {
  s3, dynamo: createDynamo(testConfig), developmentBucket: buckets.development, stagingBucket: buckets.staging,
  metadataTable: tableName('appImageMetadata', testConfig), manifestTable: tableName('userInputManifest', testConfig),
  pushing: { prefix: DEVELOPMENT, access: { insecure: new Set<string>(), credentials: new Map() } },
};

/** A version's image metadata row: what handleTransfer hands the push from recording the copy (recordTransferLocation's ALL_NEW). */
const recordedRowOf = async (version: { readonly imageUID: string; readonly imageVersion: string }): Promise<Record<string, unknown> | undefined> =>
  (await storeDeps.dynamo.send(new GetCommand({ TableName: tableName('appImageMetadata', testConfig), Key: { imageUID: version.imageUID, imageVersion: version.imageVersion }, ConsistentRead: true }))).Item;

interface Uploaded {
  /** `registry/repository` in the Development registry. */
  readonly repository: string;
  readonly digest: string;
  readonly copied: ImageCopied;
  readonly request: TransferRequested;
}

/** A validated multi-platform OCI archive staged in MinIO, its summary read from the archive. */
async function stagedMultiPlatform(ociArchive: string, imageName: string): Promise<ImageValidated> {
  return stagedMultiPlatformValidated({ s3, bucket: buckets.staging }, ociArchive, await multiPlatformSummaryOf(ociArchive), imageName);
}

/** An image uploaded (pushed to the Development registry) and copied into the Testing bucket, its registry push not yet made. */
async function uploadedAndCopied(name: string, staged?: ImageValidated): Promise<Uploaded> {
  const event = staged ?? await stagedValidated({ s3, bucket: buckets.staging }, image.dockerArchive, name, 'dev1');
  const stored = await storeValidatedImage(event, storeDeps, quietLogger);
  if (stored.kind !== 'stored' || !stored.event.imageReference) throw new Error('the upload was not pushed');
  const [repository, digest] = stored.event.imageReference.split('@') as [string, string];
  const request: TransferRequested = { ...sampleEvents(event.imageUID, `req-${uniqueSuffix()}`)['orbit.transfer.requested'], requestId: `req-${uniqueSuffix()}`, imageVersion: event.metadata.imageVersion };
  const copied = await transferImage(request, { ...storeDeps, bucketOf: (environment) => imageBucketOf(environment, buckets) }, quietLogger);
  if (copied.kind !== 'copied') throw new Error(`the copy failed: ${copied.event.message}`);
  return { repository, digest, copied: copied.event, request };
}

/** `oras attach` of one file to `subject`, as a user does after the upload; answers the referrer's digest. */
function attach(subject: string, artifactType: string, content: string): string {
  const file = `attached-${uniqueSuffix()}.json`;
  writeFileSync(join(image.dir, file), content);
  const out = execFileSync(oras, ['attach', '--plain-http', '--format', 'json', '--artifact-type', artifactType, subject, `${file}:${artifactType}`], { cwd: image.dir, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  return (JSON.parse(out) as { digest: string }).digest;
}

/** A signature as `cosign sign` stores it by default: a manifest under the tag `sha256-<image hex>.sig`, no subject. Answers its digest. */
function cosignSign(repository: string, digest: string): { tag: string; digest: string } {
  const host = ['--host', `reg=${repository.split('/')[0]!},tls=disabled`];
  const payload = join(image.dir, `simplesigning-${uniqueSuffix()}.json`);
  writeFileSync(payload, JSON.stringify({ critical: { image: { 'docker-manifest-digest': digest }, type: 'cosign container image signature' } }));
  const config = join(image.dir, `sig-config-${uniqueSuffix()}.json`);
  writeFileSync(config, JSON.stringify({ architecture: '', os: '', config: {}, rootfs: { type: 'layers', diff_ids: [] } }));
  const tag = `sha256-${digest.slice(7)}.sig`;
  execFileSync(regctl, [...host, 'artifact', 'put', '--config-type', 'application/vnd.oci.image.config.v1+json', '--config-file', config,
    '--file', payload, '--file-media-type', 'application/vnd.dev.cosign.simplesigning.v1+json', `${repository}:${tag}`], RUN);
  return { tag, digest: execFileSync(regctl, [...host, 'image', 'digest', `${repository}:${tag}`], { encoding: 'utf8' }).trim() };
}

/** The bytes `repository` (registry/path) holds for a manifest, as any client reads them. */
async function manifestBytes(repository: string, reference: string): Promise<{ status: number; bytes: Buffer }> {
  const [host, ...path] = repository.split('/');
  const response = await fetch(`http://${host!}/v2/${path.join('/')}/manifests/${reference}`, { headers: { accept: OCI_MANIFEST } });
  return { status: response.status, bytes: Buffer.from(await response.arrayBuffer()) };
}

const listedAt = async (repository: string, subject: string): Promise<string[]> => {
  const [host, ...path] = repository.split('/');
  return (await referrersListed(host!, path.join('/'), subject)).map((entry) => entry.digest).sort();
};

function transferDeps(testing: string, carried: number[], referrerLimits?: ReferrerCopyLimits, staging?: string) {
  return {
    ...storeDeps, referrerLimits,
    registryOf: (environment: EnvironmentName) => (environment === 'Testing' ? testing : environment === 'Staging' && staging !== undefined ? staging : DEVELOPMENT),
    pushing: { ...storeDeps.pushing, observe: { pushed: () => undefined, refused: () => undefined, carried: (_outcome: string, count: number) => carried.push(count) } },
  };
}

describe.each<[RegistryServer, string]>([
  ['referrers-api', 'a Testing registry with the OCI 1.1 referrers API'],
  ['docker-registry', 'a Testing registry without it (the tag scheme)'],
])('a transfer into an environment with its own registry (%s)', (server, how) => {
  let testing: TestRegistry;
  beforeAll(async () => {
    testing = await startRegistry({ server });
  }, 300_000);
  afterAll(async () => testing.stop());

  it(`carries the SBOM, the signature of the SBOM and cosign's signature attached in the Development registry after the upload, byte for byte, and a redelivery copies nothing (${how})`, async () => {
    const { repository, digest, copied, request } = await uploadedAndCopied(`signed-${uniqueSuffix()}`);
    // After the upload, in the Development registry: the Harbor flow's push → sign / attach an SBOM → promote.
    const sbom = attach(`${repository}@${digest}`, 'application/spdx+json', '{"spdxVersion":"SPDX-2.3"}');
    const signature = attach(`${repository}@${sbom}`, 'application/vnd.cncf.notary.signature', 'signed sbom');
    const cosign = cosignSign(repository, digest);

    const carried: number[] = [];
    const outcome = await pushIntoTargetRegistry(copied, request, await recordedRowOf(copied), transferDeps(`${testing.address}/orbit-testing`, carried), quietLogger);
    if (outcome.kind !== 'copied') throw new Error(outcome.event.message);
    const target = (outcome.event.imageReference ?? '').split('@')[0]!;
    expect(target.startsWith(`${testing.address}/orbit-testing/`)).toBe(true);

    // What the admission controller in Testing finds next to the image: each referrer with its digest, so each `subject` still holds.
    expect(await listedAt(target, digest)).toEqual([sbom]);
    expect(await listedAt(target, sbom)).toEqual([signature]);
    expect(carried).toEqual([3]);
    for (const referrer of [sbom, signature, cosign.digest]) {
      const held = await manifestBytes(target, referrer);
      expect(held.status).toBe(200);
      expect(sha256(held.bytes)).toBe(referrer);
      expect(held.bytes.equals((await manifestBytes(repository, referrer)).bytes)).toBe(true);
    }
    expect(sha256((await manifestBytes(target, cosign.tag)).bytes)).toBe(cosign.digest);
    // Blobs too: the SBOM pulls whole from Testing.
    execFileSync(oras, ['pull', '--plain-http', '-o', join(image.dir, `pulled-${server}`), `${target}@${sbom}`], RUN);

    expect((await pushIntoTargetRegistry(copied, request, await recordedRowOf(copied), transferDeps(`${testing.address}/orbit-testing`, carried), quietLogger)).kind).toBe('copied');
    expect(carried).toEqual([3, 0]);

    // Signed again later (another key): the next transfer of the version adds that signature beside the others.
    const second = attach(`${repository}@${digest}`, 'application/vnd.cncf.notary.signature', 'second key');
    expect((await pushIntoTargetRegistry(copied, request, await recordedRowOf(copied), transferDeps(`${testing.address}/orbit-testing`, carried), quietLogger)).kind).toBe('copied');
    expect(carried).toEqual([3, 0, 1]);
    expect(await listedAt(target, digest)).toEqual([sbom, second].sort());
  }, 180_000);
});

it('carries them within one registry (Testing another project of the Development registry) by mounting their blobs', async () => {
  const { repository, digest, copied, request } = await uploadedAndCopied(`mounted-${uniqueSuffix()}`);
  const sbom = attach(`${repository}@${digest}`, 'application/spdx+json', '{"spdxVersion":"SPDX-2.3","name":"mounted"}');
  const carried: number[] = [];
  const testingPrefix = `${DEVELOPMENT.split('/')[0]!}/orbit-testing-${uniqueSuffix()}`;
  const { logger, lines } = memoryLogger();
  const outcome = await pushIntoTargetRegistry(copied, request, await recordedRowOf(copied), transferDeps(testingPrefix, carried), logger);
  if (outcome.kind !== 'copied') throw new Error(outcome.event.message);
  const target = (outcome.event.imageReference ?? '').split('@')[0]!;
  expect(await listedAt(target, digest)).toEqual([sbom]);
  expect(carried).toEqual([1]);
  // The log line ops read: what was found at the source, copied, and how its blobs (the empty config, the SBOM) travelled.
  expect(lines.find((line) => line['msg'] === 'referrers of the image in the source environment registry carried to the target'))
    .toMatchObject({ from: repository, to: target, found: 1, copied: 1, alreadyThere: 0, blobsSent: 0, blobsMounted: 2, sourceEnvironment: 'Development', targetEnvironment: 'Testing' });
  expect(sha256((await manifestBytes(target, sbom)).bytes)).toBe(sbom);
}, 180_000);

it('fails the transfer with REGISTRY_PUSH_REFUSED, naming the referrers, when they are past what it copies: the image never reaches Testing\'s charts without its signatures', async () => {
  const testing = await startRegistry();
  try {
    const { repository, digest, copied, request } = await uploadedAndCopied(`toomany-${uniqueSuffix()}`);
    attach(`${repository}@${digest}`, 'application/spdx+json', '{"name":"one"}');
    attach(`${repository}@${digest}`, 'application/vnd.cncf.notary.signature', 'two');
    const carried: number[] = [];
    const outcome = await pushIntoTargetRegistry(copied, request, await recordedRowOf(copied), transferDeps(`${testing.address}/orbit-testing`, carried, { count: 1, depth: 4, bytes: 1024 ** 3, manifestBytes: 64 * 1024 ** 2 }), quietLogger);
    expect(outcome).toMatchObject({ kind: 'failed', event: { reasonCode: 'REGISTRY_PUSH_REFUSED', flow: 'transfer', requestId: request.requestId } });
    if (outcome.kind === 'failed') expect(outcome.event.message).toMatch(/referrers \(signatures, SBOMs\) attached to it in the Development registry .* more than 1 referrer manifests/);
    expect(carried).toEqual([1]);
  } finally {
    await testing.stop();
  }
}, 180_000);

it('carries into Staging what was attached in the Testing registry, where the Testing image lives, not in the Development registry', async () => {
  const [testing, staging] = await Promise.all([startRegistry({ server: 'referrers-api' }), startRegistry({ server: 'referrers-api' })]);
  try {
    const { repository, digest, copied, request } = await uploadedAndCopied(`staged-${uniqueSuffix()}`);
    const carried: number[] = [];
    const inTesting = await pushIntoTargetRegistry(copied, request, await recordedRowOf(copied), transferDeps(`${testing.address}/orbit-testing`, carried, undefined, `${staging.address}/orbit-staging`), quietLogger);
    if (inTesting.kind !== 'copied') throw new Error(inTesting.event.message);
    await recordTransferLocation(inTesting.event, storeDeps);
    const testingRepository = (inTesting.event.imageReference ?? '').split('@')[0]!;
    // QA signs the image it tested, in the Testing registry; a Development-only attachment would not say it was tested.
    const approved = attach(`${testingRepository}@${digest}`, 'application/vnd.cncf.notary.signature', 'tested by QA');
    attach(`${repository}@${digest}`, 'application/vnd.example.dev-only', 'development note');

    const promote: TransferRequested = { ...request, requestId: `req-${uniqueSuffix()}`, sourceEnvironment: 'Testing', targetEnvironment: 'Staging' };
    const toStaging = await transferImage(promote, { ...storeDeps, bucketOf: (environment) => imageBucketOf(environment, buckets) }, quietLogger);
    if (toStaging.kind !== 'copied') throw new Error(toStaging.event.message);
    const inStaging = await pushIntoTargetRegistry(toStaging.event, promote, await recordedRowOf(toStaging.event), transferDeps(`${testing.address}/orbit-testing`, carried, undefined, `${staging.address}/orbit-staging`), quietLogger);
    if (inStaging.kind !== 'copied') throw new Error(inStaging.event.message);
    const stagingRepository = (inStaging.event.imageReference ?? '').split('@')[0]!;
    expect(stagingRepository.startsWith(`${staging.address}/orbit-staging/`)).toBe(true);
    expect(await listedAt(stagingRepository, digest)).toEqual([approved]);
    expect(carried).toEqual([0, 1]);
  } finally {
    await Promise.all([testing.stop(), staging.stop()]);
  }
}, 180_000);

it('carries the referrers of a multi-platform image: the index\'s signature and each platform\'s SBOM (cosign sign --recursive, an SBOM per platform)', async () => {
  const arm = buildImage({ name: 'team/app', tag: 'v1', architecture: 'arm64', layers: [{ files: { 'app/run': '#!/bin/sh\necho arm\n' } }] });
  const multi = buildMultiPlatformImage([{ image, architecture: 'amd64' }, { image: arm, architecture: 'arm64' }], 'v1');
  const testing = await startRegistry({ server: 'referrers-api' });
  try {
    const name = `multi-${uniqueSuffix()}`;
    const { repository, digest, copied, request } = await uploadedAndCopied(name, await stagedMultiPlatform(multi.ociArchive, name));
    expect(digest).toBe(multi.indexDigest);
    const [amd64, arm64] = multi.manifestDigests as [string, string];
    const indexSignature = attach(`${repository}@${digest}`, 'application/vnd.cncf.notary.signature', 'signed index');
    const armSbom = attach(`${repository}@${arm64}`, 'application/spdx+json', '{"name":"arm"}');
    const amdSbom = attach(`${repository}@${amd64}`, 'application/spdx+json', '{"name":"amd"}');
    const carried: number[] = [];
    const outcome = await pushIntoTargetRegistry(copied, request, await recordedRowOf(copied), transferDeps(`${testing.address}/orbit-testing`, carried), quietLogger);
    if (outcome.kind !== 'copied') throw new Error(outcome.event.message);
    const target = (outcome.event.imageReference ?? '').split('@')[0]!;
    expect(await listedAt(target, digest)).toEqual([indexSignature]);
    expect(await listedAt(target, arm64)).toEqual([armSbom]);
    expect(await listedAt(target, amd64)).toEqual([amdSbom]);
    expect(carried).toEqual([3]);
  } finally {
    await testing.stop();
    arm.cleanup();
    multi.cleanup();
  }
}, 180_000);
