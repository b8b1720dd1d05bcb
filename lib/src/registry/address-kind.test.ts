import { describe, expect, it } from 'vitest';
import { addressKind, isPublicAddress, isTranslatedAddress, reachesThisHost } from './address-kind.js';

describe('addressKind', () => {
  it('names the kind of each range the registry checks tell apart, at the edges of each', () => {
    const kinds: Record<string, readonly string[]> = {
      loopback: ['127.0.0.1', '127.255.255.255', '::1', '0:0:0:0:0:0:0:1', '::ffff:127.0.0.1', '::ffff:7f00:1', '[::1]'],
      unspecified: ['0.0.0.0', '0.255.255.255', '::'],
      'link-local': ['169.254.169.254', '169.254.0.0', 'fe80::1', 'fe80::1%eth0', 'fd00:ec2::254', '::ffff:169.254.169.254'],
      private: ['10.0.0.0', '10.255.255.255', '172.16.0.0', '172.31.255.255', '192.168.0.1', '100.64.0.0', '100.127.255.255', 'fc00::', 'fdff::1', 'fd00::1', '::ffff:10.0.0.1'],
      public: ['8.8.8.8', '172.15.255.255', '172.32.0.0', '100.63.255.255', '100.128.0.0', '192.167.255.255', '2606:4700::1', '::ffff:8.8.8.8', 'fe00::1'],
    };
    for (const [kind, addresses] of Object.entries(kinds)) {
      for (const address of addresses) expect(addressKind(address), address).toBe(kind);
    }
  });

  it('counts the reserved ranges no public network routes as not public (found by a review: 198.18.0.1, 192.0.0.1 and 240.0.0.1 were public)', () => {
    for (const address of ['198.18.0.1', '198.19.255.255', '192.0.0.1', '240.0.0.1', '255.255.255.255', '224.0.0.1', 'ff02::1', '2001:2::1']) {
      expect(addressKind(address), address).toBe('reserved');
      expect(isPublicAddress(address), address).toBe(false);
    }
  });

  it('takes an IPv6 address embedding an IPv4 one (NAT64, 6to4, IPv4-compatible) for the kind of the one it reaches (found by a review: 64:ff9b::a00:1 was public)', () => {
    expect(addressKind('64:ff9b::a00:1')).toBe('private');
    expect(addressKind('2002:a00:1::1')).toBe('private');
    expect(addressKind('::a00:1')).toBe('private');
    expect(addressKind('64:ff9b::a9fe:a9fe')).toBe('link-local');
    expect(addressKind('2002:c612:1::1')).toBe('reserved');
    expect(addressKind('64:ff9b::808:808')).toBe('public');
    expect(addressKind('2002:808:808::1')).toBe('public');
    // A translator's loopback is the translator's, not this host's.
    expect(addressKind('64:ff9b::7f00:1')).toBe('private');
    expect(reachesThisHost('64:ff9b::7f00:1')).toBe(false);
  });

  it('counts documentation ranges as public: they are on no network, and examples write them for hosts on the internet', () => {
    for (const address of ['192.0.2.1', '198.51.100.20', '203.0.113.7', '2001:db8::1']) expect(addressKind(address), address).toBe('public');
  });

  it('knows no kind for a host name, nor for the short IPv4 forms a URL reader would not take as written', () => {
    for (const text of ['localhost', 'registry.example', '127.1', '2130706433', '', 'not-an-address']) expect(addressKind(text), text).toBeUndefined();
  });

  it('says which addresses connect to this host', () => {
    for (const address of ['127.0.0.2', '::1', '0.0.0.0', '::', '::ffff:127.0.0.1']) expect(reachesThisHost(address), address).toBe(true);
    for (const address of ['10.0.0.1', '169.254.169.254', 'localhost', '8.8.8.8']) expect(reachesThisHost(address), address).toBe(false);
  });
});

describe('NAT64 under the local-use prefix, and translated forms (a bug reread: a public registry behind such a DNS64 read as in-house)', () => {
  it('reads the /96 of RFC 8215\'s 64:ff9b:1:: as the IPv4 address it embeds, and the rest of that /48 as never public', () => {
    expect(addressKind('64:ff9b:1::5db8:d822')).toBe('public');
    expect(addressKind('64:ff9b:1::a00:1')).toBe('private');
    expect(addressKind('64:ff9b:1:1::5db8:d822')).toBe('private');
  });

  it('tells translated and tunnelled IPv6 forms from native addresses', () => {
    for (const address of ['64:ff9b::a00:1', '64:ff9b:1::a00:1', '64:ff9b:1:1::1', '2002:a00:1::1', '::a00:1']) expect(isTranslatedAddress(address), address).toBe(true);
    for (const address of ['10.0.0.1', '::ffff:10.0.0.1', 'fd12::1', '::1', '::', '2001:db8::1']) expect(isTranslatedAddress(address), address).toBe(false);
  });
});
