import { createServer, type Server } from 'node:http';
import { lookup } from 'node:dns/promises';
import { getEventListeners } from 'node:events';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { basicAuthorization } from './auth.js';
import { PullRefusedError, RegistryClient, RegistryUnavailableError, retryAfterMs } from './client.js';

interface Seen {
  readonly url: string;
  readonly authorization: string | null;
}

/**
 * A registry behind a token service, the way Docker Hub, GHCR, Harbor and
 * ECR public answer: 401 with a Bearer challenge, a token from the realm
 * (anonymous or with Basic credentials), tokens that expire.
 */
function tokenRegistry(options: { users?: Record<string, string>; expireAfter?: number } = {}) {
  const seen: Seen[] = [];
  let issued = 0;
  const valid = new Map<string, number>();
  const fake: typeof fetch = async (input, init) => {
    const url = String(input);
    const authorization = new Headers(init?.headers).get('authorization');
    seen.push({ url, authorization });
    if (url.startsWith('https://auth.test/token')) {
      if (authorization !== null) {
        const pair = Buffer.from(authorization.replace(/^Basic /, ''), 'base64').toString();
        const user = pair.slice(0, pair.indexOf(':'));
        if (!user || options.users?.[user] !== pair.slice(pair.indexOf(':') + 1)) return new Response('{"errors":[{"code":"UNAUTHORIZED"}]}', { status: 401 });
      }
      issued += 1;
      const token = `token-${issued}`;
      valid.set(token, options.expireAfter ?? Infinity);
      return Response.json(issued % 2 === 0 ? { access_token: token } : { token });
    }
    const token = authorization?.replace(/^Bearer /, '');
    const uses = token === undefined ? undefined : valid.get(token);
    if (token === undefined || uses === undefined || uses <= 0) {
      return new Response('{"errors":[{"code":"UNAUTHORIZED"}]}', {
        status: 401, headers: { 'www-authenticate': 'Bearer realm="https://auth.test/token",service="registry.test",scope="repository:team/app:pull"' },
      });
    }
    valid.set(token, uses - 1);
    return new Response(`served ${url.slice(url.indexOf('/v2/'))}`);
  };
  return { fake, seen };
}

