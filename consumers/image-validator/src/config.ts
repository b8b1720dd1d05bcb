import type { S3Client } from '@aws-sdk/client-s3';
import { bucketEnv, createS3, env, environmentRegistryEnv, imageRegistryEnv, registryAccessEnv, registryAllowlistEnv, type AwsSettings } from '@orbit/lib';
import { REGISTRY_PATIENCE_SECONDS } from './pull-into-staging.js';
import { DEFAULT_PULL_DEADLINE } from './registry-pull/pull-deadline.js';

/** The validator's variables on top of the runtime ones. */
export const validatorEnv = {
  ...bucketEnv,
  /** Largest archive accepted (as uploaded). @default 10 GiB, the gateway's limit */
  ORBIT_MAX_UPLOAD_BYTES: env.int(10 * 1024 ** 3, 1),
  /** Largest total of decompressed bytes (the tar itself plus the output of every gzip or zstd layer): the decompression-bomb guard. @default 40 GiB */
  ORBIT_MAX_DECOMPRESSED_BYTES: env.int(40 * 1024 ** 3, 1),
  /** Most tar entries in one archive. @default 100000 */
  ORBIT_MAX_ARCHIVE_ENTRIES: env.int(100_000, 1),
  /** Registries references may name (host, host:port, *.domain; comma-separated); empty: any. Refused ones end REGISTRY_NOT_ALLOWED. */
  ORBIT_ALLOWED_REGISTRIES: registryAllowlistEnv,
  /**
   * Hosts a registry on the internet may send a pull to although they resolve to private addresses (host, host:port,
   * *.domain; comma-separated): storage or a token service reached through a private endpoint of your network (an S3
   * interface endpoint with private DNS under ECR, Azure Private Link under ACR). Without it such a redirect is refused
   * REGISTRY_NOT_ALLOWED. Unlike ORBIT_ALLOWED_REGISTRIES it restricts nothing; name exact hosts (a wildcard lets any
   * registry have the validator ask anything behind the endpoint). @default none
   */
  ORBIT_PULL_PRIVATE_HOSTS: registryAllowlistEnv,
  ...registryAccessEnv,
  // Orbit's own registries, which a registry's redirect must not lead the validator into.
  ...imageRegistryEnv,
  ...environmentRegistryEnv,
  /**
   * Whether a reference to a multi-platform image pulls every platform (the environments' registries then serve them
   * all) or, as docker pull does, the cluster's alone (linux/amd64): `except-docker-hub` pulls one from Docker Hub,
   * which counts a pull per platform (10 an hour for anonymous callers). @default except-docker-hub
   */
  ORBIT_PULL_WHOLE_INDEX: env.enumOf(['always', 'except-docker-hub', 'never'], 'except-docker-hub'),
  /**
   * Uploads validated at once beyond the one each partition is on: a message whose handler runs past a second goes
   * on detached, its partition paused, and the next partition's messages are taken; past this many, every other
   * partition of orbit.upload.requested waits until one ends. A pull from a slow registry holds one for up to its
   * deadline (ORBIT_PULL_MIN_DEADLINE_SECONDS), so keep this well above the gateway's ORBIT_MAX_PENDING_REFERENCE_UPLOADS
   * (with 4, two owners' slow references stalled everyone's uploads) and above its
   * ORBIT_MAX_PENDING_REFERENCE_UPLOADS_PER_REGISTRY (one slow registry then leaves the other uploads room). Each streams: about 64 MiB at most (the 16 MiB
   * parts of its staging upload, two sending and one filling, and the JSON an archive keeps, 16 MiB), so 12 need up to
   * about 768 MiB besides the process's own. @default 12
   */
  ORBIT_MAX_DETACHED_HANDLERS: env.int(12, 1, 64),
  /** How long a registry that does not answer (or answers 5xx/429) is retried before the upload is refused. @default 30 */
  ORBIT_REGISTRY_PATIENCE_SECONDS: env.int(REGISTRY_PATIENCE_SECONDS, 1),
  /**
   * The least time a pull by reference is given in all (manifests, blobs, referrers), however small the image: past it
   * the pull is stopped and the upload refused REGISTRY_ERROR. At most a day: its partition's other uploads may wait
   * behind it. @default 600
   */
  ORBIT_PULL_MIN_DEADLINE_SECONDS: env.int(DEFAULT_PULL_DEADLINE.minSeconds, 1, 86_400),
  /**
   * The slowest a pull's declared bytes may arrive on average: an image gets its size at this rate when that is longer
   * than ORBIT_PULL_MIN_DEADLINE_SECONDS (10 GiB: about 2 h 50 min). @default 1048576 (1 MiB/s)
   */
  ORBIT_PULL_MIN_BYTES_PER_SECOND: env.int(DEFAULT_PULL_DEADLINE.minBytesPerSecond, 1),
  /**
   * Seconds a validator call to S3 may go without a byte either way (each of two attempts; a body that stops half way
   * too) before it fails and the upload is tried again: lib's ten minutes are for server-side copies of large images,
   * and the validator makes none (it reads staged archives and writes pulls to staging in parts). A part flowing
   * steadily on a slow link is not cut. With ten minutes an S3 that hung held an upload 10 to 20 minutes, long after
   * it came back. @default 60
   */
  ORBIT_S3_SILENCE_TIMEOUT_SECONDS: env.int(60, 5, 600),
};

/** The validator's S3 client: lib's, waiting ORBIT_S3_SILENCE_TIMEOUT_SECONDS on a silent S3 instead of ten minutes. */
export function validatorS3(config: AwsSettings & { readonly ORBIT_S3_SILENCE_TIMEOUT_SECONDS: number }): S3Client {
  return createS3(config, config.ORBIT_S3_SILENCE_TIMEOUT_SECONDS * 1000);
}
