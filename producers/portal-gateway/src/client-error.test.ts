import { connect, type AddressInfo } from 'node:net';
import { Registry } from 'prom-client';
import { EventEmitter } from 'node:events';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { buildApp } from './app.js';
import { answerClientError, awaitingAnswer } from './client-error.js';

const app = buildApp({ ready: async () => true, metrics: new Registry() });
let port = 0;
beforeAll(async () => {
  await app.listen({ host: '127.0.0.1', port: 0 });
  port = (app.server.address() as AddressInfo).port;
});
afterAll(async () => app.close());

/** Sends raw bytes and reads the whole answer, until the gateway closes the connection. */
async function raw(request: string): Promise<{ status: number; body: unknown }> {
  const text = await rawText(request);
  return { status: Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1]), body: JSON.parse(text.slice(text.indexOf('\r\n\r\n') + 4)) as unknown };
}

async function rawText(request: string): Promise<string> {
  const socket = connect(port, '127.0.0.1');
  const chunks: Buffer[] = [];
  socket.on('data', (chunk: Buffer) => chunks.push(chunk));
  socket.on('error', () => undefined);
  socket.write(request);
  await new Promise((resolve) => socket.once('close', resolve));
  return Buffer.concat(chunks).toString('utf8');
}

describe('requests Node\'s HTTP parser refuses (found by a probe)', () => {
  it('answers with the reason phrase and the Date header Node gives every other answer', async () => {
    const text = await rawText(`GET /healthz HTTP/1.1\r\nHost: x\r\nX-Pad: ${'a'.repeat(20_000)}\r\n\r\n`);
    expect(text.startsWith('HTTP/1.1 431 Request Header Fields Too Large\r\n')).toBe(true);
    expect(text).toMatch(/\r\nDate: [^\r]+ GMT\r\n/);
  });

  it('answers them in Orbit\'s shape, with a code and a reason, and closes the connection', async () => {
    const badChunk = await raw('POST /v1/uploads HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Type: application/json\r\n\r\nzz\r\n{}\r\n0\r\n\r\n');
    expect(badChunk).toEqual({ status: 400, body: { code: 'ORBIT_ERR_BAD_REQUEST', message: expect.stringContaining('HPE_INVALID_CHUNK_SIZE') as unknown, problems: [] } });
    const both = await raw('POST /v1/uploads HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n');
    expect(both).toEqual({ status: 400, body: { code: 'ORBIT_ERR_BAD_REQUEST', message: expect.stringContaining('both Content-Length and Transfer-Encoding') as unknown, problems: [] } });
    const huge = await raw(`GET /healthz HTTP/1.1\r\nHost: x\r\nX-Pad: ${'a'.repeat(20_000)}\r\n\r\n`);
    expect(huge).toEqual({ status: 431, body: { code: 'ORBIT_ERR_BAD_REQUEST', message: expect.stringContaining('headers are over the size limit') as unknown, problems: [] } });
  });

  it('answers a request already read before the bad one that follows it on the connection, in order (found by a review: a pipelined upload got the 400 and was accepted all the same)', async () => {
    const socket = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('error', () => undefined);
    // One write: the parser reads the GET, hands it over, and meets the garbage before the GET is answered.
    socket.write('GET /healthz HTTP/1.1\r\nHost: x\r\n\r\nNOT HTTP AT ALL\r\n\r\n');
    await new Promise((resolve) => socket.once('close', resolve));
    const answers = Buffer.concat(chunks).toString('utf8').split(/(?=HTTP\/1\.1 \d{3} )/);
    expect(answers.map((answer) => Number(/^HTTP\/1\.1 (\d{3})/.exec(answer)?.[1]))).toEqual([200, 400]);
    expect(answers[1]).toContain('ORBIT_ERR_BAD_REQUEST');
  });

  it('holds one refusal per connection and stops reading it, however many chunks the broken parser fails on again (found by a review: 1.2 GiB held)', () => {
    const socket = Object.assign(new EventEmitter(), { destroyed: false, writable: true, pause: vi.fn(), write: vi.fn(), destroy: vi.fn() });
    const response = new EventEmitter();
    awaitingAnswer({ socket, complete: true } as unknown as IncomingMessage, response as unknown as ServerResponse);
    for (let chunk = 0; chunk < 3; chunk++) answerClientError(Object.assign(new Error('Parse Error'), { code: 'HPE_INVALID_METHOD' }), socket as unknown as Socket);
    expect([socket.pause.mock.calls.length, socket.write.mock.calls.length]).toEqual([1, 0]);
    response.emit('close');
    expect([socket.write.mock.calls.length, socket.destroy.mock.calls.length]).toEqual([1, 1]);
  });
});
