import { addressKind, plainAddress } from '@orbit/lib';

/**
 * Whether `address` is on a private network, where the services next to the
 * validator answer (object storage, the schema registry, the gateway,
 * databases), or one of this host's own (its public address reaches
 * whatever listens on 0.0.0.0 as loopback does): every address that is not
 * public (loopback, RFC 1918, carrier-grade NAT, IPv6 unique-local, the
 * unspecified address, reserved ranges, and IPv6 forms embedding one of
 * them: IPv4-mapped, NAT64, 6to4). Link-local is refused everywhere on its
 * own (cloud metadata), so it is not among them.
 */
export function isPrivateAddress(address: string, interfaceAddresses: ReadonlySet<string> = new Set()): boolean {
  const plain = plainAddress(address);
  const kind = addressKind(plain);
  if (kind === undefined) return false;
  return (kind !== 'public' && kind !== 'link-local') || interfaceAddresses.has(plain);
}
