import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { EventCodec } from './codec.js';
import { registryEndpoint } from './schema-registry-endpoint.js';

describe('registryEndpoint', () => {
  it('takes the credentials out of a registry URL (Confluent Cloud gives an API key and secret), percent-decoded, and leaves a URL without them as it is', () => {
    expect(registryEndpoint('https://KEY:s%40cr%2Ft@psrc-1.eu-west-1.aws.confluent.cloud/')).toEqual({
      host: 'https://psrc-1.eu-west-1.aws.confluent.cloud',
      auth: { username: 'KEY', password: 's@cr/t' },
      headers: { authorization: `Basic ${Buffer.from('KEY:s@cr/t').toString('base64')}` },
    });
    expect(registryEndpoint('http://127.0.0.1:8081/apis/ccompat/v7')).toEqual({ host: 'http://127.0.0.1:8081/apis/ccompat/v7', headers: {} });
  });

  it('has the codec send them as basic auth, and never in the URL', async () => {
    const seen: { url: string | undefined; authorization: string | undefined }[] = [];
    const server = createServer((request, response) => {
      seen.push({ url: request.url, authorization: request.headers.authorization });
      response.writeHead(401, { 'content-type': 'application/json' }).end(JSON.stringify({ error_code: 40101, message: 'Unauthorized' }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = server.address() as AddressInfo;
      const codec = new EventCodec(`http://orbit:pa%3Ass@127.0.0.1:${port}/base`, new Map());
      await expect(codec.registry.getSchema(1)).rejects.toThrow();
      expect(seen[0]).toEqual({ url: '/base/schemas/ids/1', authorization: `Basic ${Buffer.from('orbit:pa:ss').toString('base64')}` });
    } finally {
      server.close();
    }
  });
});
