import { describe, expect, it } from 'vitest';
import { ownRegistryReached, type ResolveHost } from './own-registry.js';

/** A resolver over a fixed table, as DNS and /etc/hosts would answer. */
const resolver = (table: Record<string, readonly string[]>): ResolveHost => async (host) => table[host] ?? [];
const dns = resolver({
  localhost: ['127.0.0.1', '::1'],
  'registry.orbit.example': ['10.0.0.5'],
  'registry-alias.example': ['10.0.0.5'],
  'elsewhere.example': ['10.0.0.9'],
  'ci-box.example': ['192.168.1.20'],
});
const own = ['127.0.0.1:5050/orbit', 'registry.orbit.example/orbit'];
const reached = (text: string, interfaces: ReadonlySet<string> = new Set(['192.168.1.20'])) => {
  const slash = text.indexOf('/');
  return ownRegistryReached({ registry: text.slice(0, slash), repository: text.slice(slash + 1) }, own, dns, interfaces);
};

describe('ownRegistryReached', () => {
  it('knows Orbit\'s own registry under every name that reaches it (found by a probe: localhost:5050 imported another owner\'s image)', async () => {
    for (const alias of ['localhost:5050/orbit/app', '127.0.0.2:5050/orbit/app', '[::1]:5050/orbit/app', '0.0.0.0:5050/orbit/app', '[::ffff:127.0.0.1]:5050/orbit/app', 'ci-box.example:5050/orbit/app',
      // Other spellings of loopback (found by a probe).
      '[0:0:0:0:0:0:0:1]:5050/orbit/app', '[::ffff:7f00:1]:5050/orbit/app', '[0000::0001]:5050/orbit/app']) {
      expect(await reached(alias), alias).toBe('127.0.0.1:5050/orbit');
    }
    // Another name, an IP literal or the port an entry without one means: the same registry.
    for (const alias of ['registry-alias.example/orbit/app', '10.0.0.5/orbit/app', 'registry.orbit.example:443/orbit/app', 'REGISTRY.orbit.example/orbit/app']) {
      expect(await reached(alias), alias).toBe('registry.orbit.example/orbit');
    }
  });

  it('lets through another port, another path, another host, and a host that does not resolve', async () => {
    for (const other of ['localhost:5051/orbit/app', 'localhost:5050/other/app', 'localhost:5050/orbital/app', 'elsewhere.example/orbit/app', 'nowhere.example:5050/orbit/app', 'registry-alias.example:8443/orbit/app']) {
      expect(await reached(other), other).toBeUndefined();
    }
    // An interface address of this host reaches a registry listening here only when it is this host's.
    expect(await reached('ci-box.example:5050/orbit/app', new Set())).toBeUndefined();
  });

  it('does not take a registry sharing a public address with Orbit\'s for it: cloud registries serve many accounts from the same addresses', async () => {
    const cloud = resolver({
      '111111111111.dkr.ecr.eu-west-1.amazonaws.com': ['52.95.1.1', '2a05:d018::1'],
      '222222222222.dkr.ecr.eu-west-1.amazonaws.com': ['52.95.1.1', '2a05:d018::1'],
      'mirror.internal.example': ['100.64.3.4'],
      'mirror-alias.example': ['100.64.3.4'],
    });
    const ownInCloud = ['111111111111.dkr.ecr.eu-west-1.amazonaws.com/orbit', 'mirror.internal.example/orbit'];
    const inCloud = (registry: string) => ownRegistryReached({ registry, repository: 'orbit/app' }, ownInCloud, cloud);
    expect(await inCloud('222222222222.dkr.ecr.eu-west-1.amazonaws.com')).toBeUndefined();
    expect(await inCloud('111111111111.dkr.ecr.eu-west-1.amazonaws.com')).toBe('111111111111.dkr.ecr.eu-west-1.amazonaws.com/orbit');
    // A private (here carrier-grade NAT) address is one registry's alone: another name for it is still Orbit's.
    expect(await inCloud('mirror-alias.example')).toBe('mirror.internal.example/orbit');
  });

  it('takes a reserved address, or an IPv6 form embedding a private one, shared with Orbit\'s registry for it: no public network reaches them (found by a review)', async () => {
    for (const [ownAddress, alias] of [['198.18.0.1', 'bench.example'], ['240.0.0.1', 'class-e.example'], ['64:ff9b::a00:1', 'nat64.example'], ['2002:a00:1::1', 'six-to-four.example']] as const) {
      const table = resolver({ 'registry.lab.example': [ownAddress], [alias]: [ownAddress] });
      expect(await ownRegistryReached({ registry: alias, repository: 'orbit/app' }, ['registry.lab.example/orbit'], table), alias).toBe('registry.lab.example/orbit');
    }
  });

  it('compares names alone without a resolver', async () => {
    expect(await ownRegistryReached({ registry: '127.0.0.1:05050', repository: 'orbit/app' }, own)).toBe('127.0.0.1:5050/orbit');
    expect(await ownRegistryReached({ registry: 'localhost:5050', repository: 'orbit/app' }, own)).toBeUndefined();
    // An IPv6 literal is one name in any spelling, in the entry as in the reference (found by a review).
    const ownAtV6 = ['[fd00::5]:5050/orbit', '[FD00:0:0:0:0:0:0:6]/orbit'];
    expect(await ownRegistryReached({ registry: '[fd00:0::0005]:5050', repository: 'orbit/app' }, ownAtV6)).toBe('[fd00::5]:5050/orbit');
    expect(await ownRegistryReached({ registry: '[fd00::6]:443', repository: 'orbit/app' }, ownAtV6)).toBe('[FD00:0:0:0:0:0:0:6]/orbit');
    expect(await ownRegistryReached({ registry: '[fd00::7]:5050', repository: 'orbit/app' }, ownAtV6)).toBeUndefined();
  });
});
