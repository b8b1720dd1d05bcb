import { describe, expect, it } from 'vitest';
import { localHttpServers, notHttpListener } from '../../../test/helpers/local-http-servers.js';
import { freePort } from '../../../test/helpers/ports.js';
import { causeMessagesOf } from '../error-description.js';
import { RegistryClient } from './client.js';
import { RegistryUnavailableError } from './registry-errors.js';
import { onRegistryOrigin } from './token-service.js';

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
    await expect(page.get('/manifests/1')).rejects.toMatchObject({ reasonCode: 'REGISTRY_UNAUTHORIZED', message: 'the token service the registry named (auth.test) returned no token' });
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

  it('refuses a realm with credentials in its URL as a refusal, not an outage (fetch cannot ask it: the registry was taken for down, a re-probe)', async () => {
    await expect(clientOf(challenging('https://admin:pw@auth.test/token', async () => Response.json({ token: 'good' }))).get('/manifests/1'))
      .rejects.toMatchObject({ reasonCode: 'REGISTRY_UNAUTHORIZED', message: expect.stringContaining('has credentials in its URL') as unknown });
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
    expect(((failure as Error).cause as Error).message).toBe('the token service the registry named (auth.test) gave no answer within 0.2 s');
    expect(Date.now() - started).toBeLessThan(2_000);
  });
});

describe('a token service on another host than the registry (found by a review: a realm at 127.0.0.1:9000 read MinIO\'s AccessDenied back to the registry\'s owner)', () => {
  const listen = localHttpServers();

  /** A registry on a port of its own whose Bearer challenge names `realm`. */
  const registryNaming = (realm: string): Promise<string> => listen((_request, response) => {
    response.writeHead(401, { 'www-authenticate': `Bearer realm="${realm}",service="registry.test"` }).end();
  });

  const SECRET = 'viewport-secret-bucket holds 42 objects';
  const failureOf = (registry: string): Promise<unknown> => new RegistryClient({ registry, repository: 'team/app', insecure: true }).get('/manifests/1').catch((error: unknown) => error);
  /** Every message down the cause chain, as the upload's owner reads it. */

  it('says a refusal by its status and error code, never the words of its body', async () => {
    const bodies = [
      JSON.stringify({ errors: [{ code: 'DENIED', message: SECRET }] }),
      `<?xml version="1.0"?><Error><Code>AccessDenied</Code><Message>${SECRET}</Message><BucketName>viewport-secret-bucket</BucketName></Error>`,
      JSON.stringify({ message: `Subject '${SECRET}' not found.`, error_code: 40401 }),
      SECRET,
    ];
    const codes = [': DENIED', ': AccessDenied', '', ''];
    for (const [at, body] of bodies.entries()) {
      const service = await listen((_request, response) => response.writeHead(403).end(body));
      const registry = await registryNaming(`http://${service}/token`);
      const failure = await failureOf(registry);
      expect(failure).toMatchObject({
        reasonCode: 'REGISTRY_UNAUTHORIZED',
        message: `the token service the registry named (${service}) refused the token request (403${codes[at] ?? ''}); Orbit has no credentials for ${registry}: give them in ORBIT_REGISTRY_CREDENTIALS or ORBIT_REGISTRY_AUTH_FILE`,
      });
      expect(causeMessagesOf(failure)).not.toContain('viewport-secret-bucket');
    }
  });

  it('says "could not reach" for a closed port and for a service that speaks no HTTP, never how the connection failed', async () => {
    const closed = `127.0.0.1:${await freePort()}`;
    // As Redis or Kafka answer a stray HTTP request: not HTTP, then the connection closed.
    const notHttp = await notHttpListener();
    const notHttpAt = notHttp.address;
    try {
      for (const service of [closed, notHttpAt]) {
        const failure = await failureOf(await registryNaming(`http://${service}/token`));
        expect(failure).toBeInstanceOf(RegistryUnavailableError);
        expect(causeMessagesOf(failure)).toMatch(new RegExp(`^registry 127\\.0\\.0\\.1:\\d+ is unavailable: could not reach the token service the registry named \\(${service.replace(/\./g, '\\.')}\\)$`));
      }
    } finally {
      await notHttp.close();
    }
  });

  it('still quotes the registry\'s own token service (same origin), whose words are the registry\'s', async () => {
    let registry = '';
    registry = await listen((request, response) => {
      if (request.url?.startsWith('/service/token') === true) return void response.writeHead(403).end(JSON.stringify({ errors: [{ code: 'DENIED', message: 'robot account disabled' }] }));
      response.writeHead(401, { 'www-authenticate': `Bearer realm="http://${registry}/service/token"` }).end();
    });
    expect(await failureOf(registry)).toMatchObject({ message: expect.stringContaining(`token request to ${registry} failed (403): DENIED: robot account disabled`) as unknown });
  });
});

describe('onRegistryOrigin', () => {
  it('takes a token service on the registry\'s origin, or Docker Hub\'s auth.docker.io for Docker Hub, as the registry\'s own: its words are quoted', () => {
    const hub = { registry: 'registry-1.docker.io', insecure: false };
    expect(onRegistryOrigin(new URL('https://auth.docker.io/token'), hub)).toBe(true);
    expect(onRegistryOrigin(new URL('https://registry-1.docker.io/token'), hub)).toBe(true);
    expect(onRegistryOrigin(new URL('https://ghcr.io/token'), { registry: 'ghcr.io', insecure: false })).toBe(true);
    // Elsewhere, an address, or plain HTTP under the domain: only its status and code are said.
    expect(onRegistryOrigin(new URL('https://auth.example.com/token'), hub)).toBe(false);
    expect(onRegistryOrigin(new URL('http://auth.docker.io/token'), hub)).toBe(false);
    expect(onRegistryOrigin(new URL('http://127.0.0.1:9000/'), { registry: '127.0.0.1:5791', insecure: true })).toBe(false);
    expect(onRegistryOrigin(new URL('http://localhost:9000/'), { registry: 'localhost:5791', insecure: true })).toBe(false);
    // Found by a quality reread: the last two labels are no registrable domain; two tenants share them.
    expect(onRegistryOrigin(new URL('https://attacker.azurecr.io/oauth2/token'), { registry: 'victim.azurecr.io', insecure: false })).toBe(false);
    expect(onRegistryOrigin(new URL('https://attacker.github.io/token'), { registry: 'victim.github.io', insecure: false })).toBe(false);
    expect(onRegistryOrigin(new URL('https://auth.docker.io/token'), { registry: 'registry.example.io', insecure: false })).toBe(false);
  });
});