describe('RegistryClient authentication', () => {
  it('fetches an anonymous token for a public image and sends it as Bearer (Docker Hub, GHCR)', async () => {
    const { fake, seen } = tokenRegistry();
    const client = new RegistryClient({ registry: 'registry.test', repository: 'team/app', insecure: false, fetch: fake });
    expect(await (await client.get('/manifests/1')).text()).toBe('served /v2/team/app/manifests/1');
    const tokenCall = seen.find((call) => call.url.startsWith('https://auth.test/token'));
    expect(tokenCall?.authorization).toBeNull();
    expect(new URL(tokenCall?.url ?? 'x:').searchParams.get('scope')).toBe('repository:team/app:pull');
    expect(new URL(tokenCall?.url ?? 'x:').searchParams.get('service')).toBe('registry.test');
    expect(seen.at(-1)?.authorization).toBe('Bearer token-1');
    // The token is kept: the next request goes straight through.
    await client.get('/blobs/sha256:00');
    expect(seen.filter((call) => call.url.startsWith('https://auth.test/token'))).toHaveLength(1);
  });

  it('sends configured credentials (a password may hold colons) to the token service only', async () => {
    const { fake, seen } = tokenRegistry({ users: { robot: 's3cret:with:colons' } });
    const client = new RegistryClient({ registry: 'registry.test', repository: 'team/app', insecure: false, fetch: fake, credentials: { username: 'robot', password: 's3cret:with:colons' } });
    await client.get('/manifests/1');
    expect(seen.filter((call) => call.authorization?.startsWith('Basic ')).map((call) => new URL(call.url).host)).toEqual(['auth.test']);
    expect(seen.at(-1)?.authorization).toBe('Bearer token-1');
  });

  it('asks a credential helper once per client, only when the registry wants credentials, even when tokens expire mid-pull', async () => {
    const { fake } = tokenRegistry({ users: { robot: 'from-helper' }, expireAfter: 1 });
    let asked = 0;
    const helper = async () => {
      asked += 1;
      return { username: 'robot', password: 'from-helper' };
    };
    const client = new RegistryClient({ registry: 'registry.test', repository: 'team/app', insecure: false, fetch: fake, credentials: helper });
    expect(asked).toBe(0);
    await client.get('/manifests/1');
    await client.get('/blobs/sha256:01');
    expect(asked).toBe(1);
    const refusing = new RegistryClient({ registry: 'registry.test', repository: 'team/app', insecure: false, fetch: fake, credentials: async () => { throw new PullRefusedError('REGISTRY_UNAUTHORIZED', 'credential helper docker-credential-x failed'); } });
    await expect(refusing.get('/manifests/1')).rejects.toThrow(/docker-credential-x failed/);
  });

  it('trades an identity token for an access token in an OAuth2 form POST, never sending it as a password, and says so when the service takes none', async () => {
    const posted: URLSearchParams[] = [];
    const oauth = (refreshTokens: boolean): typeof fetch => async (input, init) => {
      const url = new URL(String(input));
      if (url.host === 'auth.test') {
        if (init?.method !== 'POST') return new Response('{}', { status: 401 });
        if (!refreshTokens) return new Response('404 page not found', { status: 404 });
        const form = new URLSearchParams(String(init.body));
        posted.push(form);
        return form.get('refresh_token') === 'refresh-1' ? Response.json({ access_token: 'from-refresh', expires_in: 300 }) : new Response('{"error":"invalid_grant"}', { status: 400 });
      }
      if (new Headers(init?.headers).get('authorization') === 'Bearer from-refresh') return new Response('manifest');
      return new Response('{}', { status: 401, headers: { 'www-authenticate': 'Bearer realm="https://auth.test/oauth2/token",service="registry.test",scope="repository:team/app:pull,push"' } });
    };
    const client = (fetchImpl: typeof fetch, refreshToken: string) => new RegistryClient({ registry: 'registry.test', repository: 'team/app', insecure: false, fetch: fetchImpl, credentials: { username: '', password: '', identityToken: refreshToken } });
    expect(await (await client(oauth(true), 'refresh-1').get('/manifests/1')).text()).toBe('manifest');
    expect(Object.fromEntries(posted[0] ?? [])).toEqual({ grant_type: 'refresh_token', refresh_token: 'refresh-1', client_id: 'orbit', service: 'registry.test', scope: 'repository:team/app:pull,push' });
    await expect(client(oauth(true), 'revoked').get('/manifests/1')).rejects.toThrow(/token request to auth\.test failed \(400\) for the identity token/);
    await expect(client(oauth(false), 'refresh-1').get('/manifests/1')).rejects.toThrow(/takes no identity tokens/);
  });

  it('sends its token to the registry only, never to an upload Location on another host (which gets an anonymous token of its own if it asks)', async () => {
    const { fake, seen } = tokenRegistry();
    const client = new RegistryClient({ registry: 'registry.test', repository: 'team/app', insecure: false, fetch: fake, actions: ['pull', 'push'] });
    await client.request('/blobs/uploads/', { method: 'POST' });
    await client.request('https://uploads.storage.test/v2/team/app/blobs/uploads/abc?_state=x', { method: 'PUT', body: Buffer.from('blob') });
    await client.request('/v2/team/app/blobs/uploads/abc?_state=y', { method: 'PUT', body: Buffer.from('blob') });
    expect(seen.map((call) => [new URL(call.url).host, call.authorization])).toEqual([
      ['registry.test', null], ['auth.test', null], ['registry.test', 'Bearer token-1'],
      ['uploads.storage.test', null], ['auth.test', null], ['uploads.storage.test', 'Bearer token-2'], ['registry.test', 'Bearer token-1'],
    ]);
    // A push asks for push up front, whatever scope the challenge named.
    expect(new URL(seen[1]?.url ?? 'x:').searchParams.get('scope')).toBe('repository:team/app:pull,push');
  });

  it('fetches a new token when the registry stops accepting the old one (tokens expire mid-pull), taking access_token as well as token', async () => {
    const { fake, seen } = tokenRegistry({ expireAfter: 1 });
    const client = new RegistryClient({ registry: 'registry.test', repository: 'team/app', insecure: false, fetch: fake });
    await client.get('/manifests/1');
    expect(await (await client.get('/blobs/sha256:01')).text()).toBe('served /v2/team/app/blobs/sha256:01');
    expect(seen.at(-1)?.authorization).toBe('Bearer token-2');
  });

  it('refuses with REGISTRY_UNAUTHORIZED when the token service refuses the credentials', async () => {
    const { fake } = tokenRegistry({ users: { robot: 'right' } });
    const client = new RegistryClient({ registry: 'registry.test', repository: 'team/app', insecure: false, fetch: fake, credentials: { username: 'robot', password: 'wrong' } });
    await expect(client.get('/manifests/1')).rejects.toMatchObject({ reasonCode: 'REGISTRY_UNAUTHORIZED' });
  });

  it('answers a Basic challenge with the credentials, and refuses one it has none for', async () => {
    const seen: (string | null)[] = [];
    const basic: typeof fetch = async (_input, init) => {
      const authorization = new Headers(init?.headers).get('authorization');
      seen.push(authorization);
      if (authorization === basicAuthorization({ username: 'u', password: 'p' })) return new Response('ok');
      return new Response('', { status: 401, headers: { 'www-authenticate': 'Basic realm="registry"' } });
    };
    const withCredentials = new RegistryClient({ registry: 'registry.test', repository: 'team/app', insecure: false, fetch: basic, credentials: { username: 'u', password: 'p' } });
    expect(await (await withCredentials.get('/manifests/1')).text()).toBe('ok');
    const anonymous = new RegistryClient({ registry: 'registry.test', repository: 'team/app', insecure: false, fetch: basic });
    await expect(anonymous.get('/manifests/1')).rejects.toBeInstanceOf(PullRefusedError);
    await expect(anonymous.get('/manifests/1')).rejects.toMatchObject({ reasonCode: 'REGISTRY_UNAUTHORIZED' });
  });
});

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

