import { bucketEnv, env, environmentRegistryEnv, imageRegistryEnv, registryAccessEnv, registryAllowlistEnv } from '@orbit/lib';

/** The validator's variables on top of the runtime ones. */
export const validatorEnv = {
  ...bucketEnv,
  /** Largest archive accepted (as uploaded). @default 10 GiB, the gateway's limit */
  ORBIT_MAX_UPLOAD_BYTES: env.int(10 * 1024 ** 3, 1),
  /** Largest total of decompressed bytes (outer gunzip plus every gzip layer): the gzip-bomb guard. @default 40 GiB */
  ORBIT_MAX_DECOMPRESSED_BYTES: env.int(40 * 1024 ** 3, 1),
  /** Most tar entries in one archive. @default 100000 */
  ORBIT_MAX_ARCHIVE_ENTRIES: env.int(100_000, 1),
  /** Registries references may name (host, host:port, *.domain; comma-separated); empty: any. Refused ones end REGISTRY_NOT_ALLOWED. */
  ORBIT_ALLOWED_REGISTRIES: registryAllowlistEnv,
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
  /** How long a registry that does not answer (or answers 5xx/429) is retried before the upload is refused. @default 30 */
  ORBIT_REGISTRY_PATIENCE_SECONDS: env.int(30, 1),
};
