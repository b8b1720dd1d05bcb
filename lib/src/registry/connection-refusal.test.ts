import { createServer } from 'node:http';
import { lookup } from 'node:dns/promises';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { RegistryClient } from './client.js';
import { PullRefusedError, RegistryUnavailableError } from './registry-errors.js';

describe('a registry no retry will reach', () => {
  it('refuses at once a host that does not exist, a plain-HTTP registry asked over HTTPS, and an untrusted certificate, saying what to do', async () => {
    // .invalid never resolves (RFC 6761): a typo in the registry host, retried, held a partition of uploads for 30 s.
    // Asked of the real resolver where it says so (a host without DNS says EAI_AGAIN, rightly retried); else as undici reports it.
    const resolverSaysNo = await lookup('registry.invalid').then(() => false, (error: { code?: string }) => error.code === 'ENOTFOUND');
    const notFound: typeof fetch = async () => { throw new TypeError('fetch failed', { cause: Object.assign(new Error('getaddrinfo ENOTFOUND registry.invalid'), { code: 'ENOTFOUND' }) }); };
    const typo = await new RegistryClient({ registry: 'registry.invalid', repository: 'team/app', insecure: false, ...(resolverSaysNo ? {} : { fetch: notFound }) })
      .get('/manifests/1').catch((error: unknown) => error);
    expect(typo).toMatchObject({ reasonCode: 'REGISTRY_ERROR', message: 'registry host registry.invalid could not be resolved from where Orbit runs (DNS ENOTFOUND): check the reference, or ask your operator about Orbit\'s DNS/egress' });
    // A port the Fetch standard blocks: Node's own fetch refuses it before connecting, and no retry would change that.
    const blocked = await new RegistryClient({ registry: '127.0.0.1:5061', repository: 'team/app', insecure: true }).get('/manifests/1').catch((error: unknown) => error);
    expect(blocked).toMatchObject({ reasonCode: 'REGISTRY_ERROR', message: expect.stringMatching(/^127\.0\.0\.1:5061 is on a port the Fetch standard blocks/) as unknown });
    const plain = createServer((_request, response) => response.end('{}'));
    await new Promise<void>((resolve) => plain.listen(0, '127.0.0.1', resolve));
    try {
      const registry = `127.0.0.1:${(plain.address() as AddressInfo).port}`;
      const overTls = await new RegistryClient({ registry, repository: 'team/app', insecure: false }).get('/manifests/1').catch((error: unknown) => error);
      expect(overTls).toBeInstanceOf(PullRefusedError);
      expect((overTls as Error).message).toMatch(/does not speak HTTPS.*ORBIT_INSECURE_REGISTRIES/);
    } finally {
      plain.close();
    }
    const untrusted: typeof fetch = async () => { throw new TypeError('fetch failed', { cause: Object.assign(new Error('self-signed certificate'), { code: 'DEPTH_ZERO_SELF_SIGNED_CERT' }) }); };
    const refused = await new RegistryClient({ registry: 'harbor.corp', repository: 'team/app', insecure: false, fetch: untrusted }).get('/manifests/1').catch((error: unknown) => error);
    expect(refused).toMatchObject({ reasonCode: 'REGISTRY_ERROR', message: expect.stringContaining('NODE_EXTRA_CA_CERTS') as unknown });
    // A refused connection may be a registry restarting: still worth the patience.
    const restarting: typeof fetch = async () => { throw new TypeError('fetch failed', { cause: Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }) }); };
    const down = await new RegistryClient({ registry: 'harbor.corp', repository: 'team/app', insecure: false, fetch: restarting }).get('/manifests/1').catch((error: unknown) => error);
    // ...and no answer came: only a registry known to answer is waited for (the image-validator's pull-into-staging.ts).
    expect(down).toBeInstanceOf(RegistryUnavailableError);
    expect(down).toMatchObject({ answered: false });
    expect(typo).toMatchObject({ answered: false });
    const busy: typeof fetch = async () => new Response('busy', { status: 503 });
    expect(await new RegistryClient({ registry: 'harbor.corp', repository: 'team/app', insecure: false, fetch: busy }).get('/manifests/1').catch((error: unknown) => error)).toMatchObject({ answered: true });
  });
});