describe('a token service or registry that asks again', () => {
  it('waits out a token service answering 5xx or 429 (restarting, rate limiting): unavailable, so retried, not a refusal', async () => {
    for (const status of [502, 503, 429]) {
      const fake: typeof fetch = async (input) => (String(input).startsWith('https://auth.test/')
        ? new Response('<html>Bad Gateway</html>', { status })
        : new Response('', { status: 401, headers: { 'www-authenticate': 'Bearer realm="https://auth.test/token",service="registry.test"' } }));
      const client = new RegistryClient({ registry: 'registry.test', repository: 'team/app', insecure: false, fetch: fake });
      const failure = await client.get('/manifests/1').catch((error: unknown) => error);
      expect(failure).toBeInstanceOf(RegistryUnavailableError);
      expect(failure).toMatchObject({ retriable: true, answered: true });
      // A web page is quoted without its markup.
      expect(((failure as Error).cause as Error).message).toBe(`token service auth.test: HTTP ${status}: Bad Gateway`);
    }
  });

  it('asks for push again when the registry answers an upload 403 insufficient_scope (icr.io, Keppel), once', async () => {
    const asked: string[] = [];
    const fake: typeof fetch = async (input, init) => {
      const url = new URL(String(input));
      const authorization = new Headers(init?.headers).get('authorization');
      if (url.host === 'auth.test') { asked.push(url.searchParams.getAll('scope').join(' ')); return Response.json({ token: url.searchParams.get('scope')?.endsWith('push') === true ? 'push-token' : 'pull-token' }); }
      if (authorization === null) return new Response('', { status: 401, headers: { 'www-authenticate': 'Bearer realm="https://auth.test/token",service="registry.test",scope="repository:team/app:pull"' } });
      if (init?.method === 'POST' && authorization !== 'Bearer push-token') {
        return new Response('{"errors":[{"code":"DENIED"}]}', { status: 403, headers: { 'www-authenticate': 'Bearer realm="https://auth.test/token",service="registry.test",scope="repository:team/app:pull,push",error="insufficient_scope"' } });
      }
      return new Response(null, { status: 202, headers: { location: '/v2/team/app/blobs/uploads/1' } });
    };
    // A client that asks for pull only (a pull through the same code) learns it needs push from the 403.
    const client = new RegistryClient({ registry: 'registry.test', repository: 'team/app', insecure: false, fetch: fake });
    expect((await client.request('/blobs/uploads/', { method: 'POST' })).status).toBe(202);
    expect(asked).toEqual(['repository:team/app:pull', 'repository:team/app:pull,push']);
    // A token service that grants no push: the 403 is answered once, then handed to the caller.
    const stingy: typeof fetch = async (input, init) => (new URL(String(input)).host === 'auth.test' ? Response.json({ token: 'pull-token' }) : fake(input, init));
    const refused = new RegistryClient({ registry: 'registry.test', repository: 'team/app', insecure: false, fetch: stingy, actions: ['pull', 'push'] });
    expect((await refused.request('/blobs/uploads/', { method: 'POST' })).status).toBe(403);
  });

  it('answers the challenge of a host the registry redirects to with a token of that host\'s own, never the registry\'s', async () => {
    const seen: string[] = [];
    const fake: typeof fetch = async (input, init) => {
      const url = new URL(String(input));
      const authorization = new Headers(init?.headers).get('authorization');
      seen.push(`${url.host} ${authorization ?? '-'}`);
      if (url.host === 'auth.reg.test') return Response.json({ token: 'REG' });
      if (url.host === 'auth.mirror.test') return Response.json({ token: authorization === null ? 'MIRROR' : 'LEAKED' });
      if (url.host === 'reg.test') {
        if (authorization !== 'Bearer REG') return new Response('', { status: 401, headers: { 'www-authenticate': 'Bearer realm="https://auth.reg.test/token",service="reg.test"' } });
        return new Response(null, { status: 308, headers: { location: `https://mirror.test${url.pathname}` } });
      }
      if (authorization !== 'Bearer MIRROR') return new Response('', { status: 401, headers: { 'www-authenticate': 'Bearer realm="https://auth.mirror.test/token",service="mirror.test"' } });
      return new Response('manifest');
    };
    const client = new RegistryClient({ registry: 'reg.test', repository: 'team/app', insecure: false, fetch: fake, credentials: { username: 'robot', password: 'secret' } });
    expect(await (await client.get('/manifests/1')).text()).toBe('manifest');
    expect(seen).toEqual([
      'reg.test -', `auth.reg.test ${basicAuthorization({ username: 'robot', password: 'secret' })}`, 'reg.test Bearer REG', 'mirror.test -',
      // The other host's token service is asked anonymously: the registry's password stays the registry's.
      'auth.mirror.test -', 'reg.test Bearer REG', 'mirror.test Bearer MIRROR',
    ]);
  });

  it('hands back the Basic challenge of a host the registry redirects to, sending it no password: that host\'s refusal, not the registry\'s', async () => {
    const fake: typeof fetch = async (input, init) => {
      const url = new URL(String(input));
      if (url.host === 'reg.test') {
        if (new Headers(init?.headers).get('authorization') === null) return new Response('', { status: 401, headers: { 'www-authenticate': 'Basic realm="reg"' } });
        return new Response(null, { status: 302, headers: { location: 'https://elsewhere.test/blob' } });
      }
      return new Response('', { status: 401, headers: { 'www-authenticate': 'Basic realm="elsewhere"' } });
    };
    const client = new RegistryClient({ registry: 'reg.test', repository: 'team/app', insecure: false, fetch: fake, credentials: { username: 'robot', password: 'secret' } });
    await expect(client.get('/blobs/sha256:00')).rejects.toMatchObject({ reasonCode: 'REGISTRY_ERROR', message: expect.stringMatching(/^elsewhere\.test, the storage reg\.test redirected blob sha256:00 of reg\.test\/team\/app to, refused it \(401\)/) as unknown });
  });
});

