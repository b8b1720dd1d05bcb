import { describe, expect, it } from 'vitest';
import { registryAccessEnv, registryAllowlistEnv, type ResolveHost } from '@orbit/lib';
import { isPrivateAddress } from './private-address.js';
import { connectionPolicy, NamedRegistry, pullGuards, redirectPolicy, type ListedRegistries } from './redirect-policy.js';

const resolveHost: ResolveHost = async (host) => ({
  'metadata.internal': ['169.254.169.254'], 'cdn.example': ['203.0.113.7'], localhost: ['127.0.0.1', '::1'], 'orbit-registry.example': ['10.0.0.5'],
  'registry.example': ['198.51.100.20'], 'harbor.corp': ['10.20.0.5'], 'auth.corp': ['10.20.0.6'], 'minio.internal': ['10.0.0.9'], 'mixed.example': ['198.51.100.30', '10.0.0.7'],
  'prod-us-east-1-starport-layer-bucket.s3.us-east-1.amazonaws.com': ['10.40.0.8'],
  'dns64.example': ['64:ff9b:1::5db8:d822'], 'dns64-wk.example': ['64:ff9b::5db8:d822'], 'sixtofour.example': ['2002:5db8:d822::1'],
} as Record<string, string[]>)[host] ?? [];
/** This host's interfaces: a private one, and a public one (which reaches what listens on 0.0.0.0 here). */
const interfaceAddresses = new Set(['10.1.1.1', '198.51.100.99']);
const own = ['127.0.0.1:5050/orbit', 'orbit-registry.example/orbit-testing'];

/** The checks of one pull of `registry` (recorded as the reference's), and what each says of a place. */
async function pullOf(registry: string, listed?: ListedRegistries) {
  const pull = new NamedRegistry();
  const deps = { own, resolveHost, interfaceAddresses, pull, ...(listed ? { listed } : {}) };
  const checkTarget = redirectPolicy(deps);
  await checkTarget(new URL(`https://${registry}/v2/team/app/manifests/1`), 'named by the reference');
  const verdict = (url: string): Promise<string> => checkTarget(new URL(url)).then(() => 'followed', (error: { reasonCode?: string }) => error.reasonCode ?? String(error));
  return { verdict, connection: connectionPolicy(deps) };
}
const connected = (check: ReturnType<typeof connectionPolicy>, host: string, address: string, port: number): Promise<string> =>
  check({ host, address, port }).then(() => 'connected', (error: { reasonCode?: string; message?: string }) => `${error.reasonCode ?? ''}: ${error.message ?? ''}`);

const PRIVATE_TARGETS = [
  'http://127.0.0.1:9000/viewport-secret-bucket/', 'http://127.9.9.9:8081/', 'http://10.1.2.3/', 'http://172.16.0.1/', 'http://172.31.255.255/', 'http://192.168.1.1/',
  'http://100.64.0.1/', 'http://100.127.255.255/', 'http://0.0.0.0:8080/', 'http://[::1]:8081/', 'http://[::]:8080/', 'http://[fd12::1]/', 'http://[fc00::1]/',
  'http://[::ffff:127.0.0.1]:9000/', 'http://[::ffff:10.0.0.1]/', 'http://[::ffff:7f00:1]:8000/', 'http://minio.internal:9000/', 'http://localhost:8081/subjects',
  'http://mixed.example/', 'http://198.51.100.99:9000/',
  // Reserved ranges and IPv6 forms of a private address (found by a review: each was followed from a registry on the internet).
  'http://198.18.0.1/', 'http://192.0.0.1/', 'http://240.0.0.1/', 'http://[64:ff9b::a00:1]/', 'http://[2002:a00:1::1]/',
];
const PUBLIC_TARGETS = ['https://cdn.example/layers/abc?sig=1', 'http://172.32.0.1/', 'http://100.128.0.1/', 'http://192.169.0.1/', 'http://[2001:db8::1]/', 'http://11.0.0.1/'];

