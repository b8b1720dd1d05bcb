import type { Readable } from 'node:stream';
import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { QueryCommand, ScanCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { credentialsFor, isInsecureRegistry, PullRefusedError, RegistryClient, type Logger } from '@orbit/lib';
import type { ImageSummary } from '@orbit/schemas';
import pLimit from 'p-limit';
import { pushImage, PushRefusedError, type PushTargetClient } from './push-image.js';
import type { RegistryPushing } from './push-stored.js';
import { pushTargetOf } from './target.js';

/** A stored version as the harbor-writer recorded it in the image metadata table. */
export interface StoredVersion {
  readonly imageUID: string;
  readonly imageVersion: string;
  readonly imageName: string;
  readonly stored: { readonly bucket: string; readonly key: string; readonly versionId: string | null };
  readonly image: ImageSummary;
}

export type VersionCheck =
  | { readonly kind: 'pushed'; readonly version: StoredVersion; readonly reference: string }
  | { readonly kind: 'missing'; readonly version: StoredVersion; readonly reference: string }
  | { readonly kind: 'unpushable'; readonly version: StoredVersion; readonly why: string };

function versionOf(row: Record<string, unknown>): StoredVersion | undefined {
  const image = row['image'] as ImageSummary | undefined;
  const text = (name: string): string | undefined => (typeof row[name] === 'string' && row[name] !== '' ? row[name] : undefined);
  const [imageUID, imageVersion, imageName, bucket, key] = ['imageUID', 'imageVersion', 'imageName', 'bucket', 'key'].map(text);
  if (!imageUID || !imageVersion || !imageName || !bucket || !key || typeof image?.manifestDigest !== 'string') return undefined;
  return { imageUID, imageVersion, imageName, stored: { bucket, key, versionId: text('versionId') ?? null }, image };
}

/** Every version stored in Development (or one image's), from the image metadata table. */
export async function storedVersions(dynamo: DynamoDBDocumentClient, table: string, imageUID?: string): Promise<StoredVersion[]> {
  const versions: StoredVersion[] = [];
  let start: Record<string, unknown> | undefined;
  do {
    const page = imageUID === undefined
      ? await dynamo.send(new ScanCommand({ TableName: table, ExclusiveStartKey: start, ConsistentRead: true }))
      : await dynamo.send(new QueryCommand({ TableName: table, KeyConditionExpression: 'imageUID = :uid', ExpressionAttributeValues: { ':uid': imageUID }, ExclusiveStartKey: start, ConsistentRead: true }));
    for (const row of page.Items ?? []) {
      const version = versionOf(row);
      if (version) versions.push(version);
    }
    start = page.LastEvaluatedKey;
  } while (start !== undefined);
  return versions;
}

export interface RepushDeps {
  readonly s3: S3Client;
  readonly pushing: RegistryPushing;
  readonly log: Logger;
}

function targetOf(version: StoredVersion, pushing: RegistryPushing): PushTargetClient | string {
  const target = pushTargetOf(pushing.prefix, version.imageName, version.imageUID, version.imageVersion);
  if (!target) return `ORBIT_IMAGE_REGISTRY "${pushing.prefix}" names no registry repository`;
  const registry = target.name.slice(0, target.name.indexOf('/'));
  const client = new RegistryClient({
    registry: target.registry, repository: target.repository, actions: ['pull', 'push'],
    insecure: isInsecureRegistry(registry, pushing.access), credentials: credentialsFor(registry, pushing.access.credentials),
  });
  return { client, registry: target.registry, name: target.name, tag: target.tag };
}

/** Whether the manifest the version's charts pin is in the registry. */
export async function checkVersion(version: StoredVersion, deps: RepushDeps): Promise<VersionCheck> {
  const target = targetOf(version, deps.pushing);
  if (typeof target === 'string') return { kind: 'unpushable', version, why: target };
  const reference = `${target.name}@${version.image.manifestDigest}`;
  const response = await target.client.request(`/manifests/${version.image.manifestDigest}`, { method: 'HEAD', headers: { accept: 'application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json' } });
  await response.body?.cancel();
  if (response.status === 200) return { kind: 'pushed', version, reference };
  if (response.status === 404) return { kind: 'missing', version, reference };
  return { kind: 'unpushable', version, why: `${target.registry} answered ${response.status} for ${reference}` };
}

/** Pushes a version from its Development copy; the reason when the registry refuses it. */
export async function repushVersion(version: StoredVersion, deps: RepushDeps): Promise<string | undefined> {
  const target = targetOf(version, deps.pushing);
  if (typeof target === 'string') return target;
  const open = async (): Promise<Readable> => (await deps.s3.send(new GetObjectCommand({
    Bucket: version.stored.bucket, Key: version.stored.key, ...(version.stored.versionId ? { VersionId: version.stored.versionId } : {}),
  }))).Body as Readable;
  try {
    await pushImage(open, version.image, target, deps.log);
    return undefined;
  } catch (error) {
    if (error instanceof PushRefusedError || error instanceof PullRefusedError) return error.message;
    throw error;
  }
}

/** Versions checked this many at a time: a HEAD each. */
const CHECKS_IN_FLIGHT = 8;

export async function checkVersions(versions: readonly StoredVersion[], deps: RepushDeps): Promise<VersionCheck[]> {
  const limit = pLimit(CHECKS_IN_FLIGHT);
  return Promise.all(versions.map((version) => limit(() => checkVersion(version, deps).catch((error: unknown): VersionCheck => ({
    kind: 'unpushable', version, why: error instanceof Error ? error.message : String(error),
  })))));
}
