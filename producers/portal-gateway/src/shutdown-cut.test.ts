/**
 * A request the shutdown grace cut, as the gateway counts and logs it: the app of main.ts (buildApp and shutdownGrace)
 * in process, so its metrics can be read after the cut, when the real gateway's port is already closed to a scrape
 * (shutdown-cut.int.test.ts runs the real one for the answer and the log line).
 */
import type { AddressInfo } from 'node:net';
import { shutdownGrace } from '@orbit/lib';
import { Registry } from 'prom-client';
import { describe, expect, it, vi } from 'vitest';
import { buildApp } from './app.js';
import { memoryLogger } from '../../../test/helpers/memory-logger.js';
import { readingUploadGateway, startFormUpload } from './testing/reading-gateway.js';

describe('a request cut at the end of the shutdown grace', () => {
  it('is counted as the 503 its client heard and logged once as cut at shutdown (before: a 400 ERR_STREAM_PREMATURE_CLOSE, as a client gone away)', async () => {
    // 1. The gateway, with its shutdown grace, and an upload whose body trickles in past it.
    const { logger, lines } = memoryLogger();
    const { app, metrics } = readingUploadGateway(logger);
    const grace = shutdownGrace(app, { graceMs: 300, logger, settleMs: 1_000, answerCut: () => ({ code: 'ORBIT_ERR_SHUTDOWN_CUT', message: 'send it again' }) });
    await app.listen({ port: 0, host: '127.0.0.1' });
    const socket = await startFormUpload((app.server.address() as AddressInfo).port, 'cutter');
    let received = '';
    socket.on('data', (chunk: Buffer) => { received += chunk.toString('utf8'); });
    const ended = new Promise<void>((resolve) => socket.on('close', () => resolve()));
    const trickle = setInterval(() => { if (socket.writable) socket.write(Buffer.alloc(512, 1)); }, 50);
    await new Promise((resolve) => setTimeout(resolve, 200));
    try {
      // 2. Stopped: the grace runs out with the body still arriving.
      expect(await grace.close()).toBe(1);
      await ended;
    } finally {
      clearInterval(trickle);
      socket.destroy();
    }
    // 3. Its client heard 503; the gateway counts and logs that, and no 400.
    expect(received).toMatch(/^HTTP\/1\.1 503 /);
    const counted = await metrics.getSingleMetricAsString('orbit_http_requests_total');
    expect(counted).toMatch(/^orbit_http_requests_total\{method="POST",route="\/v1\/uploads",status="503"\} 1$/m);
    expect(counted).not.toMatch(/status="400"/);
    expect(await metrics.getSingleMetricAsString('orbit_http_refusals_total')).toMatch(/^orbit_http_refusals_total\{code="ORBIT_ERR_SHUTDOWN_CUT"\} 1$/m);
    const requestId = /\r\nx-request-id: (\S+)\r\n/i.exec(received)?.[1];
    const ofRequest = lines.filter((line) => line['reqId'] === requestId);
    expect(ofRequest.map((line) => line['msg'])).toEqual([expect.stringMatching(/^request cut at shutdown/)]);
    expect(ofRequest[0]).toMatchObject({ status: 503, code: 'ORBIT_ERR_SHUTDOWN_CUT', method: 'POST', url: '/v1/uploads', bodyArrived: false });
  });

  it.each([
    ['after its connection was closed', true],
    ['in the moment between its 503 and the close', false],
  ])('is counted and logged as its 503 too when its route does not fail but answers %s (before: neither)', async (_when, afterClose) => {
    // 1. A request whose body has arrived, its route waiting on a store past the grace.
    const { logger, lines } = memoryLogger();
    let release: () => void = () => undefined;
    const held = new Promise<boolean>((resolve) => { release = () => resolve(true); });
    const metrics = new Registry();
    let entered: () => void = () => undefined;
    const inRoute = new Promise<void>((resolve) => { entered = resolve; });
    const app = buildApp({ ready: () => { entered(); return held; }, metrics, logger });
    const grace = shutdownGrace(app, { graceMs: 200, logger, settleMs: 200, answerCut: () => ({ code: 'ORBIT_ERR_SHUTDOWN_CUT', message: 'look for it' }) });
    await app.listen({ port: 0, host: '127.0.0.1' });
    const answered = fetch(`http://127.0.0.1:${(app.server.address() as AddressInfo).port}/readyz`);
    await inRoute;
    // 2. Stopped; the route answers 200, into a closed connection or one about to be.
    const closed = grace.close();
    if (afterClose) await closed;
    const status = (await answered).status;
    release();
    expect(await closed).toBe(1);
    // 3. Its client heard 503, and so do the metrics and the log.
    expect(status).toBe(503);
    const counted = await vi.waitFor(async () => {
      const text = await metrics.getSingleMetricAsString('orbit_http_requests_total');
      expect(text).toContain('status="503"');
      return text;
    });
    expect(counted).toMatch(/^orbit_http_requests_total\{method="GET",route="\/readyz",status="503"\} 1$/m);
    expect(counted).not.toMatch(/status="200"/);
    // Its refusal is the cut's, counted once whatever the route did after (before: only when the route failed).
    expect(await metrics.getSingleMetricAsString('orbit_http_refusals_total')).toMatch(/^orbit_http_refusals_total\{code="ORBIT_ERR_SHUTDOWN_CUT"\} 1$/m);
    expect(lines.filter((line) => line['msg'] !== undefined && String(line['msg']).startsWith('request cut at shutdown')))
      .toEqual([expect.objectContaining({ status: 503, code: 'ORBIT_ERR_SHUTDOWN_CUT', method: 'GET', url: '/readyz', bodyArrived: true })]);
  });
});