describe('where a registry may send the validator (found by a probe: a 307 to Orbit\'s own registry and to 169.254.169.254 were followed)', () => {
  it('refuses link-local addresses, where cloud metadata services answer, by address or by name, from any registry', async () => {
    for (const registry of ['registry.example', 'harbor.corp']) {
      const { verdict } = await pullOf(registry);
      for (const url of ['http://169.254.169.254/latest/meta-data/', 'http://metadata.internal/computeMetadata/v1/', 'http://[fe80::1]/', 'http://[fd00:ec2::254]/', 'http://[::ffff:169.254.169.254]/', 'http://[64:ff9b::a9fe:a9fe]/']) {
        expect(await verdict(url), `${registry} → ${url}`).toBe('REGISTRY_NOT_ALLOWED');
      }
    }
  });

  it('refuses Orbit\'s own registries under any name that reaches them, on any path, from any registry', async () => {
    for (const registry of ['registry.example', 'harbor.corp']) {
      const { verdict } = await pullOf(registry);
      for (const url of ['http://127.0.0.1:5050/v2/orbit/other/blobs/sha256:00', 'http://localhost:5050/anything', 'http://[::1]:5050/v2/x', 'https://orbit-registry.example/v2/team/blobs/x', 'http://10.1.1.1:5050/v2/x']) {
        expect(await verdict(url), `${registry} → ${url}`).toBe('REGISTRY_NOT_ALLOWED');
      }
    }
  });
});

describe('a registry on the internet sending the validator into the private network (found by a review: a realm at 127.0.0.1:9000 read MinIO\'s answer back)', () => {
  it('refuses every private address (loopback, RFC 1918, CGNAT, unique-local, unspecified, IPv4-mapped, this host\'s), by address or by name', async () => {
    const { verdict } = await pullOf('registry.example');
    for (const url of PRIVATE_TARGETS) expect(await verdict(url), url).toBe('REGISTRY_NOT_ALLOWED');
  });

  it('goes to public storage, CDNs and token services, and to the registry itself', async () => {
    const { verdict } = await pullOf('registry.example');
    for (const url of [...PUBLIC_TARGETS, 'https://registry.example/token?service=x']) expect(await verdict(url), url).toBe('followed');
  });

  it('says which host and why, but not the private address a name resolved to', async () => {
    const { verdict } = await pullOf('registry.example');
    const refusal = await redirectPolicy({ own, resolveHost, interfaceAddresses })(new URL('http://minio.internal:9000/')).catch((error: Error) => error.message);
    expect(await verdict('http://minio.internal:9000/')).toBe('REGISTRY_NOT_ALLOWED');
    expect(refusal).toMatch(/^the registry sent Orbit to minio\.internal:9000, which is on a private network .*ORBIT_PULL_PRIVATE_HOSTS \(a private endpoint of your network\), ORBIT_ALLOWED_REGISTRIES or ORBIT_INSECURE_REGISTRIES$/);
    expect(refusal).not.toContain('10.0.0.9');
  });

  it('goes to a private host the operator listed in ORBIT_ALLOWED_REGISTRIES or ORBIT_INSECURE_REGISTRIES, and to no other', async () => {
    const { verdict } = await pullOf('registry.example', { allowed: ['auth.corp', '*.stack.internal'], insecure: new Set(['minio.internal:9000', '127.0.0.1:5741']) });
    for (const url of ['https://auth.corp/token', 'http://127.0.0.1:5741/v2/', 'http://minio.internal:9000/bucket']) expect(await verdict(url), url).toBe('followed');
    for (const url of ['http://minio.internal:9001/', 'http://127.0.0.1:9000/', 'http://10.20.0.7/']) expect(await verdict(url), url).toBe('REGISTRY_NOT_ALLOWED');
    // An empty allowlist allows every registry a reference names: it lists no host to go to here.
    const { verdict: unlisted } = await pullOf('registry.example', { allowed: [], insecure: new Set() });
    expect(await unlisted('https://auth.corp/token')).toBe('REGISTRY_NOT_ALLOWED');
  });

  it('goes to a private endpoint listed in ORBIT_PULL_PRIVATE_HOSTS (ECR\'s layers through an S3 interface endpoint with private DNS), by URL and by connection, and it restricts nothing', async () => {
    const endpoint = 'https://prod-us-east-1-starport-layer-bucket.s3.us-east-1.amazonaws.com/sha256/abc';
    const { verdict, connection } = await pullOf('registry.example', { allowed: [], insecure: new Set(), privateHosts: ['*.s3.us-east-1.amazonaws.com'] });
    expect(await verdict(endpoint)).toBe('followed');
    expect(await connected(connection, 'prod-us-east-1-starport-layer-bucket.s3.us-east-1.amazonaws.com', '10.40.0.8', 443)).toBe('connected');
    // Other private places stay refused, and the link-local metadata service whatever is listed.
    expect(await verdict('http://minio.internal:9000/bucket')).toBe('REGISTRY_NOT_ALLOWED');
    expect(await verdict('http://metadata.internal/')).toBe('REGISTRY_NOT_ALLOWED');
    const { verdict: unlisted } = await pullOf('registry.example');
    expect(await unlisted(endpoint)).toBe('REGISTRY_NOT_ALLOWED');
  });
});

