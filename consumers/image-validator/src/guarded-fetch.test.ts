import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PullRefusedError, RegistryClient } from '@orbit/lib';
import { guardedFetch } from './guarded-fetch.js';
import { connectionPolicy, redirectPolicy } from './redirect-policy.js';

/** Stands for Orbit's own registry on this host: counts what reaches it. */
let ownRegistry: Server;
let port = 0;
let requestsSeen = 0;

beforeAll(async () => {
  ownRegistry = createServer((request, response) => {
    requestsSeen += 1;
    response.writeHead(200, { 'content-type': 'application/vnd.oci.image.manifest.v1+json' }).end('{}');
  });
  await new Promise<void>((listening) => ownRegistry.listen(0, '127.0.0.1', listening));
  port = (ownRegistry.address() as AddressInfo).port;
});
afterAll(() => new Promise<void>((closed) => ownRegistry.close(() => closed())));

/**
 * DNS rebinding: the validator's check asks DNS for `localhost` and hears a
 * public address (the stub), then the connection asks again and reaches
 * 127.0.0.1, where Orbit's own registry answers.
 */
function places() {
  return { own: [`127.0.0.1:${port}/orbit`], resolveHost: async (host: string) => (host === 'localhost' ? ['203.0.113.9'] : []), interfaceAddresses: new Set<string>() };
}

describe('guardedFetch: each connection checked by the address it reached (DNS rebinding)', () => {
  it('refuses a pull whose name passed the check but whose connection reached Orbit\'s own registry, before a request is sent', async () => {
    const registry = `localhost:${port}`;
    await expect(redirectPolicy(places())(new URL(`http://${registry}/v2/team/app/manifests/1`))).resolves.toBeUndefined();
    const unguarded = new RegistryClient({ registry, repository: 'team/app', insecure: true });
    expect((await unguarded.get('/manifests/1')).status).toBe(200);
    const seenBefore = requestsSeen;

    const guarded = new RegistryClient({ registry, repository: 'team/app', insecure: true, fetch: guardedFetch(connectionPolicy(places())) });
    const pulled = guarded.get('/manifests/1');
    await expect(pulled).rejects.toBeInstanceOf(PullRefusedError);
    await expect(pulled).rejects.toMatchObject({ reasonCode: 'REGISTRY_NOT_ALLOWED', message: expect.stringContaining(`connected to 127.0.0.1:${port}`) });
    expect(requestsSeen).toBe(seenBefore);
  });

  it('lets every other connection through, and answers as fetch does', async () => {
    const elsewhere = { ...places(), own: ['127.0.0.1:1/orbit'] };
    const client = new RegistryClient({ registry: `localhost:${port}`, repository: 'team/app', insecure: true, fetch: guardedFetch(connectionPolicy(elsewhere)) });
    const answer = await client.get('/manifests/1');
    expect(answer.status).toBe(200);
    expect(await answer.text()).toBe('{}');
  });

  it('refuses a connection reaching a link-local address, where cloud metadata services answer', async () => {
    const check = connectionPolicy(places());
    await expect(check({ host: 'metadata.example', address: '169.254.169.254', port: 80 })).rejects.toMatchObject({ reasonCode: 'REGISTRY_NOT_ALLOWED' });
    await expect(check({ host: 'metadata.example', address: '::ffff:169.254.169.254', port: 80 })).rejects.toMatchObject({ reasonCode: 'REGISTRY_NOT_ALLOWED' });
    await expect(check({ host: 'cdn.example', address: '203.0.113.7', port: 443 })).resolves.toBeUndefined();
  });
});

describe('a guarded fetch\'s connections', () => {
  it('end when it is closed, not a keep-alive later (a pull\'s pool was left to idle out: a review)', async () => {
    const closedSockets: Promise<void>[] = [];
    const server = createServer((_request, response) => response.writeHead(200, { 'keep-alive': 'timeout=600' }).end('ok'));
    server.on('connection', (socket) => closedSockets.push(new Promise<void>((closed) => socket.once('close', () => closed()))));
    await new Promise<void>((listening) => server.listen(0, '127.0.0.1', listening));
    try {
      const fetch = guardedFetch(async () => undefined);
      expect(await (await fetch(new URL(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`), { headers: {}, signal: AbortSignal.timeout(5_000), redirect: 'manual' })).text()).toBe('ok');
      expect(closedSockets).toHaveLength(1);
      await fetch.close();
      await expect(Promise.race([Promise.all(closedSockets).then(() => 'closed'), new Promise((later) => setTimeout(() => later('still open'), 2_000))])).resolves.toBe('closed');
    } finally {
      server.closeAllConnections();
      await new Promise<void>((closed) => server.close(() => closed()));
    }
  });
});
