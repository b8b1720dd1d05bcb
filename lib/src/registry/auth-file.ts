import { readFileSync, statSync } from 'node:fs';
import { z } from 'zod';
import { ConfigError } from '../errors.js';
import { headOf } from '../code-point.js';
import { canonicalRegistry } from '../image-reference.js';
import type { Credentials, CredentialSource } from './auth.js';
import { askCredentialHelper, HELPER_PROGRAM_PREFIX, helperProgramOf, isHelperName } from './credential-helper.js';

/** Where a registry's credentials are looked up: a Map is one, and so is an auth file read again when it changes. */
export interface CredentialLookup {
  /** `repository`: the path in the registry (`org/app`), for files keyed by namespace; without it, the host's entry only. */
  get(registry: string, repository?: string): CredentialSource | undefined;
}

/** What a Docker config.json says about credentials, keyed by registry (host[:port], lower case). */
export interface DockerConfigCredentials {
  /** Keyed by `host[:port]`, or `host[:port]/namespace` for an entry meant for part of the registry only. */
  readonly auths: ReadonlyMap<string, Credentials>;
  /** credHelpers: the helper (the suffix of docker-credential-<name>) a registry's credentials come from. */
  readonly helpers: ReadonlyMap<string, string>;
  /** credsStore: the helper of every registry credHelpers does not name. */
  readonly store: string | undefined;
}

const entryShape = z.looseObject({
  auth: z.string().optional(),
  username: z.string().optional(),
  password: z.string().optional(),
  identitytoken: z.string().optional(),
});
const configShape = z.looseObject({
  auths: z.record(z.string(), entryShape).optional(),
  credHelpers: z.record(z.string(), z.string()).optional(),
  credsStore: z.string().optional(),
});

const SCHEME = /^[a-z]+:\/\//i;

/**
 * The registry (host[:port]) a key names. Docker writes Docker Hub as
 * `https://index.docker.io/v1/`, other tools a bare `host[:port]` or a URL:
 * a URL's path is an API version, never a namespace.
 */
function registryOfKey(key: string): string {
  // In its one spelling, as references are looked up: a key for [0:0::1]:5050 is [::1]:5050's.
  return canonicalRegistry(key.replace(SCHEME, '').split('/')[0] ?? key);
}

/**
 * What a key of `auths` covers: a URL its registry, as above; a bare
 * `quay.io/org-a` only that namespace, as podman (containers-auth.json(5))
 * and the kubelet read it, so two robots of one registry stay apart.
 */
function scopeOfKey(key: string): string {
  if (SCHEME.test(key)) return registryOfKey(key);
  const slash = key.indexOf('/') === -1 ? key.length : key.indexOf('/');
  return `${registryOfKey(key)}${key.slice(slash).toLowerCase()}`.replace(/\/+$/, '');
}

/**
 * The keys that may hold a repository's credentials, most specific first:
 * `quay.io/org-a/app`, `quay.io/org-a`, `quay.io`. Whole path segments only,
 * so `quay.io/org-a` never covers `quay.io/org-ab`.
 */
function scopesOf(registry: string, repository: string | undefined): string[] {
  const segments = (repository ?? '').toLowerCase().split('/').filter((segment) => segment !== '');
  return segments.map((_, at) => `${registry}/${segments.slice(0, segments.length - at).join('/')}`).concat(registry);
}

/**
 * The credentials a Docker config.json holds (what `docker login`, `podman
 * login --authfile` and `aws ecr get-login-password | docker login` write,
 * and a Kubernetes `kubernetes.io/dockerconfigjson` Secret carries): each
 * entry's `auth` (base64 `user:password`) or its `username` and `password`,
 * or its `identitytoken` (an OAuth2 refresh token). Its `credHelpers`
 * and `credsStore` name the credential helpers Docker would ask instead
 * (`docker-credential-ecr-login`, `-gcr`, `-pass`, …); Orbit asks them too.
 */
