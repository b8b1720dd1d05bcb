import { BlockList, isIP } from 'node:net';
import { plainAddress } from '@orbit/lib';

/**
 * Addresses of a private network, where the services next to the validator
 * answer (object storage, the schema registry, the gateway, databases):
 * loopback, RFC 1918, carrier-grade NAT, IPv6 unique-local, and the
 * unspecified address (which connects to this host). Link-local is refused
 * everywhere on its own (cloud metadata), so it is not among them.
 */
const PRIVATE = new BlockList();
for (const [network, prefix] of [['127.0.0.0', 8], ['10.0.0.0', 8], ['172.16.0.0', 12], ['192.168.0.0', 16], ['100.64.0.0', 10], ['0.0.0.0', 8]] as const) {
  PRIVATE.addSubnet(network, prefix, 'ipv4');
}
for (const [network, prefix] of [['::1', 128], ['::', 128], ['fc00::', 7]] as const) PRIVATE.addSubnet(network, prefix, 'ipv6');

/**
 * Whether `address` is on a private network, or one of this host's own
 * (its public address reaches whatever listens on 0.0.0.0 as loopback does).
 * IPv4-mapped IPv6 (`::ffff:10.0.0.1`) counts as the IPv4 address it is.
 */
export function isPrivateAddress(address: string, interfaceAddresses: ReadonlySet<string> = new Set()): boolean {
  const plain = plainAddress(address);
  const family = isIP(plain);
  if (family === 0) return false;
  return PRIVATE.check(plain, family === 6 ? 'ipv6' : 'ipv4') || interfaceAddresses.has(plain);
}
