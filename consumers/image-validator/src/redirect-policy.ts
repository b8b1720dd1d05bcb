import { BlockList, isIP } from 'node:net';
import { ownRegistryReached, plainAddress, PullRefusedError, type ResolveHost } from '@orbit/lib';

/** Where cloud metadata services answer (169.254.169.254, AWS's fd00:ec2::254) and nothing a registry serves from. */
const LINK_LOCAL = new BlockList();
LINK_LOCAL.addSubnet('169.254.0.0', 16, 'ipv4');
LINK_LOCAL.addSubnet('fe80::', 10, 'ipv6');
LINK_LOCAL.addAddress('fd00:ec2::254', 'ipv6');

const linkLocal = (address: string): boolean => LINK_LOCAL.check(address, isIP(address) === 6 ? 'ipv6' : 'ipv4');

export interface RedirectPolicyDeps {
  /** Orbit's own registries (ORBIT_IMAGE_REGISTRY and the environments'), `host[:port][/path]`. */
  readonly own: readonly string[];
  readonly resolveHost: ResolveHost;
  readonly interfaceAddresses: ReadonlySet<string>;
}

/**
 * Where a registry may send the validator (a blob redirect, a token
 * service): anywhere but a link-local address (a cloud's metadata service,
 * with the instance's credentials) and Orbit's own registry, under any name
 * that reaches it. The gateway checks the registry a reference names; a
 * registry of the user's could otherwise redirect its blob requests there
 * (found by a probe: a 307 to 127.0.0.1:5050 imported another owner's layer).
 */
export function redirectPolicy(deps: RedirectPolicyDeps): (url: URL, named?: 'named by the reference') => Promise<void> {
  const refusal = placeRefusal(deps);
  return async (url, named) => {
    const host = url.hostname.replace(/^\[|\]$/g, '');
    const addresses = (isIP(host) ? [host] : await deps.resolveHost(host)).map(plainAddress);
    const problem = await refusal(url.host, addresses, url.host);
    // The reference's own registry is no place a registry sent Orbit (found by a probe: the message said so).
    if (problem !== undefined) throw new PullRefusedError('REGISTRY_NOT_ALLOWED', `${named ? 'the reference names' : 'the registry sent Orbit to'} ${problem}; Orbit does not go there`);
  };
}

/**
 * The same rule on each connection the validator opens, by the address the
 * socket reached: a name checked by redirectPolicy may resolve elsewhere a
 * moment later, when the connection asks DNS again (DNS rebinding, or a
 * short TTL), and only the address connected to says where Orbit went.
 */
export function connectionPolicy(deps: RedirectPolicyDeps): (connected: { host: string; address: string; port: number }) => Promise<void> {
  const refusal = placeRefusal(deps);
  return async ({ host, address, port }) => {
    const plain = plainAddress(address);
    const problem = await refusal(isIP(plain) === 6 ? `[${plain}]:${port}` : `${plain}:${port}`, [plain], `${host} (connected to ${plain}:${port})`);
    if (problem !== undefined) throw new PullRefusedError('REGISTRY_NOT_ALLOWED', `a connection for the pull reached ${problem}; Orbit does not go there`);
  };
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
