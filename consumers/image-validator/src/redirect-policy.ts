import { isIP } from 'node:net';
import { addressKind, ownRegistryReached, plainAddress, PullRefusedError, registryAllowed, type RegistryAllowlist, type ResolveHost } from '@orbit/lib';
import { guardedFetch, type ClosableFetch } from './guarded-fetch.js';
import { isInHouseAddress, isPrivateAddress } from './private-address.js';

/** Where cloud metadata services answer (169.254.169.254, AWS's fd00:ec2::254) and nothing a registry serves from. */
const linkLocal = (address: string): boolean => addressKind(address) === 'link-local';

/** Hosts the operator named in the validator's registry settings: a registry may send Orbit there even on a private network. */
export interface ListedRegistries {
  /** ORBIT_ALLOWED_REGISTRIES; empty names no host (it allows every registry, which says nothing of this one). */
  readonly allowed: RegistryAllowlist;
  /** ORBIT_INSECURE_REGISTRIES, `host[:port]` as listed. */
  readonly insecure: ReadonlySet<string>;
  /** ORBIT_PULL_PRIVATE_HOSTS: private endpoints a registry on the internet may send a pull to. @default none */
  readonly privateHosts?: RegistryAllowlist;
}

export interface RedirectPolicyDeps {
  /** Orbit's own registries (ORBIT_IMAGE_REGISTRY and the environments'), `host[:port][/path]`. */
  readonly own: readonly string[];
  readonly resolveHost: ResolveHost;
  readonly interfaceAddresses: ReadonlySet<string>;
  /** @default none listed */
  readonly listed?: ListedRegistries;
  /** The pull the checks are for, shared by its redirectPolicy and connectionPolicy (see pullGuards). @default one of their own */
  readonly pull?: NamedRegistry;
}

const bare = (hostname: string): string => hostname.replace(/^\[|\]$/g, '').toLowerCase();
const hostPort = (hostname: string, port: string | number): string => `${isIP(bare(hostname)) === 6 ? `[${bare(hostname)}]` : bare(hostname)}:${port}`;
const portOf = (url: URL): string => url.port || (url.protocol === 'https:' ? '443' : '80');

/**
 * The registry a pull's reference names, and whether it is in-house: on a
 * private network at every address it was found at. A registry of the
 * user's on the internet may not send Orbit into the private network (a
 * token realm or a redirect to 127.0.0.1:9000 read object storage's answer
 * back to its owner, found by a review); an in-house registry's token
 * service and storage are in-house too.
 */
export class NamedRegistry {
  /** `host:port`, the port always written. */
  private place: string | undefined;
  /** Undefined until an address of it is known. */
  private privateNetwork: boolean | undefined;

  /** Whether private targets are the registry's own: known in-house. */
  get inHouse(): boolean {
    return this.privateNetwork === true;
  }

  /** Whether it is known to be on the internet: found at a public address (a name listing private ones beside is). */
  get onInternet(): boolean {
    return this.privateNetwork === false;
  }

  /** The reference's registry, with the addresses its name resolves to (none: left to its first connection). */
  named(url: URL, addresses: readonly string[], isInHouse: (address: string) => boolean): void {
    this.place = hostPort(url.hostname, portOf(url));
    if (addresses.length > 0) this.privateNetwork = addresses.every(isInHouse);
  }

  /**
   * Whether a connection to `place` is one to the named registry: the one
   * the reference's check recorded, else the pull's first connection, which
   * always goes to it (every other place is one its answers name).
   */
  connectsToNamed(place: string, reachedInHouse: boolean): boolean {
    this.place ??= place;
    if (this.place !== place) return false;
    this.privateNetwork ??= reachedInHouse;
    return true;
  }

  isNamed(url: URL): boolean {
    return this.place === hostPort(url.hostname, portOf(url));
  }
}

/** Whether the operator listed the host (any of its entries' forms) in ORBIT_PULL_PRIVATE_HOSTS, ORBIT_ALLOWED_REGISTRIES or ORBIT_INSECURE_REGISTRIES. */
function listedAt(listed: ListedRegistries | undefined, hostname: string, port: string): boolean {
  if (listed === undefined) return false;
  const place = hostPort(hostname, port);
  const named = [place, ...(port === '443' || port === '80' ? [place.slice(0, place.lastIndexOf(':'))] : [])];
  const privateHosts = listed.privateHosts ?? [];
  return (listed.allowed.length > 0 && registryAllowed(place, listed.allowed)) || named.some((entry) => listed.insecure.has(entry))
    || (privateHosts.length > 0 && registryAllowed(place, privateHosts));
}

const PRIVATE_NETWORK = 'on a private network (loopback, RFC 1918, carrier-grade NAT, IPv6 unique-local, a reserved range or this host)';
const ONLY_IN_HOUSE = 'Orbit goes there only for a registry on a private network itself, or to a host listed in ORBIT_PULL_PRIVATE_HOSTS (a private endpoint of your network), ORBIT_ALLOWED_REGISTRIES or ORBIT_INSECURE_REGISTRIES';

/**
 * Where a registry may send the validator (a blob redirect, a token
 * service): never to a link-local address (a cloud's metadata service,
 * with the instance's credentials) nor to Orbit's own registry, under any
 * name that reaches it; and into a private network only from a registry on
 * one itself, or to a host the operator listed. The gateway checks the
 * registry a reference names; a registry of the user's could otherwise
 * redirect its blob requests there (found by a probe: a 307 to
 * 127.0.0.1:5050 imported another owner's layer) or name a token service
 * there and read its answer back.
 */
