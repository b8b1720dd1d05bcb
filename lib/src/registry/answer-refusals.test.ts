import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { RegistryClient } from './client.js';
import { PullRefusedError, RegistryUnavailableError } from './registry-errors.js';

/** What a refused pull reads as: the refusal's code and message, or the outage's cause. */
async function failureOf(pending: Promise<unknown>): Promise<{ reasonCode?: string; message: string; cause?: string }> {
  const error = await pending.then(() => undefined, (thrown: unknown) => thrown);
  if (error instanceof PullRefusedError) return { reasonCode: error.reasonCode, message: error.message };
  if (error instanceof RegistryUnavailableError) return { message: error.message, cause: (error.cause as Error).message };
  throw new Error(`expected a refusal or an outage, got ${String(error)}`);
}

const servers: Server[] = [];
afterEach(async () => {
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});

/** A local HTTP server; its `host:port`. */
async function listen(handler: (request: IncomingMessage, response: ServerResponse) => void): Promise<string> {
  const server = createServer(handler);
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `127.0.0.1:${(server.address() as AddressInfo).port}`;
}

const specError = (code: string, message: string): string => JSON.stringify({ errors: [{ code, message }] });

function answer(response: ServerResponse, status: number, body: string, headers: Record<string, string> = {}): void {
  response.writeHead(status, { 'content-type': body.startsWith('<') ? 'application/xml' : 'application/json', ...headers });
  response.end(body);
}

const digest = `sha256:${'b'.repeat(64)}`;

describe('a registry that refuses a pull with a 4xx (found by a review: its reason was dropped)', () => {
  const harborPolicy = 'current image with 3 vulnerabilities cannot be pulled due to configured policy in \'Prevent images with vulnerability severity of "Critical" or higher from running.\' '
    + 'To continue with pull, please contact your project administrator to exempt matched vulnerabilities through configuring the CVE allowlist.';

  /** Harbor as it refuses pulls: 412 by project policy, 403 DENIED for a repository Orbit may not read, 404 with the spec's codes. */
  async function harbor(): Promise<string> {
    return listen((request, response) => {
      const path = request.url ?? '';
      if (path.startsWith('/v2/ref/denied/')) return answer(response, 403, specError('DENIED', 'requested access to the resource is denied'));
      if (path.startsWith('/v2/ref/gone/')) return answer(response, 404, specError('NAME_UNKNOWN', 'repository name not known to registry'));
      if (path.endsWith('/manifests/missing')) return answer(response, 404, specError('MANIFEST_UNKNOWN', 'manifest unknown'));
      return answer(response, 412, specError('PRECONDITION', harborPolicy));
    });
  }

  it('quotes a Harbor policy refusal (412), which says what to do, whole', async () => {
    const registry = await harbor();
    const client = new RegistryClient({ registry, repository: 'ref/app', insecure: true });
    expect(await failureOf(client.get('/manifests/v1'))).toEqual({ reasonCode: 'REGISTRY_ERROR', message: `${registry} answered 412 for /manifests/v1: PRECONDITION: ${harborPolicy}` });
  });

  it('quotes a 403 DENIED, and says when Orbit has no credentials for the registry and where to give them', async () => {
    const registry = await harbor();
    const anonymous = new RegistryClient({ registry, repository: 'ref/denied', insecure: true });
    expect(await failureOf(anonymous.get('/manifests/v1'))).toEqual({
      reasonCode: 'REGISTRY_UNAUTHORIZED',
      message: `${registry} refused access to ref/denied (403): DENIED: requested access to the resource is denied; Orbit has no credentials for ${registry}: give them in ORBIT_REGISTRY_CREDENTIALS or ORBIT_REGISTRY_AUTH_FILE`,
    });
    // With credentials, the refusal is theirs to mend: no word of giving some.
    const robot = new RegistryClient({ registry, repository: 'ref/denied', insecure: true, credentials: { username: 'robot', password: 'secret' } });
    expect((await failureOf(robot.get('/manifests/v1'))).message).toBe(`${registry} refused access to ref/denied (403): DENIED: requested access to the resource is denied`);
    // A credential helper not run yet is not run to say why: it may have some.
    const helper = new RegistryClient({ registry, repository: 'ref/denied', insecure: true, credentials: async () => undefined });
    expect((await failureOf(helper.get('/manifests/v1'))).message).toBe(`${registry} refused access to ref/denied (403): DENIED: requested access to the resource is denied`);
  });

  it('tells a repository the registry does not know from a tag it does not have (404)', async () => {
    const registry = await harbor();
    expect(await failureOf(new RegistryClient({ registry, repository: 'ref/gone', insecure: true }).get('/manifests/v1')))
      .toEqual({ reasonCode: 'REFERENCE_NOT_FOUND', message: `${registry}/ref/gone:v1 was not found: NAME_UNKNOWN: repository name not known to registry` });
    expect(await failureOf(new RegistryClient({ registry, repository: 'ref/app', insecure: true }).get('/manifests/missing')))
      .toEqual({ reasonCode: 'REFERENCE_NOT_FOUND', message: `${registry}/ref/app:missing was not found: MANIFEST_UNKNOWN: manifest unknown` });
  });

  it('quotes a hostile registry\'s words bounded and with its control characters escaped: they reach logs and terminals', async () => {
    const registry = await listen((_request, response) => answer(response, 400, specError('UNSUPPORTED', `\u001b]8;;http://evil\u0007click\u001b]8;;\u0007 ${'x'.repeat(5_000)}`)));
    const { message } = await failureOf(new RegistryClient({ registry, repository: 'ref/app', insecure: true }).get('/manifests/v1'));
    expect(message).toMatch(/^127\.0\.0\.1:\d+ answered 400 for \/manifests\/v1: UNSUPPORTED: \\u001b\]8;;http:\/\/evil\\u0007click\\u001b\]8;;\\u0007 x+…$/);
    expect(message.length).toBeLessThan(600);
    // eslint-disable-next-line no-control-regex -- what must not be there
    expect(message).not.toMatch(/[\u0000-\u001f\u007f-\u009f]/);
  });
});

