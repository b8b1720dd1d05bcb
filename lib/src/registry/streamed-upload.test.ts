import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { RegistryClient } from './client.js';
import { RegistryUnavailableError } from './registry-errors.js';

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
