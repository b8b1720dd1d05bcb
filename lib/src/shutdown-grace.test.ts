import type { IncomingMessage } from 'node:http';
import { connect, type AddressInfo, type Socket } from 'node:net';
import { Writable } from 'node:stream';
import Fastify, { type FastifyInstance } from 'fastify';
import { describe, expect, it } from 'vitest';
import { createLogger, type Logger } from './logger.js';
import { cutAnswerOf, shutdownGrace, type CutAnswer, type CutRequest } from './shutdown-grace.js';

const capture = (): { logger: Logger; lines: Record<string, unknown>[] } => {
  const lines: Record<string, unknown>[] = [];
  const logger = createLogger({ service: 'test', destination: new Writable({ write(chunk: Buffer, _encoding, done) { lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>); done(); } }) });
  return { logger, lines };
};

const answerCut = ({ bodyArrived }: CutRequest): CutAnswer => ({ code: 'ORBIT_ERR_SHUTDOWN_CUT', message: bodyArrived ? 'may be recorded' : 'nothing was accepted' });

/** A raw client: what it received, and that its connection ended, whatever way. */
function rawClient(port: number): { socket: Socket; received: () => string; ended: Promise<void> } {
  const socket = connect(port, '127.0.0.1');
  let received = '';
  socket.on('data', (chunk: Buffer) => { received += chunk.toString('utf8'); });
  socket.on('error', () => undefined);
  const ended = new Promise<void>((resolve) => socket.on('close', () => resolve()));
  return { socket, received: () => received, ended };
}

/** An upload route that reads its body to the end (however slowly or stalled it comes) and, when its client goes away, cleans up (a staged upload aborted). */
function uploadingApp(): { app: FastifyInstance; cleanedUp: () => boolean } {
  const app = Fastify();
  let cleanedUp = false;
  app.addContentTypeParser('application/octet-stream', (_request, payload, done) => done(null, payload));
  app.addHook('onRequest', async (request, reply) => { void reply.header('x-request-id', request.id); });
  app.post('/v1/uploads', async (request) => {
    try {
      for await (const _chunk of request.body as AsyncIterable<Buffer>) { /* a client that sends its body slowly */ }
      return { accepted: true };
    } catch (error) {
      await new Promise((resolve) => setTimeout(resolve, 50)); // the staged upload aborted
      cleanedUp = true;
      throw error;
    }
  });
  return { app, cleanedUp: () => cleanedUp };
}

