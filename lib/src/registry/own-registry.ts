import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { networkInterfaces } from 'node:os';
import { canonicalRegistry, type ImageReference } from '../image-reference.js';
import { answerWithin } from '../deadline.js';
import { addressKind, reachesThisHost } from './address-kind.js';

/** The addresses a host name (or IP literal) resolves to; none when it does not resolve. */
export type ResolveHost = (host: string) => Promise<readonly string[]>;

interface RegistryPlace {
  readonly host: string;
  /** '' when the entry or reference names none: 443 (HTTPS) or 80 (a plain-HTTP registry). */
  readonly port: string;
  /** Repository path prefix, '' for the whole registry. */
  readonly path: string;
}

/**
 * `host[:port][/path]` as ORBIT_IMAGE_REGISTRY and references write it, in its one spelling (canonicalRegistry: an
 * own registry at `[::1]:5050` is not passed by `[0:0::1]:5050`), brackets off an IPv6 host.
 */
function placeOf(registry: string, path = ''): RegistryPlace {
  const canonical = canonicalRegistry(registry);
  const close = canonical.startsWith('[') ? canonical.indexOf(']') : -1;
  const colon = canonical.indexOf(':', close + 1);
  const host = colon === -1 ? canonical : canonical.slice(0, colon);
  return { host: host.replace(/^\[|\]$/g, ''), port: colon === -1 ? '' : canonical.slice(colon + 1), path: path.toLowerCase() };
}

function entryPlace(entry: string): RegistryPlace {
  const slash = entry.indexOf('/');
  return slash === -1 ? placeOf(entry) : placeOf(entry.slice(0, slash), entry.slice(slash + 1).replace(/\/+$/, ''));
}

const portsOf = (port: string): readonly string[] => (port === '' ? ['443', '80'] : [port]);
const samePort = (a: string, b: string): boolean => portsOf(a).some((port) => portsOf(b).includes(port));
const withinPath = (repository: string, prefix: string): boolean => prefix === '' || repository.toLowerCase().startsWith(`${prefix}/`);

/**
 * One spelling per address: IPv6 as the URL standard writes it
 * (`0:0:0:0:0:0:0:1` is `::1`), and an IPv4-mapped one (`::ffff:127.0.0.1`,
 * `::ffff:7f00:1`) as the IPv4 address it is to every socket.
 */
export function plainAddress(address: string): string {
  const lower = address.toLowerCase();
  if (isIP(lower) !== 6) return lower;
  const canonical = new URL(`http://[${lower}]/`).hostname.slice(1, -1);
  const mapped = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(canonical);
  if (!mapped) return canonical;
  const [high, low] = [Number.parseInt(mapped[1] ?? '0', 16), Number.parseInt(mapped[2] ?? '0', 16)];
  return [high >> 8, high & 255, low >> 8, low & 255].join('.');
}

/**
 * Addresses a network's hosts use among themselves, or no network's (see AddressKind): a registry there has
 * them to itself. A public address is often shared: a cloud's registry endpoint serves every account of a
 * region from the same few addresses, a CDN many origins.
 */
const nonPublic = (address: string): boolean => {
  const kind = addressKind(address);
  return kind !== undefined && kind !== 'public';
};

/**
 * Whether a connection to the address reaches this very host: loopback (all of 127/8, ::1), the unspecified
 * address (0.0.0.0 and :: connect to the local host), or one of its interfaces' addresses.
 */
function thisHost(address: string, interfaceAddresses: ReadonlySet<string>): boolean {
  const plain = plainAddress(address);
  return reachesThisHost(plain) || interfaceAddresses.has(plain);
}

/**
 * The entry of Orbit's own registries (`own`, `host[:port][/path]`) a reference reaches, if any. By the name
 * first; then by where the names resolve to, since a registry answers under every name that reaches it:
 * `localhost:5050` and `127.0.0.2:5050` are `127.0.0.1:5050`, an IP literal is the host name that resolves to it,
 * and `:443` is the port an entry without one means. Only a non-public address shared with an entry counts
 * (or two of this host's): another name for a public one (another account's registry at a cloud's regional
 * endpoint) is a registry of its own, which the name, its TLS certificate and its credentials tell apart.
 * A host that does not resolve here reaches nothing that this check could tell apart, so it is let through
 * to the validator, which says why it cannot pull.
 */
export async function ownRegistryReached(
  reference: Pick<ImageReference, 'registry' | 'repository'>, own: readonly string[],
  resolve?: ResolveHost, interfaceAddresses: ReadonlySet<string> = new Set(),
): Promise<string | undefined> {
  const named = placeOf(reference.registry);
  const entries = own.map((entry) => ({ entry, place: entryPlace(entry) })).filter(({ place }) => withinPath(reference.repository, place.path));
  const byName = entries.find(({ place }) => place.host === named.host && samePort(place.port, named.port));
  if (byName) return byName.entry;
  if (!resolve) return undefined;
  const candidates = entries.filter(({ place }) => samePort(place.port, named.port));
  if (candidates.length === 0) return undefined;
  const addressesOf = async (host: string): Promise<readonly string[]> => (isIP(host) ? [host] : await resolve(host)).map(plainAddress);
  const reached = await addressesOf(named.host);
  if (reached.length === 0) return undefined;
  for (const { entry, place } of candidates) {
    const ownAddresses = await addressesOf(place.host);
    if (ownAddresses.some((address) => nonPublic(address) && reached.includes(address))) return entry;
    const local = (addresses: readonly string[]) => addresses.some((address) => thisHost(address, interfaceAddresses));
    if (local(ownAddresses) && local(reached)) return entry;
  }
  return undefined;
}

/** The system resolver (what the validator's connections use), given up on after `timeoutMs`: nothing found. */
export function resolveWithin(timeoutMs: number): ResolveHost {
  return async (host) => {
    const found = lookup(host, { all: true, verbatim: true }).then((entries) => entries.map((entry) => entry.address), () => []);
    return answerWithin(found, timeoutMs, () => new Error(`no address for ${host} within ${timeoutMs} ms`)).catch(() => []);
  };
}

/** This host's interface addresses, lower case: a registry reached at one of them is on this host. */
export function interfaceAddressesOfThisHost(): ReadonlySet<string> {
  return new Set(Object.values(networkInterfaces()).flatMap((entries) => (entries ?? []).map((entry) => entry.address.toLowerCase())));
}
