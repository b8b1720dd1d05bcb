import { createServer, type Server } from 'node:http';
import { getEventListeners } from 'node:events';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { RegistryClient } from './client.js';
import { RegistryUnavailableError } from './registry-errors.js';

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
