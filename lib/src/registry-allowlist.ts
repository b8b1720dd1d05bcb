import { z } from 'zod';
import { canonicalRegistry } from './image-reference.js';

/**
 * The registries an upload by reference may name (ORBIT_ALLOWED_REGISTRIES),
 * the way Harbor's proxy-cache endpoints, ECR's pull-through rules or
 * Artifactory's remote repositories name their upstreams: the validator runs
 * inside the platform's network, and without a list any user can make it
 * fetch from any host.
 *
 * Entries, comma-separated, case-insensitive:
 *   - `registry.example.com`: that host on any port;
 *   - `registry.example.com:5000`: that host on that port only;
 *   - `*.example.com`: every host under example.com (not example.com itself), any port;
 *   - `[::1]:5000`, `127.0.0.1`: IP literals as references write them (`[0:0::1]` is `[::1]`: IPv6 compared in one spelling).
 * An empty list allows every registry (the local stack's default).
 */
export type RegistryAllowlist = readonly string[];

const LABEL = '[a-z0-9](?:[a-z0-9-]*[a-z0-9])?';
const HOST = `${LABEL}(?:\\.${LABEL})*`;
const ENTRY = new RegExp(`^(?:\\*\\.${HOST}|${HOST}(?::[0-9]{1,5})?|\\[[0-9a-f:]+\\](?::[0-9]{1,5})?)$`);

/**
 * `host` and `port` ('' when none) of a registry as references write it: `host`, `host:port`, `[v6]`, `[v6]:port`,
 * each in its one spelling (canonicalRegistry): 05050 is 5050 and [0:0::1] is [::1] to every client.
 */
function split(registry: string): { host: string; port: string } {
  const canonical = canonicalRegistry(registry);
  const close = canonical.startsWith('[') ? canonical.indexOf(']') : -1;
  const colon = canonical.indexOf(':', close + 1);
  return colon === -1 ? { host: canonical, port: '' } : { host: canonical.slice(0, colon), port: canonical.slice(colon + 1) };
}

export function registryAllowed(registry: string, allowlist: RegistryAllowlist): boolean {
  if (allowlist.length === 0) return true;
  const { host, port } = split(registry);
  return allowlist.some((entry) => {
    if (entry.startsWith('*.')) return host.endsWith(entry.slice(1)) && host.length > entry.length - 1;
    const allowed = split(entry);
    return allowed.host === host && (allowed.port === '' || allowed.port === port);
  });
}

/** ORBIT_ALLOWED_REGISTRIES as a validated list; an entry that is no host names itself in the error. */
export const registryAllowlistEnv = z.string().default('').transform((text, context): RegistryAllowlist => {
  const entries = text.split(',').map((part) => part.trim().toLowerCase()).filter(Boolean);
  for (const entry of entries) {
    if (!ENTRY.test(entry)) context.addIssue({ code: 'custom', message: `"${entry}" is not a registry host[:port], *.domain or [ipv6]:port` });
  }
  return entries;
});