describe('a registry that limits its clients (429)', () => {
  it('is unavailable, saying what the registry wrote and how long it asks to wait (seconds or a date)', async () => {
    const limited = (retryAfter: string | undefined): typeof fetch => async () => new Response(
      '{"errors":[{"code":"TOOMANYREQUESTS","message":"You have reached your pull rate limit."}]}',
      { status: 429, headers: retryAfter === undefined ? {} : { 'retry-after': retryAfter } },
    );
    const failureOf = (fake: typeof fetch): Promise<unknown> => new RegistryClient({ registry: 'registry.test', repository: 'library/nginx', insecure: false, fetch: fake }).get('/manifests/1.27').catch((error: unknown) => error);
    const failure = await failureOf(limited('120'));
    expect(failure).toBeInstanceOf(RegistryUnavailableError);
    expect(failure).toMatchObject({ answered: true, rateLimit: { retryAfterMs: 120_000 } });
    expect(((failure as Error).cause as Error).message).toBe('registry.test/library/nginx:1.27: HTTP 429: TOOMANYREQUESTS: You have reached your pull rate limit.');
    expect(await failureOf(limited(undefined))).toMatchObject({ rateLimit: { retryAfterMs: undefined } });
    expect(retryAfterMs('Wed, 21 Oct 2015 07:28:00 GMT', Date.parse('Wed, 21 Oct 2015 07:27:00 GMT'))).toBe(60_000);
    expect(retryAfterMs('soon')).toBeUndefined();
    // A 503 is an outage, not a limit.
    const busy: typeof fetch = async () => new Response('down for maintenance', { status: 503 });
    expect(await failureOf(busy)).toMatchObject({ rateLimit: undefined });
  });
});

