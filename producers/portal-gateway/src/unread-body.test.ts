import { connect, type AddressInfo, type Socket } from 'node:net';
import { Writable } from 'node:stream';
import { describe, expect, it, vi } from 'vitest';
import { Registry } from 'prom-client';
import { createLogger } from '@orbit/lib';
import { buildApp } from './app.js';
import { issueLocalToken, tokenVerifier } from './auth.js';

const auth = { secret: 'unread-test-secret-0123456789abcdefgh', issuer: 'orbit-local', audience: 'orbit' };
const unused = async (): Promise<never> => { throw new Error('not in these tests'); };

/** A gateway with a floor of 1 KiB/s over 300 ms windows, and a long idle timeout: only the floor can end a trickle here. */
function gateway() {
  const lines: Record<string, unknown>[] = [];
  const logger = createLogger({ service: 'test', destination: new Writable({ write(chunk: Buffer, _encoding, done) { lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>); done(); } }) });
  const app = buildApp({
    ready: async () => true, metrics: new Registry(), logger, verify: tokenVerifier({ kind: 'hs256', ...auth }),
    uploads: { stage: unused, presign: unused, resume: unused, presignedWith: unused, find: unused, abandon: unused, givenUp: unused, discard: async () => undefined },
    names: { uidFor: async () => 'U'.repeat(60), peek: async () => 'U'.repeat(60) },
    requests: { get: async () => undefined, list: async () => ({ requests: [] }), finishedAmong: async () => new Set() },
    events: { byCorrelationId: async () => [], byImageUID: async () => ({ entries: [] }) },
    publish: { uploadRequested: async () => undefined },
    maxUploadBytes: 2 * 1024 ** 3, idleTimeoutMs: 20_000, minBodyBytesPerSecond: 1024, bodyPaceWindowMs: 300,
  });
  return { app, lines };
}

/** What the server sent on `socket` until it closed it (or `withinMs` passed: then `closed` is false). */
function heard(socket: Socket, withinMs: number): Promise<{ text: string; closed: boolean; afterMs: number }> {
  const started = Date.now();
  let text = '';
  socket.on('data', (chunk: Buffer) => { text += chunk.toString('latin1'); });
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve({ text, closed: false, afterMs: Date.now() - started }), withinMs);
    socket.once('close', () => {
      clearTimeout(timer);
      resolve({ text, closed: true, afterMs: Date.now() - started });
    });
  });
}

const head = (length: number, authorization = ''): string => `POST /v1/uploads HTTP/1.1\r\nHost: 127.0.0.1\r\n${authorization}`
  + `Content-Type: multipart/form-data; boundary=zzzz\r\nContent-Length: ${length}\r\n\r\n`;

describe('the rest of a body answered before it was read', () => {
  it('is held to the body-pace floor: a trickle after a 401 (no token) or a 413 (declared too large) is cut within a window or two (found by a review: held past 300 s)', async () => {
    for (const authorization of ['', `Authorization: Bearer ${await issueLocalToken(auth, 'dev1', [])}\r\n`]) {
      const { app, lines } = gateway();
      await app.listen({ host: '127.0.0.1', port: 0 });
      const socket = connect((app.server.address() as AddressInfo).port, '127.0.0.1');
      // 50 bytes a second, far under the floor, never silent: what the idle timeout cannot see.
      const trickle = setInterval(() => { if (!socket.destroyed) socket.write('x'); }, 20);
      try {
        socket.on('error', () => undefined);
        const answer = heard(socket, 4_000);
        // 1 GiB declared: within the 2 GiB limit and its discard, over the 2 GiB + 1 MiB a token's upload may send for a 413.
        socket.write(head(authorization === '' ? 1024 ** 3 : 3 * 1024 ** 3, authorization) + '--zzzz\r\n');
        const { text, closed, afterMs } = await answer;
        expect(text).toMatch(authorization === '' ? /^HTTP\/1\.1 401 / : /^HTTP\/1\.1 413 /);
        expect(closed).toBe(true);
        expect(afterMs).toBeLessThan(2_000);
        await vi.waitFor(() => expect(lines).toContainEqual(expect.objectContaining({ status: authorization === '' ? 401 : 413, reasonCode: 'BODY_TOO_SLOW' })));
      } finally {
        clearInterval(trickle);
        socket.destroy();
        await app.close();
      }
    }
  });

  it('is still read and dropped when it comes at speed, so a client that reads only after sending it all (Python\'s requests) reads the 401, and its connection stays open for the next request', async () => {
    const { app, lines } = gateway();
    await app.listen({ host: '127.0.0.1', port: 0 });
    const socket = connect((app.server.address() as AddressInfo).port, '127.0.0.1');
    try {
      socket.on('error', () => undefined);
      const body = Buffer.alloc(16 * 1024 * 1024, 7);
      socket.write(head(body.length));
      const sent = await Promise.race([
        new Promise<boolean>((resolve) => socket.write(body, () => resolve(true))),
        new Promise<boolean>((resolve) => setTimeout(() => resolve(false), 10_000)),
      ]);
      expect(sent).toBe(true);
      const answer = heard(socket, 1_500);
      // Past two windows after the body ended: a watch left running would have closed the idle keep-alive connection.
      const { text, closed } = await answer;
      expect(closed).toBe(false);
      expect(text).toMatch(/^HTTP\/1\.1 401 [\s\S]*ORBIT_ERR_UNAUTHORIZED/);
      const next = heard(socket, 2_000);
      socket.write('GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
      await vi.waitFor(() => expect(lines.some((line) => line['reasonCode'] === 'BODY_TOO_SLOW')).toBe(false));
      socket.end();
      expect((await next).text).toMatch(/^HTTP\/1\.1 200 /);
    } finally {
      socket.destroy();
      await app.close();
    }
  }, 20_000);
});
