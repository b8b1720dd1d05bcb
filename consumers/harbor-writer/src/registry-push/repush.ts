import type { S3Client } from '@aws-sdk/client-s3';
import { QueryCommand, ScanCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { Logger } from '@orbit/lib';
import type { ImageSummary } from '@orbit/schemas';
import pLimit from 'p-limit';
import { holdsManifest, isPushRefusal, pushImage } from './push-image.js';
import { openStored, pushClientFor, type RegistryPushing } from './push-stored.js';

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

/** Whether the manifest the version's charts pin is in the registry. */
export async function checkVersion(version: StoredVersion, deps: RepushDeps): Promise<VersionCheck> {
  const target = pushClientFor(deps.pushing, version.imageName, version.imageUID, version.imageVersion);
  if (typeof target === 'string') return { kind: 'unpushable', version, why: target };
  const reference = `${target.name}@${version.image.manifestDigest}`;
  return { kind: await holdsManifest(target, version.image.manifestDigest) ? 'pushed' : 'missing', version, reference };
}

/** Pushes a version from its Development copy; the reason when the registry refuses it. */
export async function repushVersion(version: StoredVersion, deps: RepushDeps): Promise<string | undefined> {
  const target = pushClientFor(deps.pushing, version.imageName, version.imageUID, version.imageVersion);
  if (typeof target === 'string') return target;
  try {
    await pushImage(openStored(deps.s3, version.stored), version.image, target, deps.log);
    return undefined;
  } catch (error) {
    if (isPushRefusal(error)) return error.message;
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
