import { HeadObjectCommand } from '@aws-sdk/client-s3';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { bucketNames, createDynamo, createS3, imageBucketOf, tableName, type EnvironmentName } from '@orbit/lib';
import { sampleEvents, type ImageCopied, type PipelineFailed, type TransferRequested } from '@orbit/schemas';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { quietLogger, testConfig, uniqueSuffix } from '../../../test/helpers/index.js';
import { buildImage, type BuiltImage } from '../../../test/helpers/images.js';
import { startRegistry, type TestRegistry } from '../../../test/helpers/registry.js';
import type { RegistryPushing } from './registry-push/push-stored.js';
import { recordedCopies } from './leftover-copies.js';
import { storedKeyOf, storeValidatedImage } from './store-image.js';
import { stagedValidated } from './testing/staged-image.js';
import { handleTransfer } from './transfer-flow.js';

const s3 = createS3(testConfig);
const dynamo = createDynamo(testConfig);
const buckets = bucketNames(testConfig);
const metadataTable = tableName('appImageMetadata', testConfig);
let upload: TestRegistry;
let guarded: TestRegistry;
let image: BuiltImage;

beforeAll(async () => {
  upload = await startRegistry();
  // Testing's own registry: it wants credentials the harbor-writer does not have, so every push is refused (401).
  guarded = await startRegistry({ users: { robot: 'secret' } });
  image = buildImage({ name: 'team/app', tag: 'v1', layers: [{ files: { 'app/run': '#!/bin/sh\necho hi\n' } }] });
}, 120_000);

afterAll(async () => {
  await upload.stop();
  await guarded.stop();
  image.cleanup();
});

const pushing = (): RegistryPushing => ({ prefix: `${upload.address}/orbit`, access: { insecure: new Set<string>(), credentials: new Map() } });

/** A version stored (and pushed to the upload registry) in Development, as the harbor-writer stores it, and a request to transfer it to Testing. */
async function storedVersion(prefix = 'fix43prepush'): Promise<TransferRequested> {
  const event = await stagedValidated({ s3, bucket: buckets.staging }, image.dockerArchive, `${prefix}-${uniqueSuffix()}`, 'dev1');
  const stored = await storeValidatedImage(event, {
    s3, dynamo, developmentBucket: buckets.development, stagingBucket: buckets.staging, metadataTable, manifestTable: tableName('userInputManifest', testConfig), pushing: pushing(),
  }, quietLogger);
  expect(stored.kind).toBe('stored');
  return { ...sampleEvents(event.imageUID, `fix43prepush-${uniqueSuffix()}`)['orbit.transfer.requested'], requestId: `fix43prepush-req-${uniqueSuffix()}`, imageVersion: event.metadata.imageVersion };
}

/** handleTransfer's dependencies into Testing, whose charts pull from `testingRegistry`; what it publishes is kept. */
function flowDeps(testingRegistry: string, withPushing: boolean) {
  const published: { copied: ImageCopied[]; failed: PipelineFailed[] } = { copied: [], failed: [] };
  const deps = {
    s3, dynamo, metadataTable, bucketOf: (environment: EnvironmentName) => imageBucketOf(environment, buckets),
    registryOf: (environment: EnvironmentName) => (environment === 'Testing' ? testingRegistry : `${upload.address}/orbit`),
    ...(withPushing ? { pushing: pushing() } : {}),
    publish: {
      copied: async (event: ImageCopied) => { published.copied.push(event); },
      failed: async (event: PipelineFailed) => { published.failed.push(event); },
    },
  };
  return { deps, published };
}

const locationTestingOf = async (request: TransferRequested): Promise<unknown> =>
  (await dynamo.send(new GetCommand({ TableName: metadataTable, Key: { imageUID: request.imageUID, imageVersion: request.imageVersion }, ConsistentRead: true }))).Item?.['locationTesting'];

describe('a transfer, start to end (handleTransfer)', () => {
  it('records the copy before a push the target registry refuses: the transfer fails REGISTRY_PUSH_REFUSED, and transfers:reconcile can find the copy by location<Environment>', async () => {
    const request = await storedVersion();
    const { deps, published } = flowDeps(`${guarded.address}/orbit-testing`, true);
    const outcome = await handleTransfer(request, deps, quietLogger);
    expect(outcome).toMatchObject({ kind: 'failed', event: { reasonCode: 'REGISTRY_PUSH_REFUSED', flow: 'transfer', requestId: request.requestId } });
    expect(published.failed).toMatchObject([{ reasonCode: 'REGISTRY_PUSH_REFUSED', requestId: request.requestId }]);
    expect(published.copied).toEqual([]);
    // The copy is in Testing's bucket, and the metadata row names exactly it: what leftover-copies.ts reads.
    const key = storedKeyOf(request.imageUID, request.imageVersion);
    const copy = await s3.send(new HeadObjectCommand({ Bucket: buckets.testing, Key: key }));
    expect(copy.Metadata?.['orbit-transfer-request-id']).toBe(request.requestId);
    const location = { bucket: buckets.testing, key, versionId: copy.VersionId ?? null };
    expect(await locationTestingOf(request)).toEqual(location);
    expect(await recordedCopies(dynamo, metadataTable, request)).toEqual([
      { imageUID: request.imageUID, imageVersion: request.imageVersion, environment: 'Testing', location, shared: false },
    ]);
  }, 90_000);

  // Found by a review: the push Queried the image's whole partition for the row the record had just written.
  it('pushes from the row recording the copy returned: its metadata row is written once and read once (the source check), never queried', async () => {
    const request = await storedVersion('s44hw');
    const { deps, published } = flowDeps(`${upload.address}/orbit-testing`, true);
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
    const outcome = await handleTransfer(request, { ...deps, dynamo: counting }, quietLogger);
    expect(outcome).toMatchObject({ kind: 'copied', event: { imageReference: expect.stringContaining(`${upload.address}/orbit-testing/`) } });
    expect(published.copied).toHaveLength(1);
    expect(sent.filter(({ input }) => input['TableName'] === metadataTable).map(({ name }) => name)).toEqual(['GetCommand', 'UpdateCommand']);
  }, 90_000);

  it('records the copy and publishes ImageCopied when the target pulls from the upload registry (nothing pushed)', async () => {
    const request = await storedVersion();
    const { deps, published } = flowDeps(`${upload.address}/orbit`, true);
    const outcome = await handleTransfer(request, deps, quietLogger);
    expect(outcome.kind).toBe('copied');
    expect(published).toMatchObject({ copied: [{ requestId: request.requestId, targetEnvironment: 'Testing' }], failed: [] });
    if (outcome.kind === 'copied') expect(await locationTestingOf(request)).toEqual(outcome.event.target);
  }, 90_000);

  it('without registry pushes records the copy and publishes ImageCopied, as before', async () => {
    const request = await storedVersion();
    const { deps, published } = flowDeps(`${upload.address}/orbit`, false);
    const outcome = await handleTransfer(request, deps, quietLogger);
    expect(outcome.kind).toBe('copied');
    expect(published).toMatchObject({ copied: [{ requestId: request.requestId, targetEnvironment: 'Testing' }], failed: [] });
    if (outcome.kind === 'copied') expect(await locationTestingOf(request)).toEqual(outcome.event.target);
  }, 90_000);
});
