import { addressKind, isTranslatedAddress, plainAddress } from '@orbit/lib';

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

/**
 * Whether an address makes the registry found there one of this network's own (in-house, which may send a pull
 * to private places): a private address, but no translated form of one (NAT64, 6to4), which a public registry
 * resolves to behind a DNS64 of the network's local-use prefix.
 */
export function isInHouseAddress(address: string, interfaceAddresses: ReadonlySet<string> = new Set()): boolean {
  return isPrivateAddress(address, interfaceAddresses) && !isTranslatedAddress(plainAddress(address));
}