describe('a registry that is slow to answer', () => {
  let server: Server | undefined;
  afterEach(async () => { await new Promise((resolve) => server?.close(resolve)); server?.closeAllConnections(); });

  async function listen(handler: Parameters<typeof createServer>[1]): Promise<string> {
    server = createServer(handler);
    await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve));
    return `127.0.0.1:${(server.address() as AddressInfo).port}`;
  }

  it('gives up on one that takes the connection and never answers (unavailable, so retried), instead of waiting minutes', async () => {
    const registry = await listen(() => undefined);
    const client = new RegistryClient({ registry, repository: 'team/app', insecure: true, answerTimeoutMs: 200 });
    const started = Date.now();
    const failure = await client.get('/manifests/1').catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(RegistryUnavailableError);
    expect(((failure as Error).cause as Error).message).toBe('no answer within 0.2 s');
    expect(Date.now() - started).toBeLessThan(2_000);
  });

  it('ends its requests when its signal is aborted (a shutdown), not after the answer timeout, and refuses new ones', async () => {
    const registry = await listen(() => undefined);
    const stop = new AbortController();
    const client = new RegistryClient({ registry, repository: 'team/app', insecure: true, answerTimeoutMs: 60_000, signal: stop.signal });
    const started = Date.now();
    const pending = client.request('/blobs/uploads/', { method: 'POST', body: Buffer.from('chart') }).catch((error: unknown) => error);
    setTimeout(() => stop.abort(new Error('shutting down')), 100);
    const failure = await pending;
    expect(failure).toBeInstanceOf(RegistryUnavailableError);
    expect(((failure as Error).cause as Error).message).toBe('shutting down');
    expect(Date.now() - started).toBeLessThan(2_000);
    await expect(client.get('/manifests/1')).rejects.toBeInstanceOf(RegistryUnavailableError);
  });

  it('keeps nothing on its signal once a request is done: a consumer\'s shutdown signal lives for weeks (found by a review)', async () => {
    const stop = new AbortController();
    const client = new RegistryClient({ registry: 'registry.test', repository: 'team/app', insecure: false, fetch: async () => new Response('served'), signal: stop.signal });
    for (let request = 0; request < 100; request += 1) await (await client.get('/manifests/1')).text();
    expect(getEventListeners(stop.signal, 'abort')).toHaveLength(0);
  });

  it('lets a body take longer than the answer timeout once the headers came', async () => {
    const registry = await listen((_request, response) => {
      response.writeHead(200, { 'content-type': 'application/octet-stream' });
      response.write('first ');
      setTimeout(() => response.end('last'), 500);
    });
    const client = new RegistryClient({ registry, repository: 'team/app', insecure: true, answerTimeoutMs: 200 });
    expect(await (await client.get('/blobs/sha256:x')).text()).toBe('first last');
  });
});