export function redirectPolicy(deps: RedirectPolicyDeps): (url: URL, named?: 'named by the reference') => Promise<void> {
  const refusal = placeRefusal(deps);
  const pull = deps.pull ?? new NamedRegistry();
  const isPrivate = (address: string): boolean => isPrivateAddress(address, deps.interfaceAddresses);
  return async (url, named) => {
    const host = bare(url.hostname);
    const addresses = (isIP(host) ? [host] : await deps.resolveHost(host)).map(plainAddress);
    const problem = await refusal(url.host, addresses, url.host);
    // The reference's own registry is no place a registry sent Orbit (found by a probe: the message said so).
    if (problem !== undefined) throw new PullRefusedError('REGISTRY_NOT_ALLOWED', `${named ? 'the reference names' : 'the registry sent Orbit to'} ${problem}; Orbit does not go there`);
    if (named) {
      pull.named(url, addresses, (address) => isInHouseAddress(address, deps.interfaceAddresses));
      return;
    }
    if (pull.isNamed(url) || pull.inHouse || listedAt(deps.listed, url.hostname, portOf(url))) return;
    // The address a name resolves to is not said: it would map the private network for whoever names it.
    if (addresses.some(isPrivate)) throw new PullRefusedError('REGISTRY_NOT_ALLOWED', `the registry sent Orbit to ${url.host}, which is ${PRIVATE_NETWORK}; ${ONLY_IN_HOUSE}`);
  };
}

/**
 * The same rule on each connection the validator opens, by the address the
 * socket reached: a name checked by redirectPolicy may resolve elsewhere a
 * moment later, when the connection asks DNS again (DNS rebinding, or a
 * short TTL), and only the address connected to says where Orbit went. An
 * in-house registry stays in-house: a connection to it reaching a public
 * address would make a registry on the internet the one that may send Orbit
 * into the private network.
 */
export function connectionPolicy(deps: RedirectPolicyDeps): (connected: { host: string; address: string; port: number }) => Promise<void> {
  const refusal = placeRefusal(deps);
  const pull = deps.pull ?? new NamedRegistry();
  return async ({ host, address, port }) => {
    const plain = plainAddress(address);
    const problem = await refusal(isIP(plain) === 6 ? `[${plain}]:${port}` : `${plain}:${port}`, [plain], `${host} (connected to ${plain}:${port})`);
    if (problem !== undefined) throw new PullRefusedError('REGISTRY_NOT_ALLOWED', `a connection for the pull reached ${problem}; Orbit does not go there`);
    const reachedPrivate = isPrivateAddress(plain, deps.interfaceAddresses);
    const place = hostPort(host, port);
    if (pull.connectsToNamed(place, isInHouseAddress(plain, deps.interfaceAddresses))) {
      if (pull.inHouse && !reachedPrivate) {
        throw new PullRefusedError('REGISTRY_NOT_ALLOWED', `the registry the reference names, ${place}, was ${PRIVATE_NETWORK}, and a connection to it reached ${plain}, a public address: its name changed networks during the pull; Orbit does not go there`);
      }
      // And the other way (found by a bug reread): a name found on the internet whose connection lands inside (DNS
      // rebinding, or a private address listed beside a public one) is the private network reached by the user's name.
      if (pull.onInternet && reachedPrivate && !listedAt(deps.listed, host, String(port))) {
        throw new PullRefusedError('REGISTRY_NOT_ALLOWED', `the registry the reference names, ${place}, was found at a public address, and a connection to it reached an address ${PRIVATE_NETWORK}; ${ONLY_IN_HOUSE}`);
      }
      return;
    }
    if (reachedPrivate && !pull.inHouse && !listedAt(deps.listed, host, String(port))) {
      throw new PullRefusedError('REGISTRY_NOT_ALLOWED', `a connection for the pull to ${place} reached an address ${PRIVATE_NETWORK}; ${ONLY_IN_HOUSE}`);
    }
  };
}

/**
 * The checks of one pull, sharing what they learn of the registry its
 * reference names, and a fetch whose every connection is checked by them.
 * A connection pool of the pull's own: whether a connection may reach a
 * private address depends on the pull's registry, so a socket one pull
 * opened is not another's to reuse.
 */
export function pullGuards(deps: Omit<RedirectPolicyDeps, 'pull'>): { readonly checkTarget: (url: URL, named?: 'named by the reference') => Promise<void>; readonly fetch: ClosableFetch } {
  const pull = new NamedRegistry();
  return { checkTarget: redirectPolicy({ ...deps, pull }), fetch: guardedFetch(connectionPolicy({ ...deps, pull })) };
}

/** Why a place (`host:port`, reaching `addresses`) is refused, named `shown` in the answer; undefined when it may be gone to. */
function placeRefusal(deps: RedirectPolicyDeps): (place: string, addresses: readonly string[], shown: string) => Promise<string | undefined> {
  // Every path of the host is the registry: a redirect need not go through /v2/<repository>.
  const places = deps.own.map((entry) => entry.split('/')[0] ?? entry);
  return async (place, addresses, shown) => {
    const metadata = addresses.find(linkLocal);
    if (metadata !== undefined) return `${shown}, at ${metadata}, a link-local address where cloud metadata services answer`;
    const own = await ownRegistryReached({ registry: place, repository: '' }, places, deps.resolveHost, deps.interfaceAddresses);
    if (own !== undefined) return `${shown}, which is Orbit's own registry (${own}); images are not imported from it`;
    return undefined;
  };
}