describe('shutdownGrace cutting a request', () => {
  it('answers an upload still sending its body 503 with Retry-After, Connection: close and the code, then cuts it and lets its cleanup run (before: the socket closed with no answer)', async () => {
    // 1. An upload whose client keeps sending, slowly, past the grace.
    const { logger, lines } = capture();
    const { app, cleanedUp } = uploadingApp();
    const grace = shutdownGrace(app, { graceMs: 300, logger, settleMs: 1_000, answerCut });
    await app.listen({ port: 0, host: '127.0.0.1' });
    const client = rawClient((app.server.address() as AddressInfo).port);
    await new Promise<void>((resolve) => client.socket.once('connect', () => resolve()));
    client.socket.write('POST /v1/uploads HTTP/1.1\r\nHost: gateway\r\nContent-Type: application/octet-stream\r\nContent-Length: 1000000\r\n\r\nfirst bytes');
    const trickle = setInterval(() => { if (client.socket.writable) client.socket.write(Buffer.alloc(512, 1)); }, 50);
    await new Promise((resolve) => setTimeout(resolve, 100));
    // 2. SIGTERM: the grace runs out with the body still arriving.
    try {
      expect(await grace.close()).toBe(1);
      await client.ended;
    } finally {
      clearInterval(trickle);
    }
    // 3. The client heard a 503 it can retry on, and the route cleaned up.
    const answer = client.received();
    expect(answer).toMatch(/^HTTP\/1\.1 503 /);
    expect(answer).toMatch(/\r\nretry-after: 1\r\n/i);
    expect(answer).toMatch(/\r\nconnection: close\r\n/i);
    // Node dates every answer it writes; this one, written past it, too.
    expect(answer).toMatch(/\r\ndate: [^\r]+ GMT\r\n/i);
    expect(answer).toMatch(/\r\nx-request-id: \S+\r\n/i);
    expect(JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4))).toEqual({ code: 'ORBIT_ERR_SHUTDOWN_CUT', message: 'nothing was accepted', problems: [] });
    expect(answer.match(/HTTP\/1\.1 /g)).toHaveLength(1);
    expect(cleanedUp()).toBe(true);
    expect(lines).toEqual([expect.objectContaining({ level: 'warn', answered503: 1, cut: [expect.objectContaining({ url: '/v1/uploads', bodyArrived: false })] })]);
  });

  it("keeps none of the route's own headers, and answers a HEAD without a body (a chart download's attachment header had the JSON saved as the .tgz)", async () => {
    const { logger } = capture();
    const app = Fastify();
    const requests: IncomingMessage[] = [];
    app.route({
      method: ['GET', 'HEAD'], url: '/chart.tgz', exposeHeadRoute: false,
      handler: async (request, reply) => {
        requests.push(request.raw);
        reply.header('etag', '"abc"').header('content-disposition', 'attachment; filename="c.tgz"').header('x-request-id', 'req-1').header('access-control-allow-origin', '*');
        await new Promise((resolve) => setTimeout(resolve, 5_000));
        return 'chart';
      },
    });
    const grace = shutdownGrace(app, { graceMs: 200, logger, settleMs: 100, answerCut });
    await app.listen({ port: 0, host: '127.0.0.1' });
    const port = (app.server.address() as AddressInfo).port;
    const get = rawClient(port);
    const head = rawClient(port);
    get.socket.write('GET /chart.tgz HTTP/1.1\r\nHost: gateway\r\n\r\n');
    head.socket.write('HEAD /chart.tgz HTTP/1.1\r\nHost: gateway\r\n\r\n');
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(await grace.close()).toBe(2);
    await Promise.all([get.ended, head.ended]);
    for (const answer of [get.received(), head.received()]) {
      expect(answer).toMatch(/^HTTP\/1\.1 503 /);
      expect(answer).toMatch(/\r\nx-request-id: req-1\r\n/i);
      expect(answer).toMatch(/\r\naccess-control-allow-origin: \*\r\n/i);
      expect(answer).not.toMatch(/etag|content-disposition/i);
    }
    expect(get.received().endsWith('}')).toBe(true);
    expect(head.received().endsWith('\r\n\r\n')).toBe(true);
    // What the gateway's error handler and metrics report each of them as (their routes' own answers go nowhere).
    expect(requests.map(cutAnswerOf)).toEqual([{ code: 'ORBIT_ERR_SHUTDOWN_CUT', message: 'may be recorded' }, { code: 'ORBIT_ERR_SHUTDOWN_CUT', message: 'may be recorded' }]);
  });

  it('only cuts a request whose answer has begun: nothing is written into it', async () => {
    const { logger } = capture();
    const app = Fastify();
    let streamed: IncomingMessage | undefined;
    app.get('/stream', async (request, reply) => {
      streamed = request.raw;
      reply.raw.writeHead(200, { 'content-type': 'text/plain' });
      reply.raw.write('first line\n');
      await new Promise((resolve) => setTimeout(resolve, 5_000));
      return reply;
    });
    const grace = shutdownGrace(app, { graceMs: 200, logger, settleMs: 100, answerCut });
    await app.listen({ port: 0, host: '127.0.0.1' });
    const client = rawClient((app.server.address() as AddressInfo).port);
    client.socket.write('GET /stream HTTP/1.1\r\nHost: gateway\r\n\r\n');
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(await grace.close()).toBe(1);
    await client.ended;
    expect(client.received()).toMatch(/^HTTP\/1\.1 200 /);
    expect(client.received()).not.toContain('503');
    expect(streamed === undefined ? 'its route never ran' : cutAnswerOf(streamed)).toBeUndefined();
  });

  it('closes an idle keep-alive connection at once, without an answer nobody asked for', async () => {
    const { logger, lines } = capture();
    const app = Fastify();
    app.get('/quick', async () => ({ ok: true }));
    const grace = shutdownGrace(app, { graceMs: 5_000, logger, answerCut });
    await app.listen({ port: 0, host: '127.0.0.1' });
    const client = rawClient((app.server.address() as AddressInfo).port);
    client.socket.write('GET /quick HTTP/1.1\r\nHost: gateway\r\n\r\n');
    await new Promise((resolve) => setTimeout(resolve, 100));
    const began = Date.now();
    expect(await grace.close()).toBe(0);
    await client.ended;
    expect(Date.now() - began).toBeLessThan(1_000);
    expect(client.received().match(/HTTP\/1\.1 /g)).toHaveLength(1);
    expect(lines).toEqual([]);
  });
});

describe('shutdownGrace without an answer for cut requests', () => {
  const stalledUpload = async (graceMs: number) => {
    const { logger, lines } = capture();
    const { app, cleanedUp } = uploadingApp();
    app.get('/quick', async () => ({ ok: true }));
    const grace = shutdownGrace(app, { graceMs, logger, settleMs: 1_000 });
    await app.listen({ port: 0, host: '127.0.0.1' });
    const { port } = app.server.address() as AddressInfo;
    const socket = connect(port, '127.0.0.1');
    socket.on('error', () => undefined);
    await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
    socket.write('POST /v1/uploads?part=1 HTTP/1.1\r\nHost: gateway\r\nContent-Type: application/octet-stream\r\nContent-Length: 1000000\r\n\r\nfirst bytes');
    expect((await fetch(`http://127.0.0.1:${port}/quick`)).status).toBe(200);
    await new Promise((resolve) => setTimeout(resolve, 100));
    return { grace, lines, cleanedUp };
  };

  it('cuts a stalled upload once the grace is over, naming it, and lets its cleanup run before returning', async () => {
    const { grace, lines, cleanedUp } = await stalledUpload(300);
    const began = Date.now();
    expect(await grace.close()).toBe(1);
    expect(Date.now() - began).toBeLessThan(1_500);
    expect(cleanedUp()).toBe(true);
    expect(lines).toEqual([expect.objectContaining({
      level: 'warn', graceSeconds: 0.3, cut: [expect.objectContaining({ method: 'POST', url: '/v1/uploads', requestId: expect.any(String), runningSeconds: 0 })],
    })]);
  });

  it('cuts nothing when every request finishes within the grace', async () => {
    const { logger, lines } = capture();
    const app = Fastify();
    app.get('/quick', async () => ({ ok: true }));
    const grace = shutdownGrace(app, { graceMs: 5_000, logger });
    await app.listen({ port: 0, host: '127.0.0.1' });
    const { port } = app.server.address() as AddressInfo;
    expect((await fetch(`http://127.0.0.1:${port}/quick`)).status).toBe(200);
    expect(await grace.close()).toBe(0);
    expect(lines).toEqual([]);
  });
});
