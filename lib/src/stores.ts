import { createHash } from 'node:crypto';
import { env } from './config.js';

/**
 * Buckets of the Image Harbor (C16) and the chart bucket (C24). S3 names are
 * global on AWS, so each is configurable; defaults are the design's names.
 */
export const bucketEnv = {
  /** Staging: uploads land here and expire after a day. */
  ORBIT_BUCKET_STAGING: env.string('temporary-app-image-1203-bkt-k8d-aws'),
  /** Development images. */
  ORBIT_BUCKET_DEVELOPMENT: env.string('app-image-1206-bkt-k8d-aws'),
  /** Testing images. */
  ORBIT_BUCKET_TESTING: env.string('app-image-1209-bkt-k8t-aws'),
  /** Staging-environment images (not the upload staging bucket above). */
  ORBIT_BUCKET_STAGING_ENVIRONMENT: env.string('app-image-1212-bkt-k8s-aws'),
  /** Production images. */
  ORBIT_BUCKET_PRODUCTION: env.string('app-image-1215-bkt-k8p-aws'),
  /** Packaged charts (.tgz). */
  ORBIT_BUCKET_CHARTS: env.string('helm-chart-1224-bkt-k8d-aws'),
};

export interface BucketNames {
  readonly staging: string;
  readonly development: string;
  readonly testing: string;
  readonly stagingEnvironment: string;
  readonly production: string;
  readonly charts: string;
}

export function bucketNames(config: { [K in keyof typeof bucketEnv]: string }): BucketNames {
  return {
    staging: config.ORBIT_BUCKET_STAGING,
    development: config.ORBIT_BUCKET_DEVELOPMENT,
    testing: config.ORBIT_BUCKET_TESTING,
    stagingEnvironment: config.ORBIT_BUCKET_STAGING_ENVIRONMENT,
    production: config.ORBIT_BUCKET_PRODUCTION,
    charts: config.ORBIT_BUCKET_CHARTS,
  };
}

export type TableEnvironment = 'development' | 'testing' | 'staging' | 'production';

export interface TableDefinition {
  readonly base: string;
  readonly environment: TableEnvironment;
  readonly partitionKey: string;
  readonly sortKey?: string;
  /** Global secondary indexes: name -> [partition key, sort key]. */
  readonly indexes?: Readonly<Record<string, readonly [string, string]>>;
  /** The attribute DynamoDB's TTL deletes rows by (epoch seconds); absent: rows are kept for ever. */
  readonly ttlAttribute?: typeof TTL_ATTRIBUTE;
}

/**
 * The attribute of a per-request log row (event log, error log) holding when it expires, in epoch seconds: the
 * event-logger writes it (event time plus ORBIT_EVENT_LOG_RETENTION_DAYS) and provisioning turns DynamoDB's TTL on
 * for it. One name for both, so the rows and the TTL cannot drift apart.
 */
export const TTL_ATTRIBUTE = 'expiresAt';

/** Chart Store (C20) tables; the physical name adds the environment suffix. */
export const TABLES = {
  userEventLog: {
    base: 'user-event-log-1621', environment: 'development', partitionKey: 'pid', sortKey: 'eventKey',
    indexes: { byUsername: ['username', 'eventKey'], byImageUID: ['imageUID', 'eventKey'], byCorrelationId: ['correlationId', 'eventKey'] },
    ttlAttribute: TTL_ATTRIBUTE,
  },
  userErrorLog: {
    base: 'user-error-log-1624', environment: 'development', partitionKey: 'pid', sortKey: 'eventKey',
    indexes: { byImageUID: ['imageUID', 'eventKey'], byCorrelationId: ['correlationId', 'eventKey'] },
    ttlAttribute: TTL_ATTRIBUTE,
  },
  appImageMetadata: { base: 'app-image-metadata-1615', environment: 'development', partitionKey: 'imageUID', sortKey: 'imageVersion' },
  userInputManifest: { base: 'user-input-manifest-1606', environment: 'development', partitionKey: 'imageUID', sortKey: 'imageVersion' },
  baseKustomize: { base: 'base-kustomize-1603', environment: 'development', partitionKey: 'helmChartName' },
  kustomizeDevelopment: { base: 'k8or-kustomize-1609', environment: 'development', partitionKey: 'helmChartName' },
  kustomizeTesting: { base: 'k8or-kustomize-1630', environment: 'testing', partitionKey: 'helmChartName' },
  // The design names tables for Development and Testing only; the chain goes on, so do the tables.
  kustomizeStaging: { base: 'k8or-kustomize-1633', environment: 'staging', partitionKey: 'helmChartName' },
  kustomizeProduction: { base: 'k8or-kustomize-1636', environment: 'production', partitionKey: 'helmChartName' },
  // Not in the design: which registry repository holds each blob, for the harbor-writer's cross-repository mounts to outlive a restart.
  registryBlobLocations: { base: 'registry-blob-locations', environment: 'development', partitionKey: 'location' },
} as const satisfies Record<string, TableDefinition>;

