import { describe, expect, it } from 'vitest';
import { RegistryClient } from './client.js';
import { RegistryUnavailableError } from './registry-errors.js';

describe('a connection that breaks', () => {
  it('counts as the registry struggling once it has answered this client (worth waiting for), and as not there when it never has', async () => {
    let calls = 0;
    const breaksAfterOne: typeof fetch = async () => {
      calls += 1;
      if (calls === 1) return new Response('{}');
      throw new TypeError('fetch failed', { cause: Object.assign(new Error('other side closed'), { code: 'UND_ERR_SOCKET' }) });
    };
    const answeredBefore = new RegistryClient({ registry: 'registry.test', repository: 'team/app', insecure: false, fetch: breaksAfterOne });
    await answeredBefore.get('/manifests/1');
    await expect(answeredBefore.get(`/blobs/sha256:${'a'.repeat(64)}`)).rejects.toMatchObject({ answered: true });
    const neverAnswered = new RegistryClient({ registry: 'registry.test', repository: 'team/app', insecure: false, fetch: async () => { throw new TypeError('fetch failed', { cause: new Error('connect ECONNREFUSED') }); } });
    const refused = neverAnswered.get('/manifests/1');
    await expect(refused).rejects.toBeInstanceOf(RegistryUnavailableError);
    await expect(refused).rejects.toMatchObject({ answered: false });
  });
});
