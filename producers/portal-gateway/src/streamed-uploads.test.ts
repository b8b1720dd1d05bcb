import { connect, type AddressInfo, type Socket } from 'node:net';
import { PassThrough, pipeline, type Readable } from 'node:stream';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { Registry } from 'prom-client';
import type { FastifyInstance } from 'fastify';
import { buildApp, type GatewayDeps } from './app.js';
import { issueLocalToken, tokenVerifier } from './auth.js';
import { RequestDeferredError } from './errors.js';
import type { UploadStore } from './ports.js';
import { instrumentStreamedUploads, StreamedUploads, STREAMED_RETRY_AFTER_SECONDS } from './streamed-uploads.js';

const auth = { secret: 'streamed-test-secret-0123456789abcdef', issuer: 'orbit-local', audience: 'orbit' };
const BOUNDARY = '----orbit-streamed-boundary';
const TAIL = `\r\n--${BOUNDARY}--\r\n`;

describe('StreamedUploads', () => {
  it('refuses an owner past their limit and everyone past the total, 429 with Retry-After; a slot given back twice counts once', () => {
    const slots = new StreamedUploads({ perOwner: 2, total: 3 });
    const first = slots.take('dev1');
    slots.take('dev1');
    const refusedOwn = (() => { try { slots.take('dev1'); } catch (error) { return error; } return undefined; })();
    expect(refusedOwn).toBeInstanceOf(RequestDeferredError);
    expect(refusedOwn).toMatchObject({ statusCode: 429, code: 'ORBIT_ERR_STREAMED_UPLOADS_PENDING', retryAfterSeconds: STREAMED_RETRY_AFTER_SECONDS });
    slots.take('dev2');
    expect(() => slots.take('dev3')).toThrow(expect.objectContaining({ statusCode: 429, code: 'ORBIT_ERR_GATEWAY_UPLOADS_FULL' }) as Error);
    first();
    first();
    expect([slots.streaming(), slots.streaming('dev1')]).toEqual([2, 1]);
    slots.take('dev3');
    expect(() => slots.take('dev4')).toThrow(/every caller's together/);
  });
});

/** A gateway whose store reads each staged image as S3's would (failing, as it aborts, when the body does); limits as given. */
function gateway(limits: Pick<GatewayDeps, 'maxStreamedUploadsPerOwner' | 'maxStreamedUploads'>, verifyDelay: () => number = () => 0) {
  const stagings: string[] = [];
  const aborted: string[] = [];
  const staged: number[] = [];
  const unused = async (): Promise<never> => { throw new Error('not in these tests'); };
  const verifyTokens = tokenVerifier({ kind: 'hs256', ...auth });
  const uploads: UploadStore = {
    async stage(owner, _uploadId, body: Readable) {
      stagings.push(owner);
      let bytes = 0;
      try {
        for await (const chunk of pipeline(body, new PassThrough(), () => undefined)) bytes += (chunk as Buffer).length;
      } catch (error) {
        aborted.push(owner);
        throw error;
      }
      staged.push(bytes);
      return { bucket: 'staging', key: 'k', versionId: null, sizeBytes: bytes, sha256: 'a'.repeat(64) };
    },
    presign: async () => ({ method: 'PUT', url: 'https://staging.example/put', headers: {}, expiresAt: new Date(Date.now() + 3_600_000).toISOString() }),
    resume: unused, presignedWith: unused, find: unused, abandon: unused, givenUp: unused, discard: async () => undefined,
  };
  const app = buildApp({
    ready: async () => true, metrics: new Registry(), uploads,
    verify: async (header) => {
      const caller = await verifyTokens(header);
      await new Promise((resolve) => setTimeout(resolve, verifyDelay()));
      return caller;
    },
    names: { uidFor: async () => 'U'.repeat(60), peek: async () => 'U'.repeat(60) },
    requests: { get: async () => undefined, list: async () => ({ requests: [] }), finishedAmong: async () => new Set() },
    events: { byCorrelationId: async () => [], byImageUID: async () => ({ entries: [] }) },
    publish: { uploadRequested: async () => undefined },
    maxUploadBytes: 64 * 1024 ** 2, idleTimeoutMs: 10_000, ...limits,
  });
  return { app, stagings, aborted, staged };
}

/** An upload's request head and parts up to its image's bytes, declaring `imageBytes` of image; `imageName` lets one be refused. */
async function uploadHead(user: string, imageBytes: number, imageName = 'billing-api'): Promise<string> {
  const parts = `--${BOUNDARY}\r\nContent-Disposition: form-data; name="metadata"\r\nContent-Type: application/json\r\n\r\n${JSON.stringify({ imageName, imageVersion: 'v1-0-00' })}\r\n`
    + `--${BOUNDARY}\r\nContent-Disposition: form-data; name="image"; filename="app.tar"\r\nContent-Type: application/x-tar\r\n\r\n`;
  return `POST /v1/uploads HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${await issueLocalToken(auth, user, [])}\r\n`
    + `Content-Type: multipart/form-data; boundary=${BOUNDARY}\r\nContent-Length: ${parts.length + imageBytes + TAIL.length}\r\n\r\n${parts}`;
}

/** A connection to the gateway, and everything it answered on it so far. */
interface Talk {
  readonly socket: Socket;
  readonly heard: () => string;
  readonly closed: Promise<void>;
}

const open: Socket[] = [];
afterEach(() => { for (const socket of open.splice(0)) socket.destroy(); });

/** The gateway closed once every connection to it is: close waits for requests under way. */
async function closeAll(app: FastifyInstance): Promise<void> {
  for (const socket of open.splice(0)) socket.destroy();
  await app.close();
}

function talk(app: FastifyInstance): Talk {
  const socket = connect((app.server.address() as AddressInfo).port, '127.0.0.1');
  open.push(socket);
  socket.on('error', () => undefined);
  let text = '';
  socket.on('data', (chunk: Buffer) => { text += chunk.toString('latin1'); });
  return { socket, heard: () => text, closed: new Promise((resolve) => socket.once('close', () => resolve())) };
}

/** An upload begun and held: its head and 64 KiB of its 1 MiB image sent, and its staging under way. */
async function heldUpload(app: FastifyInstance, stagings: readonly string[], user: string): Promise<Talk> {
  const before = stagings.length;
  const held = talk(app);
  held.socket.write(await uploadHead(user, 1024 * 1024));
  held.socket.write(Buffer.alloc(64 * 1024, 7));
  await vi.waitFor(() => expect(stagings.length).toBe(before + 1));
  return held;
}

/** A whole upload of `user`'s, sent and answered: its status line and JSON body. */
async function wholeUpload(app: FastifyInstance, user: string, imageName?: string): Promise<{ status: number; code?: string; retryAfter?: string }> {
  const sent = talk(app);
  sent.socket.write(await uploadHead(user, 1000, imageName));
  sent.socket.write(Buffer.alloc(1000, 7));
  sent.socket.write(TAIL);
  await vi.waitFor(() => expect(sent.heard()).toMatch(/\r\n\r\n\{[\s\S]*\}$/));
  return answerOf(sent.heard());
}

function answerOf(text: string): { status: number; code?: string; retryAfter?: string } {
  const status = Number(/^HTTP\/1\.1 (\d+)/.exec(text)?.[1]);
  const retryAfter = /\r\nretry-after: (\d+)/i.exec(text)?.[1];
  const body = JSON.parse(text.slice(text.indexOf('\r\n\r\n') + 4)) as { code?: string };
  return { status, ...(body.code === undefined ? {} : { code: body.code }), ...(retryAfter === undefined ? {} : { retryAfter }) };
}

describe('archive uploads streaming through the gateway (found by a review: one caller held 150 and took 775 MiB)', () => {
  it('refuses an owner\'s next upload past their limit, and anyone\'s past the total, 429 with Retry-After before a byte of it is read; presigned and reference uploads are not counted', async () => {
    const { app, stagings } = gateway({ maxStreamedUploadsPerOwner: 2, maxStreamedUploads: 3 });
    await app.listen({ host: '127.0.0.1', port: 0 });
    try {
      await heldUpload(app, stagings, 'dev1');
      await heldUpload(app, stagings, 'dev1');
      // Only the head of this one is sent, its image declared 1 MiB: the answer comes with nothing of it read.
      const third = talk(app);
      third.socket.write(await uploadHead('dev1', 1024 * 1024));
      await vi.waitFor(() => expect(third.heard()).toMatch(/\r\n\r\n\{[\s\S]*\}$/));
      expect(answerOf(third.heard())).toEqual({ status: 429, code: 'ORBIT_ERR_STREAMED_UPLOADS_PENDING', retryAfter: '10' });
      await heldUpload(app, stagings, 'dev2');
      expect(await wholeUpload(app, 'dev3')).toEqual({ status: 429, code: 'ORBIT_ERR_GATEWAY_UPLOADS_FULL', retryAfter: '10' });
      expect(stagings).toEqual(['dev1', 'dev1', 'dev2']);
      // Its bytes go to S3 directly: nothing of a presigned upload streams here.
      const presigned = await app.inject({ method: 'POST', url: '/v1/uploads/presign', headers: { authorization: `Bearer ${await issueLocalToken(auth, 'dev1', [])}` } });
      expect(presigned.statusCode, presigned.body).toBe(201);
      // Nor of one by reference: its JSON was read whole, within the 1 MiB body limit, before the route.
      const referenced = await app.inject({
        method: 'POST', url: '/v1/uploads', headers: { authorization: `Bearer ${await issueLocalToken(auth, 'dev1', [])}` },
        payload: { metadata: { imageName: 'billing-api', imageVersion: 'v1-0-01' }, reference: 'registry.example.com/team/billing:1.0.1' },
      });
      expect(referenced.statusCode, referenced.body).toBe(202);
    } finally {
      await closeAll(app);
    }
  });

  it('gives the slot back however an upload ends: accepted, refused at its metadata, refused at once, or its client gone mid-image', async () => {
    const { app, stagings, aborted, staged } = gateway({ maxStreamedUploadsPerOwner: 1, maxStreamedUploads: 1 });
    await app.listen({ host: '127.0.0.1', port: 0 });
    try {
      expect(await wholeUpload(app, 'dev1')).toMatchObject({ status: 202 });
      expect(await wholeUpload(app, 'dev1', 'Bad Name')).toMatchObject({ status: 400, code: 'ORBIT_ERR_BAD_METADATA' });
      expect(await wholeUpload(app, 'dev2')).toMatchObject({ status: 202 });
      // The client goes away with its image half sent: its staging is aborted, and its slot is free again.
      const gone = await heldUpload(app, stagings, 'dev1');
      expect(await wholeUpload(app, 'dev2')).toMatchObject({ status: 429 });
      gone.socket.destroy();
      await vi.waitFor(() => expect(aborted).toEqual(['dev1']));
      // A refusal (the 429 above) holds none either: each of these gets the one slot in turn.
      expect(await wholeUpload(app, 'dev2')).toMatchObject({ status: 202 });
      expect(await wholeUpload(app, 'dev1')).toMatchObject({ status: 202 });
      expect(staged).toEqual([1000, 1000, 1000, 1000]);
    } finally {
      await closeAll(app);
    }
  });

  it('gives the slot back of a client gone before its token was verified (found by a reread: the slot was kept for good, and the replica answered every form 429)', async () => {
    let delayMs = 300;
    const { app, stagings } = gateway({ maxStreamedUploadsPerOwner: 1, maxStreamedUploads: 1 }, () => delayMs);
    await app.listen({ host: '127.0.0.1', port: 0 });
    try {
      // A JWKS reload (or a busy event loop) holds the verification while the client gives up and goes.
      const gone = talk(app);
      gone.socket.write(await uploadHead('dev1', 1024 * 1024));
      await new Promise((resolve) => setTimeout(resolve, 50));
      gone.socket.destroy();
      await new Promise((resolve) => setTimeout(resolve, 600));
      delayMs = 0;
      expect(await wholeUpload(app, 'dev1')).toMatchObject({ status: 202 });
      expect(stagings).toEqual(['dev1']);
    } finally {
      await closeAll(app);
    }
  });
});

describe('the streamed uploads gauges', () => {
  it('show the uploads streaming now against the cap, read at each scrape (found by a review: no metric showed how full a replica is)', async () => {
    const uploads = new StreamedUploads({ perOwner: 2, total: 3 });
    const registry = new Registry();
    instrumentStreamedUploads(uploads, registry);
    const scrape = async (): Promise<string> => registry.metrics();
    expect(await scrape()).toMatch(/^orbit_streamed_uploads_in_flight 0$/m);
    expect(await scrape()).toMatch(/^orbit_streamed_uploads_max 3$/m);
    const releases = [uploads.take('a'), uploads.take('a'), uploads.take('b')];
    expect(await scrape()).toMatch(/^orbit_streamed_uploads_in_flight 3$/m);
    releases[0]?.();
    releases[0]?.();
    expect(await scrape()).toMatch(/^orbit_streamed_uploads_in_flight 2$/m);
  });
});
