import { describe, expect, it } from 'vitest';
import { RegistryClient } from './client.js';
import { RegistryUnavailableError } from './registry-errors.js';

describe('a token service that misbehaves', () => {
  /** A registry that challenges for a token at `realm`, and a token service answering with `tokenAnswer`. */
  function challenging(realm: string, tokenAnswer: () => Promise<Response>): typeof fetch {
    return async (input, init) => {
      const url = String(input);
      if (url.startsWith('https://auth.test/')) return tokenAnswer();
      if (new Headers(init?.headers).get('authorization') === 'Bearer good') return new Response('served');
      return new Response('', { status: 401, headers: { 'www-authenticate': `Bearer realm="${realm}",service="registry.test"` } });
    };
  }
  const clientOf = (fake: typeof fetch, answerTimeoutMs?: number): RegistryClient =>
    new RegistryClient({ registry: 'registry.test', repository: 'team/app', insecure: false, fetch: fake, ...(answerTimeoutMs ? { answerTimeoutMs } : {}) });

  it('refuses with REGISTRY_UNAUTHORIZED a token answer that is a web page, JSON without a token, or a flood, saying which', async () => {
    const page = clientOf(challenging('https://auth.test/token', async () => new Response('<html>Sign in to continue</html>', { headers: { 'content-type': 'text/html' } })));
    await expect(page.get('/manifests/1')).rejects.toMatchObject({ reasonCode: 'REGISTRY_UNAUTHORIZED', message: 'token service auth.test returned no token' });
    const empty = clientOf(challenging('https://auth.test/token', async () => Response.json({ token: '', expires_in: 300 })));
    await expect(empty.get('/manifests/1')).rejects.toMatchObject({ reasonCode: 'REGISTRY_UNAUTHORIZED' });
    const flood = clientOf(challenging('https://auth.test/token', async () => new Response(new ReadableStream<Uint8Array>({ pull(controller) { controller.enqueue(new Uint8Array(65_536)); } }))));
    await expect(flood.get('/manifests/1')).rejects.toMatchObject({ reasonCode: 'REGISTRY_UNAUTHORIZED', message: expect.stringContaining('over 1048576 bytes') as unknown });
    const good = clientOf(challenging('https://auth.test/token', async () => Response.json({ token: '', access_token: 'good' })));
    expect(await (await good.get('/manifests/1')).text()).toBe('served');
  });

  it('refuses a realm that is no http(s) URL instead of failing with a TypeError nobody can act on', async () => {
    for (const realm of ['not a url', 'file:///etc/passwd']) {
      await expect(clientOf(challenging(realm, async () => Response.json({ token: 'good' }))).get('/manifests/1'))
        .rejects.toMatchObject({ reasonCode: 'REGISTRY_UNAUTHORIZED', message: expect.stringContaining('is not an http(s) URL') as unknown });
    }
  });

  it('asks no plain-HTTP token service for a registry reached over HTTPS: the credentials would cross in clear', async () => {
    const asked: string[] = [];
    const downgrading: typeof fetch = async (input, init) => {
      const url = String(input);
      if (url.startsWith('http://auth.test/')) { asked.push(url); return Response.json({ token: 'good' }); }
      if (new Headers(init?.headers).get('authorization') === 'Bearer good') return new Response('served');
      return new Response('', { status: 401, headers: { 'www-authenticate': 'Bearer realm="http://auth.test/token",service="registry.test"' } });
    };
    const secure = new RegistryClient({ registry: 'registry.test', repository: 'team/app', insecure: false, fetch: downgrading, credentials: { username: 'u', password: 'p' } });
    await expect(secure.get('/manifests/1')).rejects.toMatchObject({ reasonCode: 'REGISTRY_UNAUTHORIZED', message: expect.stringContaining('token service http://auth.test is plain HTTP') as unknown });
    expect(asked).toEqual([]);
    // A registry listed as insecure is plain HTTP throughout; its token service may be too.
    const local = new RegistryClient({ registry: 'registry.test', repository: 'team/app', insecure: true, fetch: downgrading });
    expect(await (await local.get('/manifests/1')).text()).toBe('served');
  });

  it('gives up on a token service that never answers, as on a silent registry (unavailable, so retried)', async () => {
    const neverAnswers = (_input: Parameters<typeof fetch>[0], init?: RequestInit): Promise<Response> =>
      new Promise<Response>((_resolve, reject) => init?.signal?.addEventListener('abort', () => reject(init.signal?.reason as Error)));
    const hanging: typeof fetch = (input, init) => (String(input).startsWith('https://auth.test/') ? neverAnswers(input, init) : challenging('https://auth.test/token', () => neverAnswers(input))(input, init));
    const started = Date.now();
    const failure = await clientOf(hanging, 200).get('/manifests/1').catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(RegistryUnavailableError);
    expect(((failure as Error).cause as Error).message).toBe('token service auth.test gave no answer within 0.2 s');
    expect(Date.now() - started).toBeLessThan(2_000);
  });
});
