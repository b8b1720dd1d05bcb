import { connect, type AddressInfo, type Socket } from 'node:net';
import { PassThrough, pipeline, Writable, type Readable } from 'node:stream';
import { describe, expect, it, vi } from 'vitest';
import { Registry } from 'prom-client';
import { createLogger } from '@orbit/lib';
import type { UploadRequested } from '@orbit/schemas';
import { buildApp, type GatewayDeps } from './app.js';
import { issueLocalToken, tokenVerifier } from './auth.js';
import type { UploadStore } from './ports.js';

const auth = { secret: 'pace-test-secret-0123456789abcdefgh', issuer: 'orbit-local', audience: 'orbit' };
const token = (): Promise<string> => issueLocalToken(auth, 'dev1', []);
const BOUNDARY = '----orbit-pace-boundary';

/** A gateway whose upload store reads the image as S3's does; `stageDelayMs`: a store slow to start taking it. */
function gateway(pace: Pick<GatewayDeps, 'idleTimeoutMs' | 'minBodyBytesPerSecond' | 'bodyPaceWindowMs'>, stageDelayMs = 0) {
  const lines: Record<string, unknown>[] = [];
  const logger = createLogger({ service: 'test', destination: new Writable({ write(chunk: Buffer, _encoding, done) { lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>); done(); } }) });
  const staged: number[] = [];
  const aborted: string[] = [];
  const published: UploadRequested[] = [];
  const unused = async (): Promise<never> => { throw new Error('not in these tests'); };
  const uploads: UploadStore = {
    async stage(_owner, _uploadId, body: Readable) {
      await new Promise((resolve) => setTimeout(resolve, stageDelayMs));
      let bytes = 0;
      try {
        for await (const chunk of pipeline(body, new PassThrough(), () => undefined)) bytes += (chunk as Buffer).length;
      } catch (error) {
        // What S3's store does when the body fails: its multipart upload is aborted, nothing kept.
        aborted.push(String(error));
        throw error;
      }
      staged.push(bytes);
      return { bucket: 'staging', key: 'k', versionId: null, sizeBytes: bytes, sha256: 'a'.repeat(64) };
    },
    presign: unused, resume: unused, presignedWith: unused, find: unused, abandon: unused, givenUp: unused, discard: async () => undefined,
  };
  const app = buildApp({
    ready: async () => true, metrics: new Registry(), logger, verify: tokenVerifier({ kind: 'hs256', ...auth }), uploads,
    names: { uidFor: async () => 'U'.repeat(60), peek: async () => 'U'.repeat(60) },
    requests: { get: async () => undefined, list: async () => ({ requests: [] }), finishedAmong: async () => new Set() },
    events: { byCorrelationId: async () => [], byImageUID: async () => ({ entries: [] }) },
    publish: { uploadRequested: async (event) => { published.push(event); } },
    maxUploadBytes: 64 * 1024 ** 2, ...pace,
  });
  return { app, lines, staged, aborted, published };
}

/** An upload's head (headers, metadata part, the image part's headers) declaring `imageBytes` of image. */
async function uploadHead(imageBytes: number): Promise<string> {
  const parts = `--${BOUNDARY}\r\nContent-Disposition: form-data; name="metadata"\r\nContent-Type: application/json\r\n\r\n${JSON.stringify({ imageName: 'billing-api', imageVersion: 'v1-0-00' })}\r\n`
    + `--${BOUNDARY}\r\nContent-Disposition: form-data; name="image"; filename="app.tar"\r\nContent-Type: application/x-tar\r\n\r\n`;
  const tail = `\r\n--${BOUNDARY}--\r\n`;
  return `POST /v1/uploads HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${await token()}\r\nContent-Type: multipart/form-data; boundary=${BOUNDARY}\r\n`
    + `Content-Length: ${parts.length + imageBytes + tail.length}\r\n\r\n${parts}`;
}

const TAIL = `\r\n--${BOUNDARY}--\r\n`;

/** What the server sent on `socket` until it closed it (or `withinMs` passed: then `closed` is false). */
function heard(socket: Socket, withinMs: number): Promise<{ text: string; closed: boolean; afterMs: number }> {
  const started = Date.now();
  let text = '';
  socket.on('data', (chunk: Buffer) => { text += chunk.toString(); });
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve({ text, closed: false, afterMs: Date.now() - started }), withinMs);
    socket.once('close', () => {
      clearTimeout(timer);
      resolve({ text, closed: true, afterMs: Date.now() - started });
    });
  });
}

