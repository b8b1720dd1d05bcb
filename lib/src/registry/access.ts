import { addressKind } from './address-kind.js';
import { plainAddress } from './own-registry.js';
import { z } from 'zod';
import { canonicalRegistry, parseImageReference } from '../image-reference.js';
import type { Logger } from '../logger.js';
import type { Credentials } from './auth.js';
import { AuthFileCredentials, combinedCredentials, problemOf, type CredentialLookup } from './auth-file.js';

/** How Orbit reaches registries: which speak plain HTTP, and the credentials for each. */
export interface RegistryAccess {
  /** Registries (host[:port]) spoken to over plain HTTP. */
  readonly insecure: ReadonlySet<string>;
  readonly credentials: CredentialLookup;
}

/**
 * Docker's own default: registries on the loopback are plain HTTP without
 * being listed; every other registry is HTTPS unless configured insecure.
 */
export function isInsecureRegistry(registry: string, access: Pick<RegistryAccess, 'insecure'>): boolean {
  const canonical = canonicalRegistry(registry);
  // Entries compared in their one spelling too: [0:0::1]:5050 listed is the [::1]:5050 a reference names.
  if (access.insecure.has(registry) || [...access.insecure].some((entry) => canonicalRegistry(entry) === canonical)) return true;
  const host = plainAddress(registry.replace(/:\d+$/, '').replace(/^\[|\]$/g, ''));
  return host === 'localhost' || addressKind(host) === 'loopback';
}

/**
 * One registry's entry: a username and password, or an identity token (an
 * OAuth2 refresh token, what Docker keeps as `identitytoken` after `az acr
 * login`), traded at the registry's token service, never sent as a password.
 */
const credentialsEntry = z.union([
  z.object({ username: z.string(), password: z.string() }).strict(),
  z.object({ username: z.string().optional(), identityToken: z.string().min(1) }).strict(),
]).transform((entry): Credentials => ('identityToken' in entry
  ? { username: entry.username ?? '', password: '', identityToken: entry.identityToken }
  : entry));

const credentialsJson = z.string().optional().transform((text, context) => {
  if (text === undefined || text.trim() === '') return new Map<string, Credentials>();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  const parsed = z.record(z.string(), credentialsEntry).safeParse(json);
  if (!parsed.success) {
    // Which registry's entry is wrong, never its values: they are secrets.
    const where = parsed.error.issues[0]?.path[0];
    context.addIssue({
      code: 'custom',
      message: `must be JSON like {"registry.example.com":{"username":"u","password":"p"}} or {"team.azurecr.io":{"identityToken":"<refresh token>"}}${typeof where === 'string' ? `; the entry for "${where}" is neither` : ''}`,
    });
    return z.NEVER;
  }
  // Keyed by each registry's one spelling, the one references are looked up by (Registry.Example.com, [0:0::1]:5050).
  return new Map<string, Credentials>(Object.entries(parsed.data).map(([registry, credentials]) => [canonicalRegistry(registry), credentials]));
});

/** The variables of RegistryAccess, shared by the validator (pulls) and the harbor-writer (pushes). */
export const registryAccessEnv = {
  /** Registries (host[:port], comma-separated) spoken to over plain HTTP; loopback registries always are. */
  ORBIT_INSECURE_REGISTRIES: z.string().default('').transform((value) => new Set(value.split(',').map((part) => part.trim()).filter(Boolean).map(canonicalRegistry))),
  /** Credentials per registry as JSON; secret, never logged. */
  ORBIT_REGISTRY_CREDENTIALS: credentialsJson,
  /** A Docker config.json (a mounted dockerconfigjson Secret), read again when it changes; its credentials win over ORBIT_REGISTRY_CREDENTIALS'. */
  ORBIT_REGISTRY_AUTH_FILE: z.string().optional().transform((path, context) => {
    if (path === undefined || path.trim() === '') return undefined;
    try {
      return new AuthFileCredentials(path);
    } catch (error) {
      context.addIssue({ code: 'custom', message: `must name a readable Docker config.json ({"auths":{"registry.example.com":{"auth":"<base64 user:password>"}}}): ${problemOf(error)}` });
      return z.NEVER;
    }
  }),
};

/** True when `prefix/<name>` is a repository in a named registry (`registry.example.com/orbit`, `localhost:5000`). */
export function namesRegistryRepository(prefix: string): boolean {
  const reference = parseImageReference(`${prefix}/name:tag`);
  const slash = prefix.indexOf('/') === -1 ? prefix.length : prefix.indexOf('/');
  // Lower case, as the charts name it; an IPv6 host in any spelling, which parseImageReference gives in one ([0:0::1]:5050 is [::1]:5050).
  const written = prefix === prefix.toLowerCase() ? `${canonicalRegistry(prefix.slice(0, slash))}${prefix.slice(slash)}` : prefix;
  return reference !== undefined && `${reference.registry}/${reference.repository}` === `${written}/name`;
}

/** Where the charts pull images from (and the harbor-writer pushes them to): one variable, so the two always agree. */
export const imageRegistryEnv = {
  /** Registry and path; the chart name is appended. @default registry.orbit.local/orbit */
  ORBIT_IMAGE_REGISTRY: z.string().default('registry.orbit.local/orbit')
    .refine(namesRegistryRepository, { message: 'must be a registry host and a path like registry.example.com/orbit (lower case; the host has a dot or a port, or is localhost)' }),
};

/** The RegistryAccess the variables of registryAccessEnv describe. */
export function registryAccessOf(config: {
  readonly ORBIT_INSECURE_REGISTRIES: ReadonlySet<string>; readonly ORBIT_REGISTRY_CREDENTIALS: ReadonlyMap<string, Credentials>; readonly ORBIT_REGISTRY_AUTH_FILE?: CredentialLookup | undefined;
}, log?: Pick<Logger, 'warn'>): RegistryAccess {
  const file = config.ORBIT_REGISTRY_AUTH_FILE;
  if (file instanceof AuthFileCredentials && log !== undefined) {
    file.onProblem = (problem) => log.warn({ problem }, 'the registry auth file could not be read again; the credentials read before stay in use');
  }
  return { insecure: config.ORBIT_INSECURE_REGISTRIES, credentials: combinedCredentials(config.ORBIT_REGISTRY_CREDENTIALS, file) };
}