describe('a registry that redirects blobs to object storage', () => {
  const servers: Server[] = [];
  afterEach(async () => { for (const server of servers.splice(0)) { server.closeAllConnections(); await new Promise((resolve) => server.close(resolve)); } });

  async function listen(handler: Parameters<typeof createServer>[1]): Promise<string> {
    const server = createServer(handler);
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return `127.0.0.1:${(server.address() as AddressInfo).port}`;
  }

  it('follows the redirect without the registry token, which presigned storage refuses as a second auth mechanism (Docker Hub, ECR, Harbor on S3)', async () => {
    const storage = await listen((request, response) => {
      if (request.headers.authorization !== undefined) {
        response.writeHead(400, { 'content-type': 'application/xml' });
        response.end('<Error><Code>InvalidArgument</Code><Message>Only one auth mechanism allowed</Message></Error>');
        return;
      }
      response.end(`layer bytes from ${request.url ?? ''}`);
    });
    const registry = await listen((request, response) => {
      if (request.url?.startsWith('/token') === true) { response.end(JSON.stringify({ token: 'registry-token' })); return; }
      if (request.headers.authorization !== 'Bearer registry-token') {
        response.writeHead(401, { 'www-authenticate': `Bearer realm="http://${registry}/token",service="registry.test",scope="repository:team/app:pull"` });
        response.end();
        return;
      }
      response.writeHead(307, { location: `http://${storage}/registry-bucket/blob?X-Amz-Signature=abc` });
      response.end();
    });
    const client = new RegistryClient({ registry, repository: 'team/app', insecure: true });
    const answer = await client.get('/blobs/sha256:00');
    expect(answer.status).toBe(200);
    expect(await answer.text()).toBe('layer bytes from /registry-bucket/blob?X-Amz-Signature=abc');
  });

  it('asks before each hop where it leads (a refusal ends the pull), and ends a redirect loop at once as the registry\'s error, not an outage (found by a probe)', async () => {
    const storage = await listen((request, response) => { response.end(`bytes of ${request.url ?? ''}`); });
    let registry = '';
    registry = await listen((request, response) => {
      if (request.url?.includes('/loop') === true) { response.writeHead(302, { location: request.url }); response.end(); return; }
      if (request.url?.endsWith(':hop') === true) { response.writeHead(307, { location: `/v2/team/app/blobs/sha256:11` }); response.end(); return; }
      response.writeHead(307, { location: `http://${storage}/bucket/blob` });
      response.end();
    });
    const asked: string[] = [];
    const client = new RegistryClient({
      registry, repository: 'team/app', insecure: true,
      checkTarget: async (url) => {
        asked.push(url.href);
        if (url.host === storage && url.pathname === '/forbidden') throw new PullRefusedError('REGISTRY_NOT_ALLOWED', 'not there');
      },
    });
    expect(await (await client.get('/blobs/sha256:hop')).text()).toBe('bytes of /bucket/blob');
    expect(asked).toEqual([`http://${registry}/v2/team/app/blobs/sha256:11`, `http://${storage}/bucket/blob`]);
    const refusing = new RegistryClient({ registry, repository: 'team/app', insecure: true, checkTarget: async () => { throw new PullRefusedError('REGISTRY_NOT_ALLOWED', 'not there'); } });
    await expect(refusing.get('/blobs/sha256:00')).rejects.toMatchObject({ reasonCode: 'REGISTRY_NOT_ALLOWED' });
    const looped = await client.get('/blobs/loop').catch((error: unknown) => error);
    expect(looped).toBeInstanceOf(PullRefusedError);
    expect(looped).toMatchObject({ reasonCode: 'REGISTRY_ERROR', message: `${registry} redirected /v2/team/app/blobs/loop more than 10 times (a loop?)` });
  });

  it('follows no redirect from HTTPS down to plain HTTP: what the registry serves would cross in clear', async () => {
    const fake: typeof fetch = async () => new Response(null, { status: 307, headers: { location: 'http://storage.test/blob' } });
    const client = new RegistryClient({ registry: 'registry.test', repository: 'team/app', insecure: false, fetch: fake });
    await expect(client.get('/blobs/sha256:00')).rejects.toMatchObject({ reasonCode: 'REGISTRY_ERROR', message: expect.stringContaining('redirected from HTTPS to plain HTTP (storage.test)') });
  });
});

