import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../logger.js';
import { RegistryClient } from './client.js';
import { OCI_MANIFEST_TYPE, sha256Of } from './image-manifest.js';
import { RegistryPush, tagManifest } from './push.js';

const ours = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: OCI_MANIFEST_TYPE, config: { digest: `sha256:${'1'.repeat(64)}` }, layers: [] }));
const theirs = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: OCI_MANIFEST_TYPE, config: { digest: `sha256:${'2'.repeat(64)}` }, layers: [] }));

/**
 * A registry (registry.access.redhat.com, some proxies) whose manifest
 * answers carry no Docker-Content-Digest, holding `tagged` under its tags;
 * it notes each manifest PUT.
 */
function withoutDigestHeader(tagged: Record<string, Buffer>): { push: RegistryPush; puts: string[] } {
  const puts: string[] = [];
  const client = new RegistryClient({
    registry: 'registry.test', repository: 'team/app', insecure: false,
    fetch: async (input, init) => {
      const reference = /\/manifests\/(.+)$/.exec(String(input))?.[1] ?? '';
      if (init.method === 'PUT') {
        puts.push(reference);
        return new Response(null, { status: 201 });
      }
      const bytes = tagged[reference];
      if (bytes === undefined) return new Response(null, { status: 404 });
      return new Response(init.method === 'HEAD' ? null : bytes, { headers: { 'content-type': OCI_MANIFEST_TYPE, 'content-length': String(bytes.length) } });
    },
  });
  return { push: new RegistryPush(client, 'registry.test'), puts };
}

function recordingLogger(): { log: ReturnType<typeof createLogger>; messages: string[] } {
  const messages: string[] = [];
  const log = createLogger({ service: 'test', destination: new Writable({ write(chunk: Buffer, _encoding, done) { messages.push(String((JSON.parse(chunk.toString()) as { msg?: unknown }).msg)); done(); } }) });
  return { log, messages };
}

describe('tagManifest at a registry that answers a manifest HEAD without its digest', () => {
  it('counts a tag already naming the very manifest as done: nothing put, nothing warned', async () => {
    const { push, puts } = withoutDigestHeader({ '1.0.0': ours });
    const { log, messages } = recordingLogger();
    expect(await tagManifest(push, { name: 'registry.test/team/app', tags: ['1.0.0'] }, sha256Of(ours), async () => ours, log)).toBe('1.0.0');
    expect(puts).toEqual([]);
    expect(messages).toEqual([]);
  });

  it('still leaves a tag naming another manifest to it, saying so, and takes the next free tag', async () => {
    const { push, puts } = withoutDigestHeader({ '1.0.0': theirs });
    const { log, messages } = recordingLogger();
    expect(await tagManifest(push, { name: 'registry.test/team/app', tags: ['1.0.0', '1.0.0-2'] }, sha256Of(ours), async () => ours, log)).toBe('1.0.0-2');
    expect(puts).toEqual(['1.0.0-2']);
    expect(messages).toEqual(['the tag already names another manifest; left as it is']);
  });
});

describe('a blob upload at a registry whose Location is relative', () => {
  it('follows each Location from the URL that gave it (RFC 3986): an absolute path outside /v2/, then a bare name', async () => {
    const asked: string[] = [];
    const server = createServer((request, response) => {
      asked.push(`${request.method ?? ''} ${request.url ?? ''}`);
      request.resume();
      request.on('end', () => {
        if (request.method === 'POST') response.writeHead(202, { location: '/upload/session?state=1' });
        else if (request.method === 'PATCH') response.writeHead(202, { location: 'next?state=2' });
        else response.writeHead(201);
        response.end();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const registry = `127.0.0.1:${(server.address() as AddressInfo).port}`;
      const push = new RegistryPush(new RegistryClient({ registry, repository: 'team/app', insecure: true }), registry);
      const blob = Buffer.from('layer bytes');
      expect(await push.sendBlob([blob], blob.length, { digest: sha256Of(blob) })).toBe(sha256Of(blob));
      expect(asked).toEqual(['POST /v2/team/app/blobs/uploads/', 'PATCH /upload/session?state=1', `PUT /upload/next?state=2&digest=${encodeURIComponent(sha256Of(blob))}`]);
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('sends no bytes to a Location from HTTPS down to plain HTTP', async () => {
    const methods: string[] = [];
    const client = new RegistryClient({
      registry: 'registry.test', repository: 'team/app', insecure: false,
      fetch: async (_input, init) => {
        methods.push(init.method ?? 'GET');
        return new Response(null, { status: 202, headers: { location: 'http://registry.test/v2/team/app/blobs/uploads/1' } });
      },
    });
    const blob = Buffer.from('layer bytes');
    await expect(new RegistryPush(client, 'registry.test').sendBlob([blob], blob.length, { digest: sha256Of(blob) }))
      .rejects.toThrow(/sent an upload from HTTPS to plain HTTP \(registry\.test\)/);
    expect(methods).toEqual(['POST']);
  });
});
