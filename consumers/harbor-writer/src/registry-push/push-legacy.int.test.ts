/**
 * images:push on versions stored before owner paths were recorded, against the stack's registry (ORBIT_IMAGE_REGISTRY,
 * 127.0.0.1:5050/orbit): metadata rows exactly as the harbor-writer wrote them from b2df259 until 798339e (the same
 * attributes all that time, no ownerPath), in private tables, each version pushed where the code of its time pushed it
 * and its chart pins it. A review found every row read as pushed under the 8-hex spelling: the pre-2026-12-04 versions
 * reported missing there, and pushed where nothing pulls.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { CreateTableCommand, DeleteTableCommand, waitUntilTableExists } from '@aws-sdk/client-dynamodb';
import { GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bucketNames, chartNameOf, createDynamo, createS3, legacyOwnerPathOf, ownerPathOf, tableName } from '@orbit/lib';
import type { ImageValidated } from '@orbit/schemas';
import { quietLogger, testConfig, uniqueSuffix } from '../../../../test/helpers/index.js';
import { buildImage, type BuiltImage } from '../../../../test/helpers/images.js';
import { storeValidatedImage } from '../store-image.js';
import { stagedValidated } from '../testing/staged-image.js';
import { pushImage } from './push-image.js';
import { openStored, pushClientFor } from './push-stored.js';
import { storedVersions } from './repush.js';

const REGISTRY = process.env['ORBIT_IMAGE_REGISTRY'] ?? '127.0.0.1:5050/orbit';
const registryHost = REGISTRY.slice(0, REGISTRY.indexOf('/'));
const s3 = createS3(testConfig);
const dynamo = createDynamo(testConfig);
const buckets = bucketNames(testConfig);
const access = { insecure: new Set<string>(), credentials: new Map() };
/** Private tables: the CLI is pointed at them with the same suffix. */
const suffix = `-u1fix-${uniqueSuffix()}`;
const privateConfig = { ...testConfig, ORBIT_DEV_TABLE_SUFFIX: suffix };
const metadataTable = tableName('appImageMetadata', privateConfig);
const manifestTable = tableName('userInputManifest', privateConfig);
const blobTable = tableName('registryBlobLocations', privateConfig);
const ADA = 'Ada.Lovelace@example.com';
let image: BuiltImage;
/** Every reference this file put into the shared registry, taken away again after. */
const pushedHere = new Set<string>();