describe('request bodies that stop or trickle', () => {
  it('answers a body that stops with 408 and closes the connection, logged as a timeout, its staging aborted (found by a review: closed with no answer, logged as the client gone)', async () => {
    const { app, lines, staged, aborted, published } = gateway({ idleTimeoutMs: 500 });
    await app.listen({ host: '127.0.0.1', port: 0 });
    const socket = connect((app.server.address() as AddressInfo).port, '127.0.0.1');
    try {
      socket.on('error', () => undefined);
      const answer = heard(socket, 5_000);
      // Content-Length 1000 bytes more than is sent: the client waits, the server waits.
      socket.write(await uploadHead(64 * 1024 + 1000));
      socket.write(Buffer.alloc(64 * 1024, 7));
      const { text, closed, afterMs } = await answer;
      expect(closed).toBe(true);
      expect(afterMs).toBeGreaterThanOrEqual(400);
      expect(text).toMatch(/^HTTP\/1\.1 408 /);
      expect(text.toLowerCase()).toContain('connection: close');
      expect(JSON.parse(text.slice(text.indexOf('\r\n\r\n') + 4))).toMatchObject({ code: 'ORBIT_ERR_BAD_REQUEST', problems: [{ field: 'body', message: 'BODY_IDLE' }] });
      await vi.waitFor(() => expect(aborted).toHaveLength(1));
      await vi.waitFor(() => expect(lines).toContainEqual(expect.objectContaining({ status: 408, reasonCode: 'BODY_IDLE' })));
      expect(lines.map((line) => line['msg'])).not.toContain('client went away before its request was read; nothing was accepted');
      expect(lines.filter((line) => line['status'] === 400 || line['level'] === 'error')).toEqual([]);
      expect([staged, published]).toEqual([[], []]);
    } finally {
      socket.destroy();
      await app.close();
    }
  });

  it('gives up a body that trickles, never idle for the idle timeout, with 408 BODY_TOO_SLOW once a window after the first is under the floor (found by a review: held open for ever)', async () => {
    const { app, lines, staged, aborted, published } = gateway({ idleTimeoutMs: 5_000, minBodyBytesPerSecond: 1024, bodyPaceWindowMs: 300 });
    await app.listen({ host: '127.0.0.1', port: 0 });
    const socket = connect((app.server.address() as AddressInfo).port, '127.0.0.1');
    const trickle = setInterval(() => { if (!socket.destroyed) socket.write(Buffer.alloc(1, 7)); }, 20);
    try {
      socket.on('error', () => undefined);
      const answer = heard(socket, 4_000);
      socket.write(await uploadHead(1_000_000));
      const { text, closed, afterMs } = await answer;
      expect(closed).toBe(true);
      // Not in the first window (a slow start), but in the second.
      expect(afterMs).toBeGreaterThanOrEqual(550);
      expect(afterMs).toBeLessThan(2_000);
      expect(text).toMatch(/^HTTP\/1\.1 408 /);
      expect(JSON.parse(text.slice(text.indexOf('\r\n\r\n') + 4))).toMatchObject({ code: 'ORBIT_ERR_BAD_REQUEST', problems: [{ field: 'body', message: 'BODY_TOO_SLOW' }] });
      await vi.waitFor(() => expect(aborted).toHaveLength(1));
      expect(lines).toContainEqual(expect.objectContaining({ status: 408, reasonCode: 'BODY_TOO_SLOW' }));
      expect([staged, published]).toEqual([[], []]);
    } finally {
      clearInterval(trickle);
      socket.destroy();
      await app.close();
    }
  });

  it('takes a body that keeps above the floor, and one the gateway itself holds back (a store slow to start reading it)', async () => {
    for (const stageDelayMs of [0, 1_200]) {
      const { app, staged, published } = gateway({ idleTimeoutMs: 5_000, minBodyBytesPerSecond: 64 * 1024, bodyPaceWindowMs: 300 }, stageDelayMs);
      await app.listen({ host: '127.0.0.1', port: 0 });
      const socket = connect((app.server.address() as AddressInfo).port, '127.0.0.1');
      try {
        socket.on('error', () => undefined);
        const answer = heard(socket, 6_000);
        const imageBytes = 8 * 64 * 1024;
        socket.write(await uploadHead(imageBytes));
        // Held back by the store, the whole body is sent at once; else 64 KiB every 100 ms, over a second.
        for (let sent = 0; sent < imageBytes; sent += 64 * 1024) {
          socket.write(Buffer.alloc(64 * 1024, 7));
          if (stageDelayMs === 0) await new Promise((resolve) => setTimeout(resolve, 100));
        }
        socket.write(TAIL);
        await vi.waitFor(() => expect(published).toHaveLength(1), { timeout: 5_000 });
        socket.end();
        const { text } = await answer;
        expect(text).toMatch(/^HTTP\/1\.1 202 /);
        expect(staged).toEqual([imageBytes]);
      } finally {
        socket.destroy();
        await app.close();
      }
    }
  });
});