export function parseDockerConfig(text: string): DockerConfigCredentials {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new ConfigError([`is no JSON: ${(error as Error).message}`]);
  }
  const checked = configShape.safeParse(parsed);
  if (!checked.success) throw new ConfigError(checked.error.issues.map((issue) => `${issue.path.join('.') || 'the file'}: ${issue.message}`));
  const config = checked.data;
  const found = new Map<string, Credentials>();
  for (const [key, entry] of Object.entries(config.auths ?? {})) {
    let credentials: Credentials | undefined;
    if (entry.auth !== undefined && entry.auth !== '') {
      const decoded = Buffer.from(entry.auth, 'base64').toString('utf8');
      const colon = decoded.indexOf(':');
      if (colon <= 0) throw new ConfigError([`the auth of ${key} is not base64 of user:password`]);
      credentials = { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
    } else if (entry.username !== undefined && entry.password !== undefined) {
      credentials = { username: entry.username, password: entry.password };
    }
    // As Docker: an identity token (what `az acr login` writes) is used in place of the password, at the token service.
    if (entry.identitytoken !== undefined && entry.identitytoken !== '') {
      credentials = { username: credentials?.username ?? '', password: '', identityToken: entry.identitytoken };
    }
    // Docker's `registrytoken` (a bearer token sent to the registry as it is) is not taken: an entry holding only that
    // gives no credentials, and the registry is asked anonymously (or a less specific key's credentials are used).
    if (credentials !== undefined) found.set(scopeOfKey(key), credentials);
  }
  const helpers = new Map<string, string>();
  const badHelpers: string[] = [];
  for (const [key, helper] of Object.entries(config.credHelpers ?? {})) {
    if (isHelperName(helper)) helpers.set(registryOfKey(key), helper);
    else badHelpers.push(`credHelpers of ${key}: "${headOf(helper, 100)}" is no helper name (the part after ${HELPER_PROGRAM_PREFIX})`);
  }
  const store = config.credsStore === undefined || config.credsStore === '' ? undefined : config.credsStore;
  if (store !== undefined && !isHelperName(store)) badHelpers.push(`credsStore: "${headOf(store, 100)}" is no helper name (the part after ${HELPER_PROGRAM_PREFIX})`);
  if (badHelpers.length > 0) throw new ConfigError(badHelpers);
  return { auths: found, helpers, store };
}

/**
 * Where Docker looks, in its order: the registry's credHelpers entry, else
 * credsStore, else the registry's auths entry; of those, the one for the
 * repository's namespace (most specific first) before the host's. A helper
 * is asked when the registry wants credentials, so a token it refreshes is
 * always its latest.
 */
export function credentialSourceIn(config: DockerConfigCredentials, registry: string, repository?: string): CredentialSource | undefined {
  const host = canonicalRegistry(registry);
  const helper = config.helpers.get(host) ?? config.store;
  if (helper !== undefined) return () => askCredentialHelper(helper, registry);
  for (const scope of scopesOf(host, repository)) {
    const found = config.auths.get(scope);
    if (found !== undefined) return found;
  }
  return undefined;
}

/** Every helper the config names that is not on PATH, each said once: found at the start, not at the first push. */
function missingHelpers(config: DockerConfigCredentials): string[] {
  const named = new Set([...config.helpers.values(), ...(config.store === undefined ? [] : [config.store])]);
  return [...named].filter((helper) => helperProgramOf(helper) === undefined).map((helper) => `credential helper ${HELPER_PROGRAM_PREFIX}${helper} is not on PATH`);
}

function readDockerConfig(path: string): DockerConfigCredentials {
  const config = parseDockerConfig(readFileSync(path, 'utf8'));
  const missing = missingHelpers(config);
  if (missing.length > 0) throw new ConfigError(missing);
  return config;
}

/** One line saying why a file was not taken. */
export const problemOf = (error: unknown): string => (error instanceof ConfigError ? error.problems.join('; ') : (error as Error).message);

/**
 * Credentials from a Docker config.json, read again whenever the file
 * changes (its modification time or size), so a Secret a CronJob refreshes
 * (an ECR password lasts 12 hours) takes effect without a restart. A file
 * that cannot be read or parsed later keeps the last credentials read, and
 * `problem` says why; one that cannot be read at the start is a startup error.
 */
export class AuthFileCredentials implements CredentialLookup {
  private config: DockerConfigCredentials;
  private seen: string;
  /** Why the last re-read failed; undefined once one succeeds. */
  problem: string | undefined;
  /** Told each new problem once: a service logs it, or it would push with stale credentials unheard of until they expire. */
  onProblem: ((problem: string) => void) | undefined;

  constructor(readonly path: string) {
    this.seen = this.stamp();
    this.config = readDockerConfig(path);
  }

  /** Never the credentials, should the configuration be logged. */
  toJSON(): { path: string } {
    return { path: this.path };
  }

  get(registry: string, repository?: string): CredentialSource | undefined {
    this.refresh();
    return credentialSourceIn(this.config, registry, repository);
  }

  private stamp(): string {
    const stat = statSync(this.path);
    return `${stat.mtimeMs} ${stat.size} ${stat.ino}`;
  }

  private refresh(): void {
    try {
      const stamp = this.stamp();
      if (stamp === this.seen) return;
      this.config = readDockerConfig(this.path);
      this.seen = stamp;
      this.problem = undefined;
    } catch (error) {
      const problem = `${this.path}: ${problemOf(error)}`;
      if (problem !== this.problem) this.onProblem?.(problem);
      this.problem = problem;
    }
  }
}

/**
 * Credentials from the auth file first (it is the one that refreshes), else
 * from the fixed map; also when the file's credential helper turns out to
 * have none for the registry (a credsStore covers every registry).
 */
export function combinedCredentials(fixed: ReadonlyMap<string, Credentials>, file: CredentialLookup | undefined): CredentialLookup {
  if (file === undefined) return fixed;
  return {
    get: (registry, repository) => {
      const fromFile = file.get(registry, repository);
      const fallback = fixed.get(registry);
      if (typeof fromFile !== 'function' || fallback === undefined) return fromFile ?? fallback;
      return async () => (await fromFile()) ?? fallback;
    },
  };
}