describe('an in-house registry (on a private network itself)', () => {
  it('goes to its token service and storage on the private network, as the local stack\'s registries on 127.0.0.1 do', async () => {
    for (const registry of ['harbor.corp', '127.0.0.1:5741', 'localhost:5741']) {
      const { verdict } = await pullOf(registry);
      for (const url of PRIVATE_TARGETS) expect(await verdict(url), `${registry} → ${url}`).toBe('followed');
    }
  });

  it('is no in-house registry when one of its addresses is public (a name the registry\'s owner controls may list both)', async () => {
    const { verdict } = await pullOf('mixed.example');
    expect(await verdict('http://127.0.0.1:9000/')).toBe('REGISTRY_NOT_ALLOWED');
  });

  it('is no in-house registry when it was found at a translated address (NAT64 of a DNS64, local-use or well-known prefix; 6to4): a bug reread found a public registry behind a local-use DNS64 sending a pull inside', async () => {
    for (const registry of ['dns64.example', 'dns64-wk.example', 'sixtofour.example']) {
      const { verdict } = await pullOf(registry);
      expect(await verdict('http://minio.internal:9000/bucket'), registry).toBe('REGISTRY_NOT_ALLOWED');
    }
    // Nor by its first connection, without the reference's check.
    const connection = connectionPolicy({ own, resolveHost, interfaceAddresses });
    expect(await connected(connection, 'dns64.example', '64:ff9b:1::5db8:d822', 443)).toBe('connected');
    expect(await connected(connection, 'minio.internal', '10.0.0.9', 9000)).toMatch(/^REGISTRY_NOT_ALLOWED/);
  });

  it('gives its leave to its own pull only: another pull\'s checks and connections are their own', async () => {
    const inHouse = pullGuards({ own, resolveHost, interfaceAddresses });
    const outside = pullGuards({ own, resolveHost, interfaceAddresses });
    await inHouse.checkTarget(new URL('https://harbor.corp/v2/team/app/manifests/1'), 'named by the reference');
    await outside.checkTarget(new URL('https://registry.example/v2/team/app/manifests/1'), 'named by the reference');
    await expect(inHouse.checkTarget(new URL('http://minio.internal:9000/'))).resolves.toBeUndefined();
    await expect(outside.checkTarget(new URL('http://minio.internal:9000/'))).rejects.toMatchObject({ reasonCode: 'REGISTRY_NOT_ALLOWED' });
  });
});

