import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { RegistryAdmin } from './registry-admin.js';

describe('RegistryAdmin against a registry that wants credentials', () => {
  it('sends the URL\'s credentials as basic auth (fetch refuses a URL holding them, so provisioning a Confluent Cloud registry failed)', async () => {
    const seen: { url: string | undefined; authorization: string | undefined }[] = [];
    const server = createServer((request, response) => {
      seen.push({ url: request.url, authorization: request.headers.authorization });
      response.writeHead(200, { 'content-type': 'application/json' }).end('["orbit.upload.requested-value"]');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = server.address() as AddressInfo;
      expect(await new RegistryAdmin(`http://KEY:SE%2FCRET@127.0.0.1:${port}/base/`).subjects()).toEqual(['orbit.upload.requested-value']);
      expect(seen).toEqual([{ url: '/base/subjects', authorization: `Basic ${Buffer.from('KEY:SE/CRET').toString('base64')}` }]);
    } finally {
      server.close();
    }
  });
});

describe('RegistryAdmin against a registry that takes a request and never answers', () => {
  it('gives the call up after its timeout and tries it again (a silent registry held a CI run\'s schema test for 120 s)', async () => {
    let requests = 0;
    const server = createServer((request, response) => {
      requests += 1;
      if (requests === 1) return; // taken, never answered
      response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ id: 7 }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = server.address() as AddressInfo;
      const admin = new RegistryAdmin(`http://127.0.0.1:${port}`, { callTimeoutMs: 300 });
      expect(await admin.register('orbit.test-value', { type: 'record', name: 'T', fields: [] })).toEqual({ id: 7, created: false });
      expect(requests).toBe(2);
    } finally {
      server.closeAllConnections();
      server.close();
    }
  });
});
