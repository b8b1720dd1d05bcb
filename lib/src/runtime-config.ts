import { z } from 'zod';
import { env } from './config.js';
import { kafkaConnectionEnv } from './kafka/connection.js';
import { mysqlConnectionEnv } from './mysql-connection.js';

/**
 * Variables every Orbit process reads. AWS names follow the SDK conventions so
 * real AWS replaces the local stack with no code change: leave the endpoint
 * variables unset and the SDK finds the regional endpoints and credentials.
 */
export const runtimeEnv = {
  /** Service name in logs and metrics. @default the service's own name */
  ORBIT_SERVICE: env.optionalString(),
  /** pino level. @default info */
  LOG_LEVEL: env.enumOf(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], 'info'),
  /** Comma-separated bootstrap brokers. @default 127.0.0.1:9092 */
  KAFKA_BROKERS: env.list('127.0.0.1:9092'),
  ...kafkaConnectionEnv,
  /** Confluent-compatible registry base URL. @default Apicurio's ccompat API on the local stack */
  SCHEMA_REGISTRY_URL: env.url('http://127.0.0.1:8081/apis/ccompat/v7'),
  /** Replication factor for topics created by provisioning. @default 1 */
  KAFKA_REPLICATION_FACTOR: env.int(1, 1, 7),
  /** @default us-east-1 */
  AWS_REGION: env.string('us-east-1'),
  /** S3 endpoint; unset on real AWS. @default MinIO on the local stack */
  AWS_ENDPOINT_URL_S3: env.url('http://127.0.0.1:9000'),
  /** DynamoDB endpoint; unset on real AWS. @default DynamoDB Local */
  AWS_ENDPOINT_URL_DYNAMODB: env.url('http://127.0.0.1:8000'),
  /** MinIO needs path-style addressing; real S3 does not. @default true */
  S3_FORCE_PATH_STYLE: env.bool(true),
  /** `off` for an S3 that refuses flexible-checksum headers (Backblaze B2, OVH); copies are then checked by size only. @default sha256 */
  S3_CHECKSUMS: env.enumOf(['sha256', 'off'] as const, 'sha256'),
  /** mysql://user:password@host:port/database of ViewPort. @default the local MariaDB */
  MYSQL_URL: env.url('mysql://orbit:orbit@127.0.0.1:3306/viewport'),
  ...mysqlConnectionEnv,
  /** Suffix of Development tables. @default -tbl-k8d-aws */
  ORBIT_DEV_TABLE_SUFFIX: env.string('-tbl-k8d-aws'),
  /** Suffix of Testing tables. @default -tbl-k8t-aws */
  ORBIT_TEST_TABLE_SUFFIX: env.string('-tbl-k8t-aws'),
  /** Suffix of Staging tables. @default -tbl-k8s-aws */
  ORBIT_STAGING_TABLE_SUFFIX: env.string('-tbl-k8s-aws'),
  /** Suffix of Production tables. @default -tbl-k8p-aws */
  ORBIT_PRODUCTION_TABLE_SUFFIX: env.string('-tbl-k8p-aws'),
  /**
   * Address of a consumer's /healthz, /readyz and /metrics. Unlike the gateway's HOST, every interface: a kubelet
   * probe or a Prometheus scrape comes to the pod's address, and these three answer nothing a caller could misuse.
   * @default 0.0.0.0
   */
  HEALTH_HOST: env.host('0.0.0.0'),
  /** Port of a consumer's /healthz, /readyz and /metrics. @default 0 (any free port, logged as healthPort) */
  HEALTH_PORT: env.int(0, 0, 65535),
  /** First delay of the transient-failure backoff. @default 200 */
  ORBIT_RETRY_INITIAL_MS: env.int(200, 0),
  /** Ceiling of the backoff. @default 30000 */
  ORBIT_RETRY_MAX_MS: env.int(30_000, 1),
  /** Backoff growth per attempt. @default 2 */
  ORBIT_RETRY_FACTOR: env.number(2, 1),
  /**
   * How long the group waits for a silent consumer before its partitions move
   * on: a crashed instance holds its partitions this long. The broker allows
   * 6000..1800000 by default. @default 30000
   */
  ORBIT_KAFKA_SESSION_TIMEOUT_MS: env.int(30_000, 6_000, 1_800_000),
  /**
   * A consumer that fetches nothing for this long while no handler runs is
   * replaced by a new one (a kafkajs fetch loop can stop silently). Must
   * exceed a fetch's wait (5 s) with room for a slow broker. @default 60000
   */
  ORBIT_CONSUMER_STALL_MS: env.int(60_000, 15_000),
};

/**
 * Where browsers, and callers outside the gateway's network, reach S3 (`https://s3.example.com`), when that is not
 * AWS_ENDPOINT_URL_S3: an internal name or 127.0.0.1 there is what the gateway reaches, not what a portal's user
 * does. Presigned URLs (uploads, their parts, archive and chart links) name it; the gateway's own calls keep
 * AWS_ENDPOINT_URL_S3. A signature covers the host and the path, so whatever answers there must pass both to S3 as
 * sent (a proxy keeping the Host header; none that strips a path prefix): scheme, host and port only, checked at
 * start. Unset, presigned URLs name AWS_ENDPOINT_URL_S3, as before.
 */
export const s3PublicEndpointEnv = {
  ORBIT_S3_PUBLIC_ENDPOINT: z.string().optional().transform((text, context): string | undefined => {
    if (text === undefined) return undefined;
    const url = URL.canParse(text.trim()) ? new URL(text.trim()) : null;
    if (url === null || !['http:', 'https:'].includes(url.protocol) || url.pathname !== '/' || url.search !== '' || url.hash !== '' || url.username !== '' || url.password !== '') {
      context.addIssue({
        code: 'custom',
        message: 'must be the S3 address callers reach, scheme, host and port only, like https://s3.example.com or http://minio.example.com:9000 '
          + '(a path or query is refused: a presigned URL\'s signature covers the path S3 sees, and credentials go in no URL)',
      });
      return undefined;
    }
    // As S3 will see it: lower-case host, no default port, no trailing slash.
    return url.origin;
  }),
};