describe('storage a blob redirect points to, refusing (found by a review: the registry was blamed)', () => {
  /** A registry that serves the manifest itself and redirects blobs to `storage`, counting the redirects it hands out. */
  async function redirecting(storage: () => string): Promise<{ registry: string; redirects: () => number }> {
    let redirects = 0;
    const registry = await listen((request, response) => {
      if (request.url?.includes('/blobs/') !== true) return answer(response, 200, '{"schemaVersion":2}');
      redirects += 1;
      response.writeHead(307, { location: `${storage()}/bucket/docker/blobs/${digest}?X-Amz-Expires=1200&X-Amz-Signature=${redirects}` });
      response.end();
    });
    return { registry, redirects: () => redirects };
  }

  const expired = '<?xml version="1.0" encoding="UTF-8"?><Error><Code>AccessDenied</Code><Message>Request has expired</Message></Error>';

  it('calls an expired presigned URL (403) the storage\'s refusal, not the registry\'s nor a credentials problem, after asking for a fresh redirect once', async () => {
    const storage = await listen((_request, response) => answer(response, 403, expired));
    const { registry, redirects } = await redirecting(() => `http://${storage}`);
    const client = new RegistryClient({ registry, repository: 'ref/app', insecure: true });
    await client.get('/manifests/v1');
    const failure = await failureOf(client.get(`/blobs/${digest}`));
    expect(failure.reasonCode).toBe('REGISTRY_ERROR');
    expect(failure.message).toMatch(new RegExp(`^${registry} redirected blob ${digest} of ${registry}/ref/app to ${storage}, which refused it \\(403: AccessDenied\\), with a fresh redirect too: .*expired presigned URL.*not of Orbit's credentials`));
    expect(failure.message).not.toMatch(/refused access/);
    expect(redirects()).toBe(2);
  });

  it('takes the blob when the fresh redirect works (the first URL had expired on the way)', async () => {
    const storage = await listen((request, response) => {
      if (request.url?.endsWith('Signature=1') === true) return answer(response, 403, expired);
      response.end('layer bytes');
    });
    const { registry } = await redirecting(() => `http://${storage}`);
    const answered = await new RegistryClient({ registry, repository: 'ref/app', insecure: true }).get(`/blobs/${digest}`);
    expect(await answered.text()).toBe('layer bytes');
  });

  it('names the storage host and its error code for its other 4xx, and for its 5xx (an outage, waited out), never its message', async () => {
    let status = 400;
    const storage = await listen((_request, response) => answer(response, status, `<Error><Code>${status === 400 ? 'InvalidArgument' : 'SlowDown'}</Code><Message>Only one auth mechanism allowed</Message></Error>`));
    const { registry } = await redirecting(() => `http://${storage}`);
    const client = new RegistryClient({ registry, repository: 'ref/app', insecure: true });
    expect(await failureOf(client.get(`/blobs/${digest}`))).toEqual({
      reasonCode: 'REGISTRY_ERROR', message: `${registry} redirected blob ${digest} of ${registry}/ref/app to ${storage}, which answered 400: InvalidArgument`,
    });
    status = 503;
    expect((await failureOf(client.get(`/blobs/${digest}`))).cause).toBe(`blob ${digest} of ${registry}/ref/app at ${storage}, where ${registry} redirected it: HTTP 503: SlowDown`);
  });

  it('never quotes the words of the host a redirect led to: a redirect to a service inside the network read its answer back (found by a review)', async () => {
    const secret = 'viewport-secret-bucket: 42 objects';
    const answers: [number, string, string][] = [
      [403, `<Error><Code>AccessDenied</Code><Message>${secret}</Message></Error>`, `refused it (403: AccessDenied), with a fresh redirect too`],
      [404, JSON.stringify({ message: `Subject '${secret}' not found.`, error_code: 40401 }), `blob ${digest} of REGISTRY/ref/app was not found at STORAGE, where REGISTRY redirected it`],
      [400, secret, `answered 400`],
    ];
    for (const [status, body, words] of answers) {
      const storage = await listen((_request, response) => answer(response, status, body));
      const { registry } = await redirecting(() => `http://${storage}`);
      const { message } = await failureOf(new RegistryClient({ registry, repository: 'ref/app', insecure: true }).get(`/blobs/${digest}`));
      expect(message).toContain(words.replace(/REGISTRY/g, registry).replace('STORAGE', storage));
      expect(message).not.toContain('viewport-secret-bucket');
    }
  });

  it('names the storage host that does not speak HTTPS, and does not send the registry to ORBIT_INSECURE_REGISTRIES, which it is already in', async () => {
    const plainStorage = await listen((_request, response) => response.end('layer bytes'));
    const { registry } = await redirecting(() => `https://${plainStorage}`);
    const failure = await failureOf(new RegistryClient({ registry, repository: 'ref/app', insecure: true }).get(`/blobs/${digest}`));
    expect(failure.reasonCode).toBe('REGISTRY_ERROR');
    expect(failure.message).toMatch(new RegExp(`^${plainStorage}, where ${registry} sent Orbit, does not speak HTTPS \\(ERR_SSL_WRONG_VERSION_NUMBER\\), though ${registry} named it with https://`));
    expect(failure.message).not.toMatch(/list it in ORBIT_INSECURE_REGISTRIES/);
  });
});

