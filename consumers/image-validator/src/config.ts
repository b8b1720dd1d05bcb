import { bucketEnv, env, registryAllowlistEnv } from '@orbit/lib';
import { z } from 'zod';

const credentialsJson = z.string().optional().transform((text, context) => {
  if (text === undefined || text.trim() === '') return new Map<string, { username: string; password: string }>();
  try {
    const parsed = z.record(z.string(), z.object({ username: z.string(), password: z.string() })).parse(JSON.parse(text));
    return new Map(Object.entries(parsed));
  } catch {
    context.addIssue({ code: 'custom', message: 'must be JSON like {"registry.example.com":{"username":"u","password":"p"}}' });
    return z.NEVER;
  }
});

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
  /** Registries (host[:port], comma-separated) pulled over plain HTTP; loopback registries always are. */
  ORBIT_INSECURE_REGISTRIES: z.string().default('').transform((value) => new Set(value.split(',').map((part) => part.trim()).filter(Boolean))),
  /** How long a registry that does not answer (or answers 5xx/429) is retried before the upload is refused. @default 30 */
  ORBIT_REGISTRY_PATIENCE_SECONDS: env.int(30, 1),
  /** Pull credentials per registry as JSON; secret, never logged. */
  ORBIT_REGISTRY_CREDENTIALS: credentialsJson,
};
