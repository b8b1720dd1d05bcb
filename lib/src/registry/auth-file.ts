import { readFileSync, statSync } from 'node:fs';
import { z } from 'zod';
import { ConfigError } from '../errors.js';
import type { Credentials } from './auth.js';

/** Where a registry's credentials are looked up: a Map is one, and so is an auth file read again when it changes. */
export interface CredentialLookup {
  get(registry: string): Credentials | undefined;
}

const entryShape = z.looseObject({
  auth: z.string().optional(),
  username: z.string().optional(),
  password: z.string().optional(),
});
const configShape = z.looseObject({ auths: z.record(z.string(), entryShape).optional() });

/**
 * The registry a key of `auths` names: Docker writes Docker Hub as
 * `https://index.docker.io/v1/`, and other tools a bare `host[:port]` or a
 * URL; a path after the host (`quay.io/team`) narrows nothing here.
 */
function registryOfKey(key: string): string {
  return (key.replace(/^[a-z]+:\/\//i, '').split('/')[0] ?? key).toLowerCase();
}

/**
 * The credentials a Docker config.json holds (what `docker login`, `podman
 * login --authfile` and `aws ecr get-login-password | docker login` write,
 * and a Kubernetes `kubernetes.io/dockerconfigjson` Secret carries): each
 * entry's `auth` (base64 `user:password`) or its `username` and `password`.
 * Entries with neither (an `identitytoken`, a credential helper's name) are
 * skipped: Orbit runs no credential helpers.
 */
export function parseDockerConfig(text: string): Map<string, Credentials> {
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
    if (credentials !== undefined) found.set(registryOfKey(key), credentials);
  }
  return found;
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
  private credentials: Map<string, Credentials>;
  private seen: string;
  /** Why the last re-read failed; undefined once one succeeds. */
  problem: string | undefined;
  /** Told each new problem once: a service logs it, or it would push with stale credentials unheard of until they expire. */
  onProblem: ((problem: string) => void) | undefined;

  constructor(readonly path: string) {
    this.seen = this.stamp();
    this.credentials = parseDockerConfig(readFileSync(path, 'utf8'));
  }

  /** Never the credentials, should the configuration be logged. */
  toJSON(): { path: string } {
    return { path: this.path };
  }

  get(registry: string): Credentials | undefined {
    this.refresh();
    return this.credentials.get(registry.toLowerCase());
  }

  private stamp(): string {
    const stat = statSync(this.path);
    return `${stat.mtimeMs} ${stat.size} ${stat.ino}`;
  }

  private refresh(): void {
    try {
      const stamp = this.stamp();
      if (stamp === this.seen) return;
      this.credentials = parseDockerConfig(readFileSync(this.path, 'utf8'));
      this.seen = stamp;
      this.problem = undefined;
    } catch (error) {
      const problem = `${this.path}: ${problemOf(error)}`;
      if (problem !== this.problem) this.onProblem?.(problem);
      this.problem = problem;
    }
  }
}

/** Credentials from the auth file first (it is the one that refreshes), else from the fixed map. */
export function combinedCredentials(fixed: ReadonlyMap<string, Credentials>, file: CredentialLookup | undefined): CredentialLookup {
  if (file === undefined) return fixed;
  return { get: (registry) => file.get(registry) ?? fixed.get(registry) };
}