describe('a registry no retry will reach', () => {
  it('refuses at once a host that does not exist, a plain-HTTP registry asked over HTTPS, and an untrusted certificate, saying what to do', async () => {
    // .invalid never resolves (RFC 6761): a typo in the registry host, retried, held a partition of uploads for 30 s.
    // Asked of the real resolver where it says so (a host without DNS says EAI_AGAIN, rightly retried); else as undici reports it.
    const resolverSaysNo = await lookup('registry.invalid').then(() => false, (error: { code?: string }) => error.code === 'ENOTFOUND');
    const notFound: typeof fetch = async () => { throw new TypeError('fetch failed', { cause: Object.assign(new Error('getaddrinfo ENOTFOUND registry.invalid'), { code: 'ENOTFOUND' }) }); };
    const typo = await new RegistryClient({ registry: 'registry.invalid', repository: 'team/app', insecure: false, ...(resolverSaysNo ? {} : { fetch: notFound }) })
      .get('/manifests/1').catch((error: unknown) => error);
    expect(typo).toMatchObject({ reasonCode: 'REGISTRY_ERROR', message: 'registry host registry.invalid does not exist (DNS: ENOTFOUND); check the reference' });
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
    // ...and no answer came: only a registry known to answer is waited for (handle.ts).
    expect(down).toBeInstanceOf(RegistryUnavailableError);
    expect(down).toMatchObject({ answered: false });
    expect(typo).toMatchObject({ answered: false });
    const busy: typeof fetch = async () => new Response('busy', { status: 503 });
    expect(await new RegistryClient({ registry: 'harbor.corp', repository: 'team/app', insecure: false, fetch: busy }).get('/manifests/1').catch((error: unknown) => error)).toMatchObject({ answered: true });
  });
});

describe('a streamed blob upload', () => {
  let server: Server | undefined;
  afterEach(async () => { server?.closeAllConnections(); await new Promise((resolve) => server?.close(resolve)); });

  async function listen(handler: Parameters<typeof createServer>[1]): Promise<RegistryClient> {
    server = createServer(handler);
    await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    return new RegistryClient({ registry: `127.0.0.1:${port}`, repository: 'team/app', insecure: true, actions: ['pull', 'push'] });
  }

  async function* megabytes(count: number): AsyncGenerator<Buffer> {
    for (let index = 0; index < count; index += 1) yield Buffer.alloc(1024 * 1024, index);
  }

  it('sends every byte with its length and hands back the registry\'s answer (status, headers, body)', async () => {
    let received = 0;
    let declared = '';
    const client = await listen((request, response) => {
      declared = request.headers['content-length'] ?? '';
      request.on('data', (chunk: Buffer) => { received += chunk.length; });
      request.on('end', () => {
        response.writeHead(202, { location: '/v2/team/app/blobs/uploads/next', 'docker-upload-uuid': 'u1' });
        response.end('{"accepted":true}');
      });
    });
    const answer = await client.request('/blobs/uploads/u1', { method: 'PATCH', headers: { 'content-length': String(8 * 1024 * 1024) }, body: megabytes(8) });
    expect([answer.status, answer.headers.get('location'), await answer.text()]).toEqual([202, '/v2/team/app/blobs/uploads/next', '{"accepted":true}']);
    expect([received, declared]).toEqual([8 * 1024 * 1024, String(8 * 1024 * 1024)]);
  });

  it('is unavailable (so retried) when the registry drops the connection half way', async () => {
    const client = await listen((request) => {
      let received = 0;
      request.on('data', (chunk: Buffer) => {
        received += chunk.length;
        if (received > 1024 * 1024) request.socket.destroy();
      });
    });
    await expect(client.request('/blobs/uploads/u1', { method: 'PATCH', headers: { 'content-length': String(64 * 1024 * 1024) }, body: megabytes(64) }))
      .rejects.toBeInstanceOf(RegistryUnavailableError);
  });
});

describe('a 404 from the registry', () => {
  it('names what was missing as a person writes it: a tag, a digest, or a blob of the repository (not repo:sha256:…)', async () => {
    // Its text is not quoted: "not found" adds nothing (client-refusals.test.ts has the spec's codes, which are).
    const client = new RegistryClient({ registry: 'registry.test', repository: 'team/app', insecure: false, fetch: async () => new Response('not found', { status: 404 }) });
    const digest = `sha256:${'a'.repeat(64)}`;
    await expect(client.get('/manifests/1.0')).rejects.toMatchObject({ reasonCode: 'REFERENCE_NOT_FOUND', message: 'registry.test/team/app:1.0 was not found' });
    await expect(client.get(`/manifests/${digest}`)).rejects.toMatchObject({ message: `registry.test/team/app@${digest} was not found` });
    await expect(client.get(`/blobs/${digest}`)).rejects.toMatchObject({ message: `blob ${digest} of registry.test/team/app was not found` });
  });
});

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
