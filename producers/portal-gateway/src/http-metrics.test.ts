/**
 * Requests whose client went away before their answer, as the gateway's metrics count them: the app of main.ts in
 * process, on a real socket (inject has no connection to close).
 */
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import Fastify from 'fastify';
import { Registry } from 'prom-client';
import { describe, expect, it, vi } from 'vitest';
import { buildApp } from './app.js';
import { instrumentHttp, refusalLabel, WATCHED_REFUSAL_CODES } from './http-metrics.js';
import { memoryLogger } from '../../../test/helpers/memory-logger.js';
import { readingUploadGateway, startFormUpload } from './testing/reading-gateway.js';
import { routeTestToken } from './testing/route-gateway.js';

const series = async (metrics: Registry, name: string): Promise<string> => metrics.getSingleMetricAsString(name);

describe('a request whose client went away before its answer', () => {
  it('is counted once, as 499 with its duration, when an upload is abandoned mid-body (before: counted nowhere, as onResponse never ran), and logged as gone, not refused', async () => {
    const { logger, lines } = memoryLogger();
    const { app, metrics } = readingUploadGateway(logger);
    await app.listen({ port: 0, host: '127.0.0.1' });
    try {
      const socket = await startFormUpload((app.server.address() as AddressInfo).port);
      await new Promise((resolve) => setTimeout(resolve, 200));
      socket.destroy();
      const counted = await vi.waitFor(async () => {
        const text = await series(metrics, 'orbit_http_requests_total');
        expect(text).toContain('route="/v1/uploads"');
        return text;
      });
      // Settled: what the route does after its client went (its 400 into the closed socket) adds nothing.
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(await series(metrics, 'orbit_http_requests_total')).toBe(counted);
      expect(counted).toMatch(/^orbit_http_requests_total\{method="POST",route="\/v1\/uploads",status="499"\} 1$/m);
      expect(counted).not.toMatch(/status="400"/);
      expect(await series(metrics, 'orbit_http_request_duration_seconds')).toMatch(/^orbit_http_request_duration_seconds_count\{method="POST",route="\/v1\/uploads"\} 1$/m);
      // Nor is the 400 the route "answers" into the closed socket a refusal.
      expect(await series(metrics, 'orbit_http_refusals_total')).toMatch(/^orbit_http_refusals_total\{code="ORBIT_ERR_BAD_REQUEST"\} 0$/m);
      // Its one line says it went away; no 'request refused' reports the 400 nobody received (before: both were logged).
      expect(lines.filter((line) => line['url'] === '/v1/uploads').map((line) => line['msg'])).toEqual(['client went away before its request was read; nothing was accepted']);
    } finally {
      // A connection its client left can hold the close for seconds.
      app.server.closeAllConnections();
      await app.close();
    }
  });

  it('is counted once, as 499, when its client leaves while the route is still working, not as the answer that then goes nowhere', async () => {
    let release: () => void = () => undefined;
    const held = new Promise<boolean>((resolve) => { release = () => resolve(true); });
    let entered: () => void = () => undefined;
    const inRoute = new Promise<void>((resolve) => { entered = resolve; });
    const metrics = new Registry();
    const app = buildApp({ ready: () => { entered(); return held; }, metrics });
    await app.listen({ port: 0, host: '127.0.0.1' });
    try {
      const leaving = new AbortController();
      const asked = fetch(`http://127.0.0.1:${(app.server.address() as AddressInfo).port}/readyz`, { signal: leaving.signal }).catch(() => 'gone');
      await inRoute;
      leaving.abort();
      expect(await asked).toBe('gone');
      await vi.waitFor(async () => expect(await series(metrics, 'orbit_http_requests_total')).toContain('status="499"'));
      release();
      await new Promise((resolve) => setTimeout(resolve, 200));
      const counted = await series(metrics, 'orbit_http_requests_total');
      expect(counted).toMatch(/^orbit_http_requests_total\{method="GET",route="\/readyz",status="499"\} 1$/m);
      expect(counted).not.toMatch(/status="200"/);
      // An answer that gets out is counted as itself, once.
      release = () => undefined;
      const answered = await app.inject('/healthz');
      expect(answered.statusCode).toBe(200);
      expect(await series(metrics, 'orbit_http_requests_total')).toMatch(/^orbit_http_requests_total\{method="GET",route="\/healthz",status="200"\} 1$/m);
    } finally {
      // A connection its client left can hold the close for seconds.
      app.server.closeAllConnections();
      await app.close();
    }
  });
});

