import { describe, expect, it } from 'vitest';
import { localHttpServers, notHttpListener } from '../../../test/helpers/local-http-servers.js';
import { freePort } from '../../../test/helpers/ports.js';
import { causeMessagesOf } from '../error-description.js';
import { RegistryClient } from './client.js';
import { PullRefusedError, RegistryUnavailableError } from './registry-errors.js';

describe('a registry that redirects blobs to object storage', () => {
  const listen = localHttpServers();

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

describe('a redirect to a URL holding credentials (a bug reread: read as the registry not answering)', () => {
  it('is refused REGISTRY_ERROR naming its host only', async () => {
    const fake: typeof fetch = async () => new Response(null, { status: 307, headers: { location: 'https://user:secret@storage.test/blob' } });
    const client = new RegistryClient({ registry: 'registry.test', repository: 'team/app', insecure: false, fetch: fake });
    const failure = await client.get('/blobs/sha256:00').catch((error: unknown) => error);
    expect(failure).toMatchObject({ reasonCode: 'REGISTRY_ERROR', message: 'registry.test redirected to a URL on storage.test with credentials in it; Orbit does not go there' });
  });
});

describe('a redirect to a host that cannot be reached (found by a review: the socket error mapped ports inside the network)', () => {
  const listen = localHttpServers();
  /** Every message down the cause chain, as the upload's owner reads it. */

  it('says only that the storage could not be reached, for a closed port and for a service that speaks no HTTP', async () => {
    const closed = `127.0.0.1:${await freePort()}`;
    // As Redis or Kafka answer a stray HTTP request: not HTTP, then the connection closed.
    const notHttp = await notHttpListener();
    const notHttpAt = notHttp.address;
    try {
      for (const storage of [closed, notHttpAt]) {
        const registry = await listen((_request, response) => response.writeHead(307, { location: `http://${storage}/bucket/blob` }).end());
        const failure = await new RegistryClient({ registry, repository: 'team/app', insecure: true }).get('/blobs/sha256:00').catch((error: unknown) => error);
        expect(failure).toBeInstanceOf(RegistryUnavailableError);
        expect(failure).toMatchObject({ answered: true });
        expect(causeMessagesOf(failure)).toBe(`registry ${registry} is unavailable: could not reach the storage the registry named (${storage})`);
      }
    } finally {
      await notHttp.close();
    }
    // The registry the reference names is the user's own: how its connection failed is theirs to read.
    const unreached = await new RegistryClient({ registry: closed, repository: 'team/app', insecure: true }).get('/blobs/sha256:00').catch((error: unknown) => error);
    expect(causeMessagesOf(unreached)).toContain(`ECONNREFUSED ${closed}`);
  });
});
