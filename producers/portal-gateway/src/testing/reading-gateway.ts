import { connect, type Socket } from 'node:net';
import type { Readable } from 'node:stream';
import { OrbitError, type Logger } from '@orbit/lib';
import { Registry } from 'prom-client';
import { buildApp } from '../app.js';
import { tokenVerifier } from '../auth.js';
import { ROUTE_TEST_AUTH, routeTestToken } from './route-gateway.js';

/** Staging that reads the image to its end, failing as S3's upload does when its stream is cut under it. */
async function stageByReading(body: Readable): Promise<never> {
  for await (const _chunk of body) { /* an image arriving slowly */ }
  throw new OrbitError('ORBIT_ERR_NOT_UNDER_TEST', 'the body ended before its closing boundary');
}

const unused = async (): Promise<never> => { throw new OrbitError('ORBIT_ERR_NOT_UNDER_TEST', 'not under test'); };

/**
 * The gateway's app with an upload route whose staging reads the body as it trickles in (a client gone, a shutdown
 * cut mid-body), and its metrics registry.
 */
export function readingUploadGateway(logger?: Logger): { app: ReturnType<typeof buildApp>; metrics: Registry } {
  const metrics = new Registry();
  const app = buildApp({
    ready: async () => true, metrics, ...(logger ? { logger } : {}), verify: tokenVerifier({ kind: 'hs256', ...ROUTE_TEST_AUTH }),
    uploads: { stage: async (_owner, _id, body) => stageByReading(body), presign: unused, find: async () => undefined, resume: async () => undefined, presignedWith: async () => undefined, discard: async () => undefined, abandon: async () => 'unknown' as const, givenUp: async () => false },
    names: { uidFor: async () => 'uid-reading', peek: async () => 'uid-reading' },
    requests: { get: async () => undefined, finishedAmong: async () => new Set(), list: async () => ({ requests: [] }) },
    events: { byCorrelationId: async () => [], byImageUID: async () => ({ entries: [] }) },
    publish: { uploadRequested: unused },
    maxUploadBytes: 100_000_000,
  });
  return { app, metrics };
}

/**
 * Starts a form upload of a 10 MB image from `owner` on a raw socket (inject has no connection to close) and sends a
 * little of its image; the caller sends more, or closes it.
 */
export async function startFormUpload(port: number, owner = 'leaver'): Promise<Socket> {
  const socket = connect(port, '127.0.0.1');
  socket.on('error', () => undefined);
  await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
  const boundary = 'reading';
  const head = `--${boundary}\r\nContent-Disposition: form-data; name="metadata"\r\n\r\n${JSON.stringify({ imageName: 'reading', imageVersion: 'v1-0-01' })}\r\n`
    + `--${boundary}\r\nContent-Disposition: form-data; name="image"; filename="image.tar"\r\nContent-Type: application/x-tar\r\n\r\n`;
  socket.write(`POST /v1/uploads HTTP/1.1\r\nHost: gateway\r\nAuthorization: Bearer ${await routeTestToken(owner)}\r\n`
    + `Content-Type: multipart/form-data; boundary=${boundary}\r\nContent-Length: ${Buffer.byteLength(head) + 10_000_000}\r\n\r\n${head}`);
  socket.write(Buffer.alloc(64 * 1024, 1));
  return socket;
}
