/**
 * orbit_http_refusals_total counts each error answer under the code it was sent with (errors.ts sendError), on every
 * path an error answer leaves by: the error handler (a schema's 400, Fastify's 413, a 429 of a full gateway, the
 * shutting-down 503 of an onRequest hook), the not-found handler's 405 and the body-pace guard's 408. Only the 401
 * and 404, a projection lost and a shutdown cut were counted by a test before.
 */
import { connect, type AddressInfo } from 'node:net';
import type { Readable } from 'node:stream';
import { Registry } from 'prom-client';
import { describe, expect, it, vi } from 'vitest';
import { buildApp, type GatewayDeps } from './app.js';
import { tokenVerifier } from './auth.js';
import { ROUTE_TEST_AUTH, routeTestToken } from './testing/route-gateway.js';

const unused = async (): Promise<never> => { throw new Error('not in these tests'); };

/** A gateway whose staging reads the image to its end (so a stalled body stays stalled), and its metrics. */
function gateway(options: Partial<Pick<GatewayDeps, 'maxStreamedUploads' | 'idleTimeoutMs' | 'ready'>> = {}): { app: ReturnType<typeof buildApp>; metrics: Registry } {
  const metrics = new Registry();
  const app = buildApp({
    ready: async () => true, metrics, verify: tokenVerifier({ kind: 'hs256', ...ROUTE_TEST_AUTH }),
    uploads: {
      stage: async (_owner, _id, body: Readable) => {
        for await (const _chunk of body) { /* read as S3's upload does */ }
        throw new Error('not in these tests');
      },
      presign: unused, find: async () => undefined, resume: async () => undefined, presignedWith: async () => undefined, discard: async () => undefined, abandon: async () => 'unknown' as const, givenUp: async () => false,
    },
    names: { uidFor: async () => 'uid-counted', peek: async () => 'uid-counted' },
    requests: { get: async () => undefined, finishedAmong: async () => new Set(), list: async () => ({ requests: [] }) },
    events: { byCorrelationId: async () => [], byImageUID: async () => ({ entries: [] }) },
    publish: { uploadRequested: unused },
    ...options,
  });
  return { app, metrics };
}

const refusals = (metrics: Registry): Promise<string> => metrics.getSingleMetricAsString('orbit_http_refusals_total');
const countOf = async (metrics: Registry, code: string): Promise<number> => Number(new RegExp(`^orbit_http_refusals_total\\{code="${code}"\\} (\\d+)$`, 'm').exec(await refusals(metrics))?.[1] ?? 0);

const BOUNDARY = 'counted';
const FORM_HEAD = `--${BOUNDARY}\r\nContent-Disposition: form-data; name="metadata"\r\n\r\n${JSON.stringify({ imageName: 'counted', imageVersion: 'v1-0-01' })}\r\n`
  + `--${BOUNDARY}\r\nContent-Disposition: form-data; name="image"; filename="image.tar"\r\nContent-Type: application/x-tar\r\n\r\n`;