describe('a Bearer registry Orbit has no credentials for (found by a review: it read as wrong credentials)', () => {
  /** A registry behind a token service that gives tokens to `robot:secret` only, as Harbor does for a private project. */
  async function privateRegistry(): Promise<string> {
    let registry = '';
    registry = await listen((request, response) => {
      if (request.url?.startsWith('/token') === true) {
        if (request.headers.authorization === `Basic ${Buffer.from('robot:secret').toString('base64')}`) return answer(response, 200, '{"token":"t"}');
        return answer(response, 401, specError('UNAUTHORIZED', 'authentication required'));
      }
      if (request.headers.authorization === 'Bearer t') return answer(response, 200, '{"schemaVersion":2}');
      answer(response, 401, specError('UNAUTHORIZED', 'authentication required'), { 'www-authenticate': `Bearer realm="http://${registry}/token",service="harbor-registry"` });
    });
    return registry;
  }

  it('says Orbit sent none and where to give them, apart from credentials the token service refused', async () => {
    const registry = await privateRegistry();
    const none = new RegistryClient({ registry, repository: 'team/private', insecure: true });
    expect(await failureOf(none.get('/manifests/v1'))).toEqual({
      reasonCode: 'REGISTRY_UNAUTHORIZED',
      message: `token request to ${registry} failed (401): UNAUTHORIZED: authentication required; Orbit has no credentials for ${registry}: give them in ORBIT_REGISTRY_CREDENTIALS or ORBIT_REGISTRY_AUTH_FILE`,
    });
    // A credential helper that has none for the registry is the same: nothing was sent.
    const helperWithNone = new RegistryClient({ registry, repository: 'team/private', insecure: true, credentials: async () => undefined });
    expect((await failureOf(helperWithNone.get('/manifests/v1'))).message).toMatch(/; Orbit has no credentials for .*ORBIT_REGISTRY_AUTH_FILE$/);
    const wrong = new RegistryClient({ registry, repository: 'team/private', insecure: true, credentials: { username: 'robot', password: 'wrong' } });
    expect(await failureOf(wrong.get('/manifests/v1'))).toEqual({ reasonCode: 'REGISTRY_UNAUTHORIZED', message: `token request to ${registry} failed (401): UNAUTHORIZED: authentication required` });
  });

  it('says the same of a Basic registry', async () => {
    const registry = await listen((_request, response) => answer(response, 401, '', { 'www-authenticate': 'Basic realm="registry"' }));
    expect(await failureOf(new RegistryClient({ registry, repository: 'team/private', insecure: true }).get('/manifests/v1'))).toEqual({
      reasonCode: 'REGISTRY_UNAUTHORIZED', message: `${registry} needs credentials (Basic); Orbit has no credentials for ${registry}: give them in ORBIT_REGISTRY_CREDENTIALS or ORBIT_REGISTRY_AUTH_FILE`,
    });
  });
});

describe('a 404 from the registry', () => {
  it('names what was missing as a person writes it: a tag, a digest, or a blob of the repository (not repo:sha256:…)', async () => {
    // Its text is not quoted: "not found" adds nothing (the tests above have the spec's codes, which are).
    const client = new RegistryClient({ registry: 'registry.test', repository: 'team/app', insecure: false, fetch: async () => new Response('not found', { status: 404 }) });
    const digest = `sha256:${'a'.repeat(64)}`;
    await expect(client.get('/manifests/1.0')).rejects.toMatchObject({ reasonCode: 'REFERENCE_NOT_FOUND', message: 'registry.test/team/app:1.0 was not found' });
    await expect(client.get(`/manifests/${digest}`)).rejects.toMatchObject({ message: `registry.test/team/app@${digest} was not found` });
    await expect(client.get(`/blobs/${digest}`)).rejects.toMatchObject({ message: `blob ${digest} of registry.test/team/app was not found` });
  });
});
