import { isIP } from 'node:net';
import ipaddr from 'ipaddr.js';

/**
 * What a connection to an address reaches, as the registry checks need it:
 * - `loopback` and `unspecified` (0.0.0.0/8, `::`): this very host;
 * - `link-local`: the local link, where cloud metadata services answer;
 * - `private`: one network's own hosts (RFC 1918, carrier-grade NAT, IPv6 unique-local and site-local);
 * - `reserved`: on no public network either (benchmarking, IETF protocol assignments, class E, multicast, broadcast);
 * - `public`: the internet.
 */
export type AddressKind = 'loopback' | 'unspecified' | 'link-local' | 'private' | 'reserved' | 'public';

/** AWS's IPv6 instance metadata service: unique-local in form, but like 169.254.169.254 it answers each instance with its own credentials. */
const AWS_METADATA_V6 = ipaddr.IPv6.parse('fd00:ec2::254');
/** NAT64's well-known prefix (RFC 6052): the last 32 bits are the IPv4 address the translator connects to. */
const NAT64 = ipaddr.IPv6.parse('64:ff9b::');
/**
 * RFC 8215's local-use NAT64 prefix as DNS64 deployments use it, a /96 within 64:ff9b:1::/48: the last 32 bits too.
 * Read as private, a public registry behind such a DNS64 was taken for one of the network's own (a bug reread).
 */
const NAT64_LOCAL_USE = ipaddr.IPv6.parse('64:ff9b:1::');
/** IPv4-compatible IPv6 (deprecated by RFC 4291): routed, if at all, through a tunnel to whatever it embeds. */
const IPV4_COMPATIBLE = ipaddr.IPv6.parse('::');

const kindOfRange: Readonly<Record<string, AddressKind>> = {
  loopback: 'loopback',
  unspecified: 'unspecified',
  linkLocal: 'link-local',
  private: 'private',
  carrierGradeNat: 'private',
  uniqueLocal: 'private',
  deprecatedSiteLocal: 'private',
  // The rest of RFC 8215's local-use NAT64 prefix (64:ff9b:1::/48, its /96 read above): a translator of the
  // network's own, whose other layouts (RFC 6052 §2.2) are not read: never public.
  rfc6052: 'private',
  // Anycast services on the internet (AS112 DNS sinks, AMT relays), and Teredo's relays.
  as112: 'public',
  as112v6: 'public',
  amt: 'public',
  teredo: 'public',
  unicast: 'public',
};

/**
 * Documentation ranges (RFC 5737, RFC 3849) are on no network at all, so either answer is safe; they count as
 * public because that is what examples and tests write them for (`203.0.113.7` stands for some host on the internet).
 */
const DOCUMENTATION = ['192.0.2.0/24', '198.51.100.0/24', '203.0.113.0/24', '2001:db8::/32'].map((cidr) => ipaddr.parseCIDR(cidr));

const isDocumentation = (address: ipaddr.IPv4 | ipaddr.IPv6): boolean =>
  DOCUMENTATION.some(([network, bits]) => network.kind() === address.kind() && address.match(network, bits));

/** The IPv4 address at `byte` of an IPv6 one's 16. */
const ipv4At = (address: ipaddr.IPv6, byte: number): ipaddr.IPv4 => new ipaddr.IPv4(address.toByteArray().slice(byte, byte + 4));

/**
 * The IPv4 address a translated or tunnelled IPv6 one (NAT64, 6to4, IPv4-compatible) reaches: a NAT64 of
 * 10.0.0.1 (`64:ff9b::a00:1`) is 10.0.0.1 on the translator's network. Undefined for every other IPv6 address.
 */
function embeddedIPv4(address: ipaddr.IPv6): ipaddr.IPv4 | undefined {
  if (address.match(NAT64, 96) || address.match(NAT64_LOCAL_USE, 96)) return ipv4At(address, 12);
  if (address.match(IPV4_COMPATIBLE, 96)) return ipv4At(address, 12);
  if (address.range() === '6to4') return ipv4At(address, 2);
  return undefined;
}

function kindOf(address: ipaddr.IPv4 | ipaddr.IPv6): AddressKind {
  if (isDocumentation(address)) return 'public';
  if (address instanceof ipaddr.IPv6 && address.match(AWS_METADATA_V6, 128)) return 'link-local';
  return kindOfRange[address.range()] ?? 'reserved';
}

/**
 * The kind of an IP address (either family; an IPv4-mapped IPv6 one is the IPv4 address it is to every
 * socket), or undefined when `address` is no IP address (a host name). An IPv6 address embedding an IPv4 one
 * is of that one's kind, except that the loopback or unspecified address it embeds is the translator's own
 * host, not this one: a private network's.
 */
export function addressKind(address: string): AddressKind | undefined {
  const bare = address.replace(/^\[|\]$/g, '');
  // Node's test, not ipaddr's: ipaddr also reads `127.1` and `2130706433`, which are host names to a URL's reader here.
  if (isIP(bare) === 0) return undefined;
  const parsed = ipaddr.process(bare);
  const embedded = parsed instanceof ipaddr.IPv6 && !['loopback', 'unspecified'].includes(parsed.range()) ? embeddedIPv4(parsed) : undefined;
  if (embedded === undefined) return kindOf(parsed);
  const kind = kindOf(embedded);
  return kind === 'loopback' || kind === 'unspecified' ? 'private' : kind;
}

/** Whether the address is on the internet: false for every other kind, and for a host name. */
export const isPublicAddress = (address: string): boolean => addressKind(address) === 'public';

/** Whether a connection to the address stays on this host (loopback, or the unspecified address, which connects to it). */
export const reachesThisHost = (address: string): boolean => {
  const kind = addressKind(address);
  return kind === 'loopback' || kind === 'unspecified';
};

/**
 * Whether an IPv6 address is a translated or tunnelled form of another (NAT64 under the well-known or a local-use
 * prefix, 6to4, IPv4-compatible): where it leads is a translator's to say, so it never makes a registry one of this
 * network's own (a found bug: a public registry behind a local-use DNS64 read as in-house and could send a pull into
 * the private network).
 */
export function isTranslatedAddress(address: string): boolean {
  const bare = address.replace(/^\[|\]$/g, '');
  if (isIP(bare) !== 6) return false;
  const parsed = ipaddr.IPv6.parse(bare);
  if (parsed.isIPv4MappedAddress()) return false;
  const range = parsed.range();
  if (range === 'loopback' || range === 'unspecified') return false;
  return range === 'rfc6052' || range === '6to4' || parsed.match(NAT64, 96) || parsed.match(NAT64_LOCAL_USE, 96) || parsed.match(IPV4_COMPATIBLE, 96);
}
