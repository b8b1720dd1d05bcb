import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import avro from 'avsc';
import { afterEach, describe, expect, it } from 'vitest';
import { EventCodec } from './codec.js';
import { EncodeError, StoreUnavailableError } from './errors.js';

const topic = 'test.codec.silent';
const schema = { type: 'record', name: 'Silent', fields: [{ name: 'a', type: 'string' }] };
const servers: ReturnType<typeof createServer>[] = [];

/** A registry that takes every request and never answers it: the sockets stay open until the test closes them. */
async function silentRegistry(): Promise<{ url: string; requests: () => number }> {
  let requests = 0;
  const held: ServerResponse<IncomingMessage>[] = [];
  const server = createServer((_request, response) => {
    requests += 1;
    held.push(response);
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, requests: () => requests };
}

afterEach(() => {
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    server.close();
  }
});

/** What a Confluent serializer writes: magic byte, schema id, body. */
function wireValue(schemaId: number): Buffer {
  const value = Buffer.alloc(6);
  value.writeInt32BE(schemaId, 1);
  return value;
}

/** A registry that takes its first request and never answers it, then answers schema 7 as the Confluent API does. */
async function registryHangingOnce(): Promise<{ url: string; requests: () => number }> {
  let requests = 0;
  const server = createServer((_request, response) => {
    requests += 1;
    if (requests === 1) return;
    response.writeHead(200, { 'content-type': 'application/vnd.schemaregistry.v1+json' }).end(JSON.stringify({ schema: JSON.stringify(schema) }));
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, requests: () => requests };
}

describe('EventCodec against a registry that never answers', () => {
  it('asks again when one request goes unanswered (found by the clean-clone CI: Apicurio logged a registration as answered and never sent it)', async () => {
    const registry = await registryHangingOnce();
    const codec = new EventCodec(registry.url, new Map([[topic, schema]]), { requestTimeoutMs: 200 });
    const value = Buffer.concat([wireValue(7).subarray(0, 5), avro.Type.forSchema(schema as avro.Schema).toBuffer({ a: 'x' })]);
    expect(await codec.decode(topic, value)).toEqual({ a: 'x' });
    expect(registry.requests()).toBe(2);
  }, 10_000);

  it('gives up on a schema lookup after its request timeout, as a retriable registry outage, instead of holding the consume loop', async () => {
    const registry = await silentRegistry();
    const codec = new EventCodec(registry.url, new Map([[topic, schema]]), { requestTimeoutMs: 200 });
    const started = Date.now();
    const refused = await codec.decode(topic, wireValue(7)).then(() => undefined, (error: unknown) => error);
    expect(refused).toBeInstanceOf(StoreUnavailableError);
    expect(refused).toMatchObject({ code: 'ORBIT_ERR_STORE_UNAVAILABLE', retriable: true });
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(registry.requests()).toBeGreaterThanOrEqual(1);
  }, 10_000);

  it('gives up on the writer id of an event it encodes the same way, and asks again on the next encode', async () => {
    const registry = await silentRegistry();
    const codec = new EventCodec(registry.url, new Map([[topic, schema]]), { requestTimeoutMs: 200 });
    await expect(codec.encode(topic, { a: 'x' })).rejects.toBeInstanceOf(StoreUnavailableError);
    const before = registry.requests();
    await expect(codec.encode(topic, { a: 'x' })).rejects.toBeInstanceOf(StoreUnavailableError);
    expect(registry.requests()).toBeGreaterThan(before);
  }, 10_000);
});

describe('EventCodec.encode of text that is not well-formed Unicode (found by a review: a Python subscriber could not decode orbit.image.validated)', () => {
  const facts = {
    type: 'record', name: 'Facts', fields: [
      { name: 'a', type: 'string' },
      { name: 'env', type: { type: 'array', items: 'string' } },
      { name: 'labels', type: { type: 'map', values: 'string' } },
    ],
  };

  /** A registry that answers every lookup with schema id 7, counting the requests. */
  async function answeringRegistry(): Promise<{ url: string; requests: () => number }> {
    let requests = 0;
    const server = createServer((_request, response) => {
      requests += 1;
      response.writeHead(200, { 'content-type': 'application/vnd.schemaregistry.v1+json' }).end(JSON.stringify({ subject: `${topic}-value`, id: 7, version: 1, schema: JSON.stringify(facts) }));
    });
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, requests: () => requests };
  }

  it('avsc alone writes a lone surrogate in a short string as bytes that are not UTF-8 (ED A0 80): what the guard keeps out', () => {
    const body = avro.Type.forSchema({ type: 'string' }).toBuffer('h\uD800i');
    expect(body.includes(Buffer.from([0xed, 0xa0, 0x80]))).toBe(true);
  });

  it('refuses, naming the field, an array item or a map key; and asks the registry nothing', async () => {
    const registry = await answeringRegistry();
    const codec = new EventCodec(registry.url, new Map([[topic, facts]]), { requestTimeoutMs: 2_000 });
    const cases: [object, string][] = [
      [{ a: 'h\uD800i', env: [], labels: {} }, 'a holds text that is not well-formed Unicode'],
      [{ a: 'x', env: ['A=1', 'GREETING=h\uDC00i'], labels: {} }, 'env.1 holds text that is not well-formed Unicode'],
      [{ a: 'x', env: [], labels: { title: 'x'.repeat(100) + '\uD800' } }, 'labels.title holds'],
      [{ a: 'x', env: [], labels: { 'x\uDC00y': 'v' } }, 'a key of labels holds'],
    ];
    for (const [event, named] of cases) {
      const refused = await codec.encode(topic, event).then(() => undefined, (error: unknown) => error);
      expect(refused).toBeInstanceOf(EncodeError);
      expect(refused).toMatchObject({ code: 'ORBIT_ERR_ENCODE', retriable: false });
      const cause = (refused as Error).cause as Error;
      expect(cause.message).toContain(named);
      expect(cause.message).not.toMatch(/[\uD800-\uDFFF]/);
    }
    expect(registry.requests()).toBe(0);
  }, 10_000);

  it('writes well-formed text of every kind as UTF-8 that decodes back the same', async () => {
    const registry = await answeringRegistry();
    const codec = new EventCodec(registry.url, new Map([[topic, facts]]), { requestTimeoutMs: 2_000 });
    const event = { a: 'Zoë \uD83D\uDC33 Be\u0301la \uFFFD', env: ['EMOJI=\uD83D\uDC33'], labels: { '名前': 'イメージ' } };
    const value = await codec.encode(topic, event);
    expect(value.readInt32BE(1)).toBe(7);
    expect(new TextDecoder('utf-8', { fatal: true }).decode(value.subarray(5))).toContain('\uD83D\uDC33');
    expect(avro.Type.forSchema(facts as avro.Schema).fromBuffer(value.subarray(5))).toEqual(event);
  }, 10_000);
});