describe('each connection, by the address it reached (DNS rebinding)', () => {
  it('refuses a connection of a public registry\'s pull that reached a private address, though its name resolved to a public one when checked', async () => {
    const { verdict, connection } = await pullOf('registry.example');
    expect(await verdict('https://cdn.example/layer')).toBe('followed');
    expect(await connected(connection, 'cdn.example', '203.0.113.7', 443)).toBe('connected');
    expect(await connected(connection, 'cdn.example', '127.0.0.1', 9000)).toMatch(/^REGISTRY_NOT_ALLOWED: a connection for the pull to cdn\.example:9000 reached an address on a private network/);
    expect(await connected(connection, 'cdn.example', '::ffff:10.0.0.9', 443)).toMatch(/^REGISTRY_NOT_ALLOWED/);
    // The registry itself is where the reference points, wherever that is: the gateway and the reference's check judged it.
    expect(await connected(connection, 'registry.example', '198.51.100.20', 443)).toBe('connected');
  });

  it('keeps an in-house registry in-house: a connection to it reaching a public address would let a registry on the internet send Orbit inside', async () => {
    const { connection } = await pullOf('harbor.corp');
    expect(await connected(connection, 'harbor.corp', '10.20.0.5', 443)).toBe('connected');
    expect(await connected(connection, 'auth.corp', '10.20.0.6', 443)).toBe('connected');
    expect(await connected(connection, 'harbor.corp', '198.51.100.66', 443)).toMatch(/^REGISTRY_NOT_ALLOWED: the registry the reference names, harbor\.corp:443, was on a private network .* reached 198\.51\.100\.66, a public address/);
  });

  it('refuses a connection to a public registry that reached a private address: its name rebound, or listed a private address beside a public one (a bug reread)', async () => {
    const rebound = await pullOf('registry.example');
    expect(await connected(rebound.connection, 'registry.example', '127.0.0.1', 443)).toMatch(/^REGISTRY_NOT_ALLOWED: the registry the reference names, registry\.example:443, was found at a public address, and a connection to it reached an address on a private network/);
    const mixed = await pullOf('mixed.example');
    expect(await connected(mixed.connection, 'mixed.example', '198.51.100.30', 443)).toBe('connected');
    expect(await connected(mixed.connection, 'mixed.example', '10.0.0.7', 443)).toMatch(/^REGISTRY_NOT_ALLOWED/);
    // Listed by the operator, it may.
    const listed = await pullOf('mixed.example', { allowed: [], insecure: new Set(['mixed.example']) });
    expect(await connected(listed.connection, 'mixed.example', '10.0.0.7', 443)).toBe('connected');
  });

  it('without the reference\'s check, takes the pull\'s first connection for the registry: every other place is one its answers name', async () => {
    const inHouse = connectionPolicy({ own, resolveHost, interfaceAddresses });
    expect(await connected(inHouse, 'localhost', '127.0.0.1', 5741)).toBe('connected');
    expect(await connected(inHouse, '127.0.0.1', '127.0.0.1', 9000)).toBe('connected');
    const outside = connectionPolicy({ own, resolveHost, interfaceAddresses });
    expect(await connected(outside, 'registry.example', '198.51.100.20', 443)).toBe('connected');
    expect(await connected(outside, 'token.example', '127.0.0.1', 9000)).toMatch(/^REGISTRY_NOT_ALLOWED/);
  });

  it('lets a connection reach a private host the operator listed', async () => {
    const { connection } = await pullOf('registry.example', { allowed: [], insecure: new Set(['auth.corp', '[fd12::1]:8443']) });
    expect(await connected(connection, 'auth.corp', '10.20.0.6', 443)).toBe('connected');
    expect(await connected(connection, '[fd12::1]', 'fd12::1', 8443)).toBe('connected');
    expect(await connected(connection, 'auth.corp', '10.20.0.6', 8443)).toMatch(/^REGISTRY_NOT_ALLOWED/);
  });

  it('knows a listed IPv6 host however the operator wrote it (found by a review: [FD12:0::1]:8443 listed was not [fd12::1]:8443)', async () => {
    const insecure = registryAccessEnv.ORBIT_INSECURE_REGISTRIES.parse('[FD12:0:0:0:0:0:0:1]:8443');
    const { verdict, connection } = await pullOf('registry.example', { allowed: [], insecure });
    expect(await verdict('http://[fd12::1]:8443/token')).toBe('followed');
    expect(await connected(connection, '[fd12::1]', 'fd12::1', 8443)).toBe('connected');
    const { verdict: allowedAt } = await pullOf('registry.example', { allowed: registryAllowlistEnv.parse('registry.example, [fd12:0::0001]'), insecure: new Set() });
    expect(await allowedAt('https://[fd12::1]/token')).toBe('followed');
    expect(await allowedAt('https://[fd12::2]/token')).toBe('REGISTRY_NOT_ALLOWED');
  });
});

describe('isPrivateAddress', () => {
  it('tells the private network\'s addresses from public ones at the edges of each range', () => {
    for (const address of ['127.0.0.1', '10.255.255.255', '172.16.0.0', '172.31.255.255', '192.168.0.1', '100.64.0.0', '100.127.255.255', '0.0.0.0', '::1', '::', 'fc00::', 'fdff::1', '::ffff:192.168.1.1', '0:0:0:0:0:0:0:1']) {
      expect(isPrivateAddress(address), address).toBe(true);
    }
    for (const address of ['172.15.255.255', '172.32.0.0', '100.63.255.255', '100.128.0.0', '192.167.255.255', '8.8.8.8', '2001:db8::1', 'fe00::1', '::ffff:8.8.8.8', 'not-an-address']) {
      expect(isPrivateAddress(address), address).toBe(false);
    }
    expect(isPrivateAddress('198.51.100.99', interfaceAddresses)).toBe(true);
  });

  it('counts reserved ranges and IPv6 forms embedding a private address as private (found by a review: each was public)', () => {
    for (const address of ['198.18.0.1', '192.0.0.1', '240.0.0.1', '64:ff9b::a00:1', '2002:a00:1::1', '::a00:1']) expect(isPrivateAddress(address), address).toBe(true);
    // Link-local is refused on its own, NAT64 of it too.
    for (const address of ['169.254.169.254', '64:ff9b::a9fe:a9fe', 'fd00:ec2::254']) expect(isPrivateAddress(address), address).toBe(false);
  });
});