export type TableKey = keyof typeof TABLES;

export interface TableSuffixes {
  readonly ORBIT_DEV_TABLE_SUFFIX: string;
  readonly ORBIT_TEST_TABLE_SUFFIX: string;
  readonly ORBIT_STAGING_TABLE_SUFFIX: string;
  readonly ORBIT_PRODUCTION_TABLE_SUFFIX: string;
}

const SUFFIX_OF: Readonly<Record<TableEnvironment, keyof TableSuffixes>> = {
  development: 'ORBIT_DEV_TABLE_SUFFIX', testing: 'ORBIT_TEST_TABLE_SUFFIX', staging: 'ORBIT_STAGING_TABLE_SUFFIX', production: 'ORBIT_PRODUCTION_TABLE_SUFFIX',
};

export function tableName(key: TableKey, suffixes: TableSuffixes): string {
  const table: TableDefinition = TABLES[key];
  return table.base + suffixes[SUFFIX_OF[table.environment]];
}

/** Longest user name segment kept readable in a staging key (MinIO refuses path segments over 255 bytes). */
const READABLE_OWNER_SEGMENT = 128;

/**
 * The `{username}` segment of a staging key (`uploads/{username}/…`):
 * URI-encoded, so any name is a valid key; a name whose encoding is too long
 * for one segment (255 characters of CJK encode to 2 295), or that is `.` or `..`, becomes `=` and its
 * SHA-256 instead, which no encoded name can look like (`=` is always escaped).
 */
export function ownerKeySegment(owner: string): string {
  const encoded = encodeURIComponent(owner);
  // `.` and `..` are left as they are by the encoding, and S3 stores (MinIO) refuse a key with such a segment: a user
  // of that name had every upload answered 500 (found by a review).
  const readable = encoded.length <= READABLE_OWNER_SEGMENT && encoded !== '.' && encoded !== '..';
  return readable ? encoded : `=${createHash('sha256').update(owner).digest('hex')}`;
}

/**
 * Whether `ref` is an object `owner` staged: in the staging bucket, under
 * their own `uploads/{username}/` prefix. Events carry object references, and
 * a consumer that copies and then deletes what one names must not be pointed
 * at another owner's upload or at a stored image. No empty, `.` or `..`
 * segment is let past the prefix, so no tool that normalises paths can read
 * the key as leaving it.
 */
export function isStagedBy(ref: { readonly bucket: string; readonly key: string }, owner: string, stagingBucket: string): boolean {
  if (owner === '' || ref.bucket !== stagingBucket) return false;
  const prefix = `uploads/${ownerKeySegment(owner)}/`;
  if (!ref.key.startsWith(prefix)) return false;
  return ref.key.slice(prefix.length).split('/').every((segment) => segment !== '' && segment !== '.' && segment !== '..');
}

/** Key of a version's chart in the kustomize tables and its prefix in the chart bucket; chart-generator writes it, reconcile reads it. */
export function helmChartNameOf(imageUID: string, imageVersion: string): string {
  return `${imageUID}-${imageVersion}`;
}