describe('orbit_http_refusals_total, by the code each error answer was sent with', () => {
  it('counts the error handler\'s answers, a schema\'s 400 and Fastify\'s 413 of a JSON body over its limit, and the not-found handler\'s 405', async () => {
    const { app, metrics } = gateway();
    const authorization = `Bearer ${await routeTestToken('counter')}`;
    const schema = await app.inject({ method: 'GET', url: '/v1/requests?bogus=1', headers: { authorization } });
    expect([schema.statusCode, schema.json<{ code: string }>().code]).toEqual([400, 'ORBIT_ERR_BAD_REQUEST']);
    expect(await countOf(metrics, 'ORBIT_ERR_BAD_REQUEST')).toBe(1);
    const tooLarge = await app.inject({
      method: 'POST', url: '/v1/uploads/references', headers: { authorization, 'content-type': 'application/json' },
      payload: JSON.stringify({ reference: 'x'.repeat(2 * 1024 * 1024) }),
    });
    expect([tooLarge.statusCode, tooLarge.json<{ code: string }>().code]).toEqual([413, 'ORBIT_ERR_BAD_REQUEST']);
    expect(await countOf(metrics, 'ORBIT_ERR_BAD_REQUEST')).toBe(2);
    const notAllowed = await app.inject({ method: 'DELETE', url: '/healthz' });
    expect([notAllowed.statusCode, notAllowed.json<{ code: string }>().code]).toEqual([405, 'ORBIT_ERR_METHOD_NOT_ALLOWED']);
    expect(await countOf(metrics, 'ORBIT_ERR_METHOD_NOT_ALLOWED')).toBe(1);
    await app.close();
  });

  it('counts a full gateway\'s 429 as ORBIT_ERR_GATEWAY_UPLOADS_FULL', async () => {
    const { app, metrics } = gateway({ maxStreamedUploads: 0 });
    const answer = await app.inject({
      method: 'POST', url: '/v1/uploads', headers: { authorization: `Bearer ${await routeTestToken('counter')}`, 'content-type': `multipart/form-data; boundary=${BOUNDARY}` },
      payload: `${FORM_HEAD}${'x'.repeat(100)}\r\n--${BOUNDARY}--\r\n`,
    });
    expect([answer.statusCode, answer.json<{ code: string }>().code]).toEqual([429, 'ORBIT_ERR_GATEWAY_UPLOADS_FULL']);
    expect(await countOf(metrics, 'ORBIT_ERR_GATEWAY_UPLOADS_FULL')).toBe(1);
    await app.close();
  });

  it('counts the 503 a gateway being stopped answers the next request on a busy connection with (an onRequest hook\'s refusal)', async () => {
    let release: () => void = () => undefined;
    const held = new Promise<void>((resolve) => { release = resolve; });
    const { app, metrics } = gateway({ ready: async () => { await held; return true; } });
    await app.listen({ port: 0, host: '127.0.0.1' });
    const socket = connect((app.server.address() as AddressInfo).port, '127.0.0.1');
    let received = '';
    socket.on('data', (chunk: Buffer) => {
      received += chunk.toString('utf8');
      // The next request on the connection goes as soon as the first is answered: the gateway is stopping by then.
      if (received.includes('"status"') && !received.includes('SHUTTING')) socket.write('GET /readyz HTTP/1.1\r\nHost: gateway\r\n\r\n');
    });
    const ended = new Promise<void>((resolve) => socket.on('close', () => resolve()));
    await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
    socket.write('GET /readyz HTTP/1.1\r\nHost: gateway\r\n\r\n');
    await new Promise((resolve) => setTimeout(resolve, 100));
    const closed = app.close();
    await new Promise((resolve) => setTimeout(resolve, 50));
    release();
    await Promise.all([closed, ended]);
    expect(received).toContain('"code":"ORBIT_ERR_SHUTTING_DOWN"');
    expect(await countOf(metrics, 'ORBIT_ERR_SHUTTING_DOWN')).toBe(1);
  });

  it('counts the body-pace guard\'s 408 of a body that stopped as ORBIT_ERR_BAD_REQUEST, once', async () => {
    const { app, metrics } = gateway({ idleTimeoutMs: 500 });
    await app.listen({ port: 0, host: '127.0.0.1' });
    const socket = connect((app.server.address() as AddressInfo).port, '127.0.0.1');
    socket.on('error', () => undefined);
    let received = '';
    socket.on('data', (chunk: Buffer) => { received += chunk.toString('utf8'); });
    try {
      await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
      // Content-Length 1000 bytes more than is sent: the body stops.
      socket.write(`POST /v1/uploads HTTP/1.1\r\nHost: gateway\r\nAuthorization: Bearer ${await routeTestToken('counter')}\r\n`
        + `Content-Type: multipart/form-data; boundary=${BOUNDARY}\r\nContent-Length: ${Buffer.byteLength(FORM_HEAD) + 1000}\r\n\r\n${FORM_HEAD}`);
      await vi.waitFor(() => expect(received).toMatch(/^HTTP\/1\.1 408 /), { timeout: 5_000 });
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(await countOf(metrics, 'ORBIT_ERR_BAD_REQUEST')).toBe(1);
    } finally {
      socket.destroy();
      app.server.closeAllConnections();
      await app.close();
    }
  });
});