const cli = (args: readonly string[]) => {
  // The sources, run as the CLI: what is checked is this checkout's code, not a dist/ built earlier.
  const run = spawnSync(process.execPath, ['--conditions=@orbit/source', '--import', 'tsx', fileURLToPath(new URL('../push-cli.ts', import.meta.url)), ...args], {
    encoding: 'utf8', env: { ...process.env, ORBIT_IMAGE_REGISTRY: REGISTRY, ORBIT_DEV_TABLE_SUFFIX: suffix, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
  });
  return { status: run.status, out: run.stdout, err: run.stderr };
};

const manifestUrl = (repository: string, digest: string) => `http://${registryHost}/v2/${repository}/manifests/${digest}`;
const ACCEPT = 'application/vnd.docker.distribution.manifest.v2+json, application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json';
const holds = async (reference: string): Promise<boolean> => {
  const [name, digest] = reference.split('@') as [string, string];
  return (await fetch(manifestUrl(name.slice(registryHost.length + 1), digest), { method: 'HEAD', headers: { accept: ACCEPT } })).status === 200;
};

const staged = (imageName: string, owner: string): Promise<ImageValidated> => stagedValidated({ s3, bucket: buckets.staging }, image.dockerArchive, imageName, owner);

/**
 * A version stored at `createdTimestampUTC` by the harbor-writer of its time (frozen: the attributes its UpdateItem set
 * from b2df259 to 798339e^, no ownerPath), and pushed to `<registry>/<ownerPath>/<chart name>` (null: `<registry>/<chart
 * name>`), as that code did; the reference its chart pins.
 */
async function storedBefore(owner: string, createdTimestampUTC: string, ownerPath: string | null): Promise<{ event: ImageValidated; pinned: string }> {
  const event = await staged(`u1fix-${uniqueSuffix()}`, owner);
  const stored = await storeValidatedImage(event, { s3, dynamo, developmentBucket: buckets.development, stagingBucket: buckets.staging, metadataTable, manifestTable }, quietLogger);
  expect(stored.kind).toBe('stored');
  const key = { imageUID: event.imageUID, imageVersion: event.metadata.imageVersion };
  const written = (await dynamo.send(new GetCommand({ TableName: metadataTable, Key: key, ConsistentRead: true }))).Item!;
  await dynamo.send(new PutCommand({
    TableName: metadataTable,
    Item: {
      ...key, imageName: event.metadata.imageName, username: owner, requestId: event.requestId,
      bucket: written['bucket'], key: written['key'], versionId: written['versionId'], sha256: event.sha256, sizeBytes: event.sizeBytes, image: event.image,
      createdTimestampUTC, createdTimestampUnix: Math.floor(Date.parse(createdTimestampUTC) / 1000),
    },
  }));
  const [version] = await storedVersions(dynamo, metadataTable, event.imageUID);
  // Named without the owner path rule under test: no owner is the top, an owner path given is used as it is.
  const named = ownerPath === null ? { owner: undefined } : { owner, ownerPath };
  const client = pushClientFor({ prefix: REGISTRY, access }, { ...named, imageName: event.metadata.imageName, imageUID: event.imageUID }, '1.4.2');
  if (typeof client === 'string' || version === undefined) throw new Error(`cannot push ${event.imageUID}: ${String(client)}`);
  await pushImage(openStored(s3, version.stored), version.image, client, quietLogger);
  const pinned = `${client.name}@${event.image.manifestDigest}`;
  pushedHere.add(pinned);
  for (const ownerPath of [null, legacyOwnerPathOf(owner), ownerPathOf(owner)]) pushedHere.add(elsewhere(event, ownerPath));
  return { event, pinned };
}

/** The same image at another owner path of the same owner and chart. */
const elsewhere = (event: ImageValidated, ownerPath: string | null): string =>
  `${REGISTRY}/${ownerPath === null ? '' : `${ownerPath}/`}${chartNameOf(event.metadata.imageName, event.imageUID)}@${event.image.manifestDigest}`;

beforeAll(async () => {
  const raw = createDynamo(testConfig);
  const keyed = (TableName: string, keys: readonly string[]) => new CreateTableCommand({
    TableName, BillingMode: 'PAY_PER_REQUEST', AttributeDefinitions: keys.map((AttributeName) => ({ AttributeName, AttributeType: 'S' })),
    KeySchema: keys.map((AttributeName, index) => ({ AttributeName, KeyType: index === 0 ? 'HASH' : 'RANGE' })),
  });
  for (const [table, keys] of [[metadataTable, ['imageUID', 'imageVersion']], [manifestTable, ['imageUID', 'imageVersion']], [blobTable, ['location']]] as const) {
    await raw.send(keyed(table, keys));
    await waitUntilTableExists({ client: raw, maxWaitTime: 60 }, { TableName: table });
  }
  image = buildImage({ name: 'team/app', tag: 'v1', layers: [{ files: { 'app/run': '#!/bin/sh\necho legacy\n' } }], exposedPort: '8080/tcp' });
}, 120_000);

afterAll(async () => {
  for (const reference of pushedHere) {
    const [name, digest] = reference.split('@') as [string, string];
    await fetch(manifestUrl(name.slice(registryHost.length + 1), digest), { method: 'DELETE' }).catch(() => undefined);
  }
  for (const table of [metadataTable, manifestTable, blobTable]) await dynamo.send(new DeleteTableCommand({ TableName: table })).catch(() => undefined);
  image?.cleanup();
});

describe('npm run images:push on versions stored before owner paths were recorded', () => {
  it('checks and pushes each where the code of its time pushed it and its chart pins it, never under the owner\'s paths of later', async () => {
    const versions = [
      // 0ff7fcf^ (before 2026-12-04 18:07 UTC): <registry>/<chart name>, though the row names its owner.
      await storedBefore(ADA, '2026-12-03T12:00:00.000Z', null),
      // 0ff7fcf..564b6ff: the first spelling, 8 hex.
      await storedBefore(ADA, '2026-12-05T10:00:00.000Z', legacyOwnerPathOf(ADA)),
      // A user named charts before 564b6ff hashed the name: charts/ as it is.
      await storedBefore('charts', '2026-12-05T10:00:00.000Z', 'charts'),
      // ... and after, until owner paths were recorded.
      await storedBefore('charts', '2026-12-06T07:00:00.000Z', legacyOwnerPathOf('charts')),
    ];
    const uids = versions.flatMap(({ event }) => ['--image', event.imageUID]);
    // A healthy system: nothing to push.
    const healthy = cli(['--dry-run', ...uids]);
    expect(healthy.out, healthy.err).toContain(`checked 4 stored versions against ${REGISTRY}; 0 missing, 0 cannot be checked`);
    expect(healthy.status).toBe(0);

    // The registry lost them: each is missing where its chart pins it, and pushed back there alone.
    for (const { pinned } of versions) {
      const [name, digest] = pinned.split('@') as [string, string];
      expect((await fetch(manifestUrl(name.slice(registryHost.length + 1), digest), { method: 'DELETE' })).status).toBe(202);
    }
    const dry = cli(['--dry-run', ...uids]);
    expect(dry.status).toBe(1);
    expect(dry.out).toContain('4 missing');
    for (const { pinned } of versions) expect(dry.out).toContain(`missing ${pinned} (`);
    const pushed = cli(uids);
    expect(pushed.status, pushed.out + pushed.err).toBe(0);
    for (const { pinned, event } of versions) {
      expect(pushed.out).toContain(`pushed ${pinned}`);
      expect(await holds(pinned)).toBe(true);
      // Nothing went where nothing pulls: the owner's path of today, nor (for the versions at the top) the 8-hex one.
      expect(await holds(elsewhere(event, ownerPathOf(event.actor.username)))).toBe(false);
    }
    expect(await holds(elsewhere(versions[0]!.event, legacyOwnerPathOf(ADA)))).toBe(false);
    expect(await holds(elsewhere(versions[2]!.event, legacyOwnerPathOf('charts')))).toBe(false);
    expect(cli(['--dry-run', ...uids]).out).toContain('0 missing');
  }, 180_000);

  it('finds a version where it is when a deployment ran the older code past the time its row implies, and pushes no copy', async () => {
    // Stored on 2026-12-05 by a harbor-writer still at 0ff7fcf^: at the top, where the 8-hex spelling is expected.
    const late = await storedBefore(ADA, '2026-12-05T10:00:00.000Z', null);
    const dry = cli(['--dry-run', '--image', late.event.imageUID]);
    expect(dry.out, dry.err).toContain('checked 1 stored versions against');
    expect(dry.out).toContain('0 missing');
    expect(dry.status).toBe(0);
    expect(await holds(elsewhere(late.event, legacyOwnerPathOf(ADA)))).toBe(false);
  }, 120_000);
});
