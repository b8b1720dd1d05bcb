import { describe, expect, it } from 'vitest';
import { basicAuthorization } from './auth.js';
import { RegistryClient } from './client.js';
import { PullRefusedError, RegistryUnavailableError } from './registry-errors.js';

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
    await expect(client(oauth(true), 'revoked').get('/manifests/1')).rejects.toThrow('the token service the registry named (auth.test) refused the token request (400: invalid_grant) for the identity token');
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

describe('a token service or registry that asks again', () => {
  it('waits out a token service answering 5xx or 429 (restarting, rate limiting): unavailable, so retried, not a refusal', async () => {
    for (const status of [502, 503, 429]) {
      // The registry's own token service (Harbor's /service/token) is quoted, a web page without its markup; one on another host by its status alone.
      for (const [realm, said] of [['https://registry.test/service/token', `token service registry.test: HTTP ${status}: Bad Gateway`], ['https://auth.test/token', `the token service the registry named (auth.test): HTTP ${status}`]] as const) {
        const fake: typeof fetch = async (input) => (String(input).startsWith(realm)
          ? new Response('<html>Bad Gateway</html>', { status })
          : new Response('', { status: 401, headers: { 'www-authenticate': `Bearer realm="${realm}",service="registry.test"` } }));
        const client = new RegistryClient({ registry: 'registry.test', repository: 'team/app', insecure: false, fetch: fake });
        const failure = await client.get('/manifests/1').catch((error: unknown) => error);
        expect(failure).toBeInstanceOf(RegistryUnavailableError);
        expect(failure).toMatchObject({ retriable: true, answered: true });
        expect(((failure as Error).cause as Error).message).toBe(said);
      }
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
    await expect(client.get('/blobs/sha256:00')).rejects.toMatchObject({ reasonCode: 'REGISTRY_ERROR', message: expect.stringMatching(/^reg\.test redirected blob sha256:00 of reg\.test\/team\/app to elsewhere\.test, which refused it \(401\)/) as unknown });
  });
});
