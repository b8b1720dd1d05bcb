import { z } from 'zod';
import {
  bucketEnv, ConfigError, corsOriginsEnv, env, environmentEnv, environmentRegistryEnv, imageRegistryEnv, kafkaConnection, mysqlTarget, readCheckedConfig, readConfig, registryAllowlistEnv, runtimeEnv,
  s3PublicEndpointEnv,
  type ConfigOf, type KafkaConnection, type MysqlTarget,
} from '@orbit/lib';
import { DEFAULT_ROLES_CLAIMS, DEFAULT_USERNAME_CLAIMS } from './auth.js';
import { S3_MAX_PART_BYTES, S3_MIN_PART_BYTES } from './part-plan.js';
import { DEFAULT_STREAMED_UPLOAD_LIMITS } from './streamed-uploads.js';

// The gateway answers /healthz, /readyz and /metrics on PORT and HOST, beside its API: it reads no HEALTH_* variable.
const { HEALTH_HOST: _healthHost, HEALTH_PORT: _healthPort, ...gatewayRuntimeEnv } = runtimeEnv;

/** The gateway's variables on top of the runtime ones. */
/** The HS256 key the local stack signs with: published in this repository, so good only where nobody else can reach the gateway. */
export const LOCAL_JWT_SECRET = 'orbit-local-development-secret-change-me';
/** Shortest HS256 key taken where others can reach the gateway: RFC 7518 §3.2 wants one at least as long as the hash (32 bytes). */
const MIN_SECRET_BYTES = 32;