describe('orbit_http_refusals_total', () => {
  it('counts error answers by their code, the watched ones from 0, so a full replica\'s 429 is told from one caller\'s (found by a review: one status="429" series)', async () => {
    const { app, metrics } = readingUploadGateway();
    const text = await series(metrics, 'orbit_http_refusals_total');
    for (const code of WATCHED_REFUSAL_CODES) expect(text).toContain(`orbit_http_refusals_total{code="${code}"} 0`);
    expect((await app.inject({ method: 'GET', url: '/v1/requests' })).statusCode).toBe(401);
    expect((await app.inject({ method: 'GET', url: '/v1/nowhere/3f1c9a' })).statusCode).toBe(404);
    expect((await app.inject('/healthz')).statusCode).toBe(200);
    const counted = await series(metrics, 'orbit_http_refusals_total');
    expect(counted).toMatch(/^orbit_http_refusals_total\{code="ORBIT_ERR_UNAUTHORIZED"\} 1$/m);
    expect(counted).toMatch(/^orbit_http_refusals_total\{code="ORBIT_ERR_NOT_FOUND"\} 1$/m);
    expect(counted).not.toContain('3f1c9a');
  });

  it('labels only a code-shaped code, and at most a bounded number of them', () => {
    expect(refusalLabel('ORBIT_ERR_GATEWAY_UPLOADS_FULL')).toBe('ORBIT_ERR_GATEWAY_UPLOADS_FULL');
    expect(refusalLabel('ROLE_REQUIRED')).toBe('ROLE_REQUIRED');
    expect(refusalLabel('v1-0-00 of billing-api')).toBe('other');
  });
});

describe('the gateway\'s refusal line', () => {
  it('names the code as reasonCode too, as the consumers\' lines do, and never a registry login sent in a reference (found by a review)', async () => {
    const { logger, lines } = memoryLogger();
    const { app } = readingUploadGateway(logger);
    const answer = await app.inject({
      method: 'POST', url: '/v1/uploads/references', headers: { authorization: `Bearer ${await routeTestToken('paster')}`, 'content-type': 'application/json' },
      payload: { metadata: { imageName: 'pasted', imageVersion: 'v1-0-01' }, reference: 'robot:ghp_FIX43FAKETOKEN@ghcr.io/team/app:1' },
    });
    expect([answer.statusCode, answer.json<{ code: string }>().code]).toEqual([400, 'ORBIT_ERR_BAD_REQUEST']);
    expect(answer.body).not.toContain('FIX43FAKETOKEN');
    const refused = lines.filter((line) => line['msg'] === 'request refused');
    expect(refused).toEqual([expect.objectContaining({ status: 400, code: 'ORBIT_ERR_BAD_REQUEST', reasonCode: 'ORBIT_ERR_BAD_REQUEST', reason: expect.stringMatching(/^reference names credentials/) as unknown })]);
    expect(JSON.stringify(lines)).not.toContain('FIX43FAKETOKEN');
  });
});

describe('the gateway\'s capacity metrics', () => {
  it('are on its /metrics from the start: streamed uploads against their cap, and accepted bytes by source (found by a review: none)', async () => {
    const { app } = readingUploadGateway();
    const text = (await app.inject('/metrics')).body;
    expect(text).toMatch(/^orbit_streamed_uploads_in_flight 0$/m);
    expect(text).toMatch(/^orbit_streamed_uploads_max 32$/m);
    expect(text).toMatch(/^orbit_upload_bytes_total\{source="form"\} 0$/m);
  });
});

describe('orbit_http_request_duration_seconds', () => {
  it('has buckets up to an hour, so a large form upload is not lost in +Inf', async () => {
    const app = Fastify();
    const registry = new Registry();
    instrumentHttp(app, registry);
    app.get('/slow', async () => 'ok');
    await app.inject({ url: '/slow' });
    const text = await registry.metrics();
    expect(text).toContain('orbit_http_request_duration_seconds_bucket{le="600",method="GET",route="/slow"} 1');
    expect(text).toContain('orbit_http_request_duration_seconds_bucket{le="3600",method="GET",route="/slow"} 1');
    await app.close();
  });
});

// Found by a reread: a chart streamed from S3 that broke off half way was counted 499, "client closed request", and
// logged nowhere; a /readyz 503 (no code) was counted as a refusal "other".
describe('answers that are not a client gone or a refusal', () => {
  it('counts a streamed answer whose source broke off half way as 500, and logs it', async () => {
    const { logger, lines } = memoryLogger();
    const app = Fastify();
    const registry = new Registry();
    instrumentHttp(app, registry, undefined, logger);
    app.get('/chart', async (_request, reply) => {
      const body = new Readable({ read() { /* pushed below */ } });
      body.push(Buffer.alloc(64 * 1024, 1));
      setTimeout(() => body.destroy(new Error('store connection reset')), 50);
      return reply.type('application/gzip').header('content-length', 10_000_000).send(body);
    });
    await app.listen({ port: 0, host: '127.0.0.1' });
    try {
      const answer = await fetch(`http://127.0.0.1:${(app.server.address() as AddressInfo).port}/chart`);
      await answer.arrayBuffer().catch(() => undefined);
      await vi.waitFor(async () => expect(await registry.getSingleMetricAsString('orbit_http_requests_total')).toMatch(/route="\/chart",status="500"\} 1/));
      expect(await registry.getSingleMetricAsString('orbit_http_requests_total')).not.toMatch(/status="499"/);
      expect(lines).toEqual([expect.objectContaining({ status: 500, route: '/chart', err: 'store connection reset' })]);
    } finally {
      await app.close();
    }
  });

  it('does not count an error answer without a code (a /readyz 503) as a refusal', async () => {
    const metrics = new Registry();
    const app = buildApp({ ready: async () => false, metrics });
    for (let i = 0; i < 3; i += 1) expect((await app.inject('/readyz')).statusCode).toBe(503);
    expect(await metrics.getSingleMetricAsString('orbit_http_refusals_total')).not.toMatch(/code="other"/);
    await app.close();
  });
});
