import type { S3Client } from '@aws-sdk/client-s3';
import { QueryCommand, ScanCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { describeError, ENVIRONMENT_NAMES, isPushRefusal, otherOwnerPathsOf, pushedOwnerPathOf, type EnvironmentName, type Logger } from '@orbit/lib';
import { pinnedDigestOf, type ImageSummary } from '@orbit/schemas';
import pLimit from 'p-limit';
import { recordedLocationOf, type ObjectLocation } from '../copy.js';
import { referrersInPlace } from './place-referrers.js';
import { holdsManifest, pushImage } from './push-image.js';
import { openStored, pushClientFor, type RegistryPushing } from './push-stored.js';

/** A stored version as the harbor-writer recorded it in the image metadata table. */
export interface StoredVersion {
  readonly imageUID: string;
  readonly imageVersion: string;
  readonly imageName: string;
  /** Who uploaded it (the metadata row's `username`); undefined only in rows older than that. */
  readonly owner: string | undefined;
  /** The owner path it was pushed under, null: at the registry path's top (pushedOwnerPathOf: what its row records or implies). */
  readonly ownerPath: string | null;
  /** Where else it may have been pushed when its row records no owner path (otherOwnerPathsOf); empty when it records one. */
  readonly otherOwnerPaths: ReadonlyArray<string | null>;
  readonly stored: ObjectLocation;
  readonly image: ImageSummary;
  /** Its copies in the environments it was transferred into (`location<Environment>`). */
  readonly copies: ReadonlyMap<EnvironmentName, ObjectLocation>;
}

/** A version as one registry should hold it: at upload in ORBIT_IMAGE_REGISTRY, after a transfer in its environment's own registry. */
export interface Placement {
  readonly version: StoredVersion;
  readonly environment: EnvironmentName;
  /** The registry path (`<owner>/<chart name>` is appended). */
  readonly prefix: string;
  /** The copy a push reads. */
  readonly source: ObjectLocation;
}

export type VersionCheck =
  | { readonly kind: 'pushed'; readonly placement: Placement; readonly reference: string }
  | { readonly kind: 'missing'; readonly placement: Placement; readonly reference: string }
  | { readonly kind: 'unpushable'; readonly placement: Placement; readonly why: string };

/** A metadata table row as a stored version, or undefined when it is not one (a row without its copy or its image). */
export function storedVersionOf(row: Record<string, unknown>): StoredVersion | undefined {
  const image = row['image'] as ImageSummary | undefined;
  const text = (name: string): string | undefined => (typeof row[name] === 'string' && row[name] !== '' ? row[name] : undefined);
  const [imageUID, imageVersion, imageName, bucket, key] = ['imageUID', 'imageVersion', 'imageName', 'bucket', 'key'].map(text);
  if (!imageUID || !imageVersion || !imageName || !bucket || !key || typeof image?.manifestDigest !== 'string') return undefined;
  const copies = new Map<EnvironmentName, ObjectLocation>();
  for (const environment of ENVIRONMENT_NAMES) {
    const copy = environment === 'Development' ? undefined : recordedLocationOf(row[`location${environment}`]);
    if (copy) copies.set(environment, copy);
  }
  const owner = text('username');
  const recorded = { ownerPath: row['ownerPath'], owner, createdTimestampUTC: row['createdTimestampUTC'] };
  return { imageUID, imageVersion, imageName, owner, ownerPath: pushedOwnerPathOf(recorded), otherOwnerPaths: otherOwnerPathsOf(recorded), stored: { bucket, key, versionId: text('versionId') ?? null }, image, copies };
}

/**
 * Where each version should be: the upload registry, from its Development
 * copy, and the own registry of every environment it was transferred into
 * that has one, from that environment's copy.
 */
export function placementsOf(versions: readonly StoredVersion[], registryOf: (environment: EnvironmentName) => string): Placement[] {
  const upload = registryOf('Development');
  return versions.flatMap((version) => [
    { version, environment: 'Development' as const, prefix: upload, source: version.stored },
    ...[...version.copies].filter(([environment]) => registryOf(environment) !== upload)
      .map(([environment, source]) => ({ version, environment, prefix: registryOf(environment), source })),
  ]);
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
      const version = storedVersionOf(row);
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

const clientFor = (placement: Placement, deps: RepushDeps) =>
  pushClientFor({ ...deps.pushing, prefix: placement.prefix }, placement.version, placement.version.imageVersion);

/**
 * Whether the manifest the version's charts in that environment pin is in its registry, and every referrer pushed with
 * it, listed. A version whose row leaves its owner path to its time is looked for at its other possible paths before it
 * counts as missing: found there, that is where it was pushed and its charts pin it, and no copy goes where nothing pulls.
 */
export async function checkVersion(placement: Placement, deps: RepushDeps): Promise<VersionCheck> {
  const check = await checkAt(placement, deps);
  if (check.kind !== 'missing') return check;
  for (const ownerPath of placement.version.otherOwnerPaths) {
    const elsewhere = await checkAt({ ...placement, version: { ...placement.version, ownerPath, otherOwnerPaths: [] } }, deps);
    if (elsewhere.kind === 'pushed') return elsewhere;
  }
  return check;
}

async function checkAt(placement: Placement, deps: RepushDeps): Promise<VersionCheck> {
  const target = clientFor(placement, deps);
  if (typeof target === 'string') return { kind: 'unpushable', placement, why: target };
  const pinned = pinnedDigestOf(placement.version.image);
  const reference = `${target.name}@${pinned}`;
  const inPlace = await holdsManifest(target, pinned) && await referrersInPlace(target, placement.version.image.referrers ?? []);
  return { kind: inPlace ? 'pushed' : 'missing', placement, reference };
}

/** Pushes a version from its copy in the placement's environment; the reason when the registry refuses it, or any of its referrers. */
export async function repushVersion(placement: Placement, deps: RepushDeps): Promise<string | undefined> {
  const target = clientFor(placement, deps);
  if (typeof target === 'string') return target;
  try {
    const { referrersRefused } = await pushImage(openStored(deps.s3, placement.source), placement.version.image, target, deps.log);
    // Else it would be "missing" again at the next check, and pushed again, without a person hearing why.
    if (referrersRefused > 0) return `the image is pushed, but the registry refused ${referrersRefused} of its referrers (the warnings above say why)`;
    return undefined;
  } catch (error) {
    if (isPushRefusal(error)) return error.message;
    // Anything else (a stored copy that cannot be read, say) stops this version alone: the rest are still pushed, and this one is named.
    const { bucket, key } = placement.source;
    deps.log.error({ err: error, imageUID: placement.version.imageUID, imageVersion: placement.version.imageVersion, bucket, key }, 'a stored version could not be pushed');
    return `could not be pushed from s3://${bucket}/${key}: ${describeError(error)}`;
  }
}

/** Placements checked this many at a time: a HEAD each. */
const CHECKS_IN_FLIGHT = 8;

export async function checkVersions(placements: readonly Placement[], deps: RepushDeps): Promise<VersionCheck[]> {
  const limit = pLimit(CHECKS_IN_FLIGHT);
  return Promise.all(placements.map((placement) => limit(() => checkVersion(placement, deps).catch((error: unknown): VersionCheck => ({
    kind: 'unpushable', placement, why: error instanceof Error ? error.message : String(error),
  })))));
}