export const gatewayEnv = {
  ...gatewayRuntimeEnv,
  ...bucketEnv,
  // ORBIT_S3_PUBLIC_ENDPOINT: where the presigned URLs it hands out send callers (main.ts's createPresigningS3).
  ...s3PublicEndpointEnv,
  ...environmentEnv,
  // Orbit's own registries: an upload by reference may not name them (another owner's images are there).
  ...imageRegistryEnv,
  ...environmentRegistryEnv,
  /** HTTP port of the API and of its /healthz, /readyz and /metrics. @default 8080 */
  PORT: env.int(8080, 0, 65535),
  /** Address to listen on: an IP address or a host name, checked at start rather than found unresolvable when listening. @default 127.0.0.1 */
  HOST: env.host('127.0.0.1'),
  /** Base of the statusUrl in answers, e.g. https://orbit.example.com. @default http://127.0.0.1:8080 */
  PUBLIC_BASE_URL: env.url('http://127.0.0.1:8080'),
  /** Largest accepted image archive. @default 10 GiB */
  ORBIT_MAX_UPLOAD_BYTES: env.int(10 * 1024 ** 3, 1),
  /** Part size of a presigned upload whose size the client declares (S3 takes 5 MiB to 5 GiB, and at most 10 000 parts). @default 64 MiB */
  ORBIT_PRESIGN_PART_BYTES: env.int(64 * 1024 ** 2, S3_MIN_PART_BYTES, S3_MAX_PART_BYTES),
  /** Registries an upload by reference may name (host, host:port, *.domain; comma-separated); others are answered 403. @default '' (any) */
  ORBIT_ALLOWED_REGISTRIES: registryAllowlistEnv,
  /**
   * Uploads by reference one owner may have accepted and not finished (succeeded or failed) at once; one more is
   * answered 429 ORBIT_ERR_REFERENCE_UPLOADS_PENDING with Retry-After, nothing accepted. A pull from a slow registry
   * holds its Kafka partition and one of the image-validator's ORBIT_MAX_DETACHED_HANDLERS, so keep it well below that:
   * one owner's slow references then leave the other owners' uploads room. @default 2
   */
  ORBIT_MAX_PENDING_REFERENCE_UPLOADS: env.int(2, 1, 64),
  /**
   * Uploads by reference from one source registry (every owner's together; its names, `docker.io` and
   * `index.docker.io` say, counted as one) accepted and not finished at once; one more is answered 429
   * ORBIT_ERR_REGISTRY_UPLOADS_PENDING with Retry-After, nothing accepted. The owners' own limit alone let six owners'
   * slow references to one registry take every one of the validator's ORBIT_MAX_DETACHED_HANDLERS (12), and hold
   * other users' uploads 24-47 s: keep it below that, so one slow registry leaves the other uploads room. @default 6
   */
  ORBIT_MAX_PENDING_REFERENCE_UPLOADS_PER_REGISTRY: env.int(6, 1, 64),
  /**
   * Archive uploads (forms at POST /v1/uploads) one owner may have streaming through this gateway at once; one more is
   * answered 429 ORBIT_ERR_STREAMED_UPLOADS_PENDING with Retry-After, nothing read. Each holds up to ~20 MiB of S3 parts
   * while it streams, and the body-pace floor lets a slow client hold it: one caller held 150 and took the gateway from
   * 105 to 880 MiB of RSS. Presigned uploads are not counted. @default 8
   */
  ORBIT_MAX_STREAMED_UPLOADS_PER_OWNER: env.int(DEFAULT_STREAMED_UPLOAD_LIMITS.perOwner, 1, 64),
  /**
   * The same, every owner's together; one more is answered 429 ORBIT_ERR_GATEWAY_UPLOADS_FULL with Retry-After. 32 at
   * ~20 MiB each at worst fit a replica of 1 GiB beside its ~100 MiB at rest: raise it with the replica's memory. @default 32
   */
  ORBIT_MAX_STREAMED_UPLOADS: env.int(DEFAULT_STREAMED_UPLOAD_LIMITS.total, 1, 1024),
  /** Hours an Idempotency-Key names the upload it was first sent with; after that it is free again (Stripe keeps them 24 h). @default 24 */
  ORBIT_IDEMPOTENCY_KEY_TTL_HOURS: env.int(24, 1, 24 * 366),
  /**
   * Seconds a connection may send nothing before it is closed: a stalled upload otherwise holds its socket and an
   * S3 multipart upload for ever. Above the longest long poll (`?wait=` 50 s). @default 120
   */
  ORBIT_IDLE_TIMEOUT_SECONDS: env.int(120, 60, 3600),
  /**
   * Bytes a second a request body must average over each minute after its first, else it is answered 408 and closed:
   * a body trickling a byte every few seconds is never idle, and held its socket and an S3 multipart upload for ever.
   * 0 turns the floor off. @default 1024
   */
  ORBIT_MIN_UPLOAD_BYTES_PER_SECOND: env.int(1024, 0, 1024 ** 2),
  /**
   * Seconds the gateway waits for MySQL to answer a query (or to free a connection) before it drops the connection
   * and answers 503: a hung database otherwise holds every request that reaches it. @default 10
   */
  ORBIT_MYSQL_ANSWER_TIMEOUT_SECONDS: env.int(10, 1, 600),
  /**
   * Seconds the gateway waits on a silent S3 call (each of two attempts) before it answers 503. It makes no
   * server-side copies, whose answers rightly take minutes (the image-validator waits 60 s, the other consumers ten). @default 30
   */
  ORBIT_S3_SILENCE_TIMEOUT_SECONDS: env.int(30, 5, 600),
  /**
   * Seconds a stopping gateway (SIGTERM, SIGINT) lets requests in flight finish; then those not yet answered are
   * answered 503 ORBIT_ERR_SHUTDOWN_CUT with Retry-After, their connections closed (an upload cut so is aborted,
   * nothing of it accepted) and the stop goes on. Below Kubernetes' default
   * terminationGracePeriodSeconds (30), with room for the cut requests' cleanup (3 s) and the disconnects. @default 25
   */
  ORBIT_SHUTDOWN_GRACE_SECONDS: env.int(25, 0, 3600),
  /** Browser origins that may call the API (a portal UI on another host): https://portal.example.com,…, or *. @default '' (none) */
  ORBIT_CORS_ORIGINS: corsOriginsEnv,
  /** HS256 key of tokens (local stack). Ignored when JWT_JWKS_URL is set. @default a local-only key */
  JWT_SECRET: env.string(LOCAL_JWT_SECRET),
  /** JWKS URL for RS256/ES256 tokens from an identity provider (a URL, checked at start). */
  JWT_JWKS_URL: env.optionalUrl('https://idp.example.com/.well-known/jwks.json'),
  /** `iss` taken, comma-separated when several are (Google's accounts.google.com and https://accounts.google.com). @default orbit-local */
  JWT_ISSUER: claimValuesEnv('orbit-local'),
  /** `aud` taken, comma-separated when several are (Entra v1: api://orbit and the app's GUID, by client). @default orbit */
  JWT_AUDIENCE: claimValuesEnv('orbit'),
  /** Seconds a token's `exp` and `nbf` may be off by (clock skew between the identity provider and the gateway). @default 60 */
  JWT_CLOCK_TOLERANCE_SECONDS: env.int(60, 0, 600),
  /**
   * Where tokens carry roles: dotted claim paths, comma-separated; the roles are all the strings found
   * there. `{audience}` stands for each JWT_AUDIENCE (Keycloak keeps client roles under resource_access.<client>).
   * @default roles,realm_access.roles,resource_access.{audience}.roles
   */
  JWT_ROLES_CLAIMS: env.list(DEFAULT_ROLES_CLAIMS.join(','))
    .refine((paths) => paths.every((path) => path.split('.').every((segment) => segment.length > 0)), { message: 'must be dotted claim paths like realm_access.roles' }),
  /**
   * Which claims name the user, comma-separated, the first present winning (whole claim names: `sub`,
   * `email`, `oid`, `upn`, Auth0's `https://orbit.example.com/username`). Owners are kept by this name.
   * @default preferred_username,sub
   */
  JWT_USERNAME_CLAIMS: env.list(DEFAULT_USERNAME_CLAIMS.join(',')),
};

/**
 * Values a token's `iss` or `aud` may have, comma-separated. Each is one StringOrURI (RFC 7519 §2): one with white
 * space in it, or a colon without being a URI, is a typo no token will ever match, refused at start rather than
 * found as every caller's 401.
 */
function claimValuesEnv(fallback: string) {
  return z.string().default(fallback).transform((text, context): readonly string[] => {
    const values = [...new Set(text.split(',').map((part) => part.trim()).filter(Boolean))];
    for (const value of values) {
      if (/\s/u.test(value)) context.addIssue({ code: 'custom', message: `"${value}" holds white space; list values with commas, each one a token's value exactly` });
      else if (value.includes(':') && !URL.canParse(value)) context.addIssue({ code: 'custom', message: `"${value}" holds a colon but is no URI (RFC 7519 StringOrURI), like https://idp.example/realms/orbit or api://orbit` });
    }
    if (values.length === 0) context.addIssue({ code: 'custom', message: 'must list at least one value' });
    return values;
  });
}

const isLoopback = (host: string): boolean => {
  const bare = host.replace(/^\[|\]$/g, '').toLowerCase();
  return bare === 'localhost' || bare === '::1' || /^127(\.\d{1,3}){3}$/.test(bare);
};

/**
 * What the gateway's variables allow that it must not: tokens signed with the
 * key published in this repository (or a short one) accepted by a gateway
 * others reach (HOST, or PUBLIC_BASE_URL, not loopback): anyone could then act
 * as any user with any role. Only where JWT_JWKS_URL is unset, as the key is
 * ignored otherwise; that key set itself is taken over https only, but from
 * this machine.
 */
export function gatewayConfigProblems(config: { readonly HOST: string; readonly PUBLIC_BASE_URL: string; readonly JWT_SECRET: string; readonly JWT_JWKS_URL?: string | undefined }): string[] {
  if (config.JWT_JWKS_URL) {
    // The key set decides whose signature is taken: fetched in the clear from another host, anyone on the path could swap it.
    const jwks = new URL(config.JWT_JWKS_URL);
    return jwks.protocol === 'http:' && !isLoopback(jwks.hostname)
      ? [`JWT_JWKS_URL: is plain http to ${jwks.hostname}: whoever is on the path could hand the gateway a key set of their own and sign any token. Use https`]
      : [];
  }
  // HOST first, and PUBLIC_BASE_URL only when HOST alone does not decide: a malformed PUBLIC_BASE_URL (reported on its
  // own) then does not keep a published key on a reachable HOST from being reported in the same round.
  const reached = isLoopback(config.HOST) ? new URL(config.PUBLIC_BASE_URL).hostname : config.HOST;
  if (isLoopback(reached)) return [];
  const where = `the gateway is reached beyond this machine (${reached})`;
  if (config.JWT_SECRET === LOCAL_JWT_SECRET) return [`JWT_SECRET: is the local stack's key, published in Orbit's repository, and ${where}: anyone could sign a token as any user with any role. Set JWT_JWKS_URL (your identity provider) or a JWT_SECRET of your own of at least ${MIN_SECRET_BYTES} bytes`];
  if (Buffer.byteLength(config.JWT_SECRET, 'utf8') < MIN_SECRET_BYTES) return [`JWT_SECRET: is shorter than ${MIN_SECRET_BYTES} bytes and ${where}: a short HS256 key can be guessed offline from one token. Use a longer one, or JWT_JWKS_URL`];
  return [];
}

/** The gateway's configuration as its start uses it: the variables, and MySQL and Kafka as they are reached. */
export interface GatewayStartConfig {
  readonly config: ConfigOf<typeof gatewayEnv>;
  readonly mysql: MysqlTarget;
  readonly kafka: KafkaConnection;
}

/**
 * Everything the gateway's start checks in its variables, before anything connects or listens: each variable,
 * gatewayConfigProblems, MySQL's target (MYSQL_URL with MYSQL_TLS_*) and Kafka's connection (KAFKA_SASL_*,
 * KAFKA_TLS_*). Every problem of all of them comes in one ConfigError, one line per variable, not one round per fix.
 */
export function readGatewayConfig(from: NodeJS.ProcessEnv = process.env): GatewayStartConfig {
  const { config, checked } = readCheckedConfig(gatewayEnv, {
    exposure: (read) => {
      const unsafe = gatewayConfigProblems(read);
      if (unsafe.length > 0) throw new ConfigError(unsafe);
    },
    mysql: (read) => mysqlTarget(read),
    kafka: (read) => kafkaConnection(read),
  }, from);
  return { config, mysql: checked.mysql, kafka: checked.kafka };
}

/** What a local token is signed with and names (JWT_SECRET, JWT_ISSUER, JWT_AUDIENCE), as the gateway reads them. */
export function localTokenSettings(from: NodeJS.ProcessEnv = process.env): { secret: string; issuer: readonly string[]; audience: readonly string[] } {
  const config = readConfig({ JWT_SECRET: gatewayEnv.JWT_SECRET, JWT_ISSUER: gatewayEnv.JWT_ISSUER, JWT_AUDIENCE: gatewayEnv.JWT_AUDIENCE }, from);
  return { secret: config.JWT_SECRET, issuer: config.JWT_ISSUER, audience: config.JWT_AUDIENCE };
}
