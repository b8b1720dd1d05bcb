/**
 * A client gone before its request was read is one decision (clientWentAway), taken alike by the error handler's log
 * and the refusal counter, whichever answer the error handler gave it.
 */
import { connect, type AddressInfo } from 'node:net';
import { describe, expect, it, vi } from 'vitest';
import { memoryLogger } from '../../../test/helpers/memory-logger.js';
import { readingUploadGateway } from './testing/reading-gateway.js';
import { routeTestToken } from './testing/route-gateway.js';

describe('a client gone in the middle of a JSON body', () => {
  it('is logged as gone, not as a 400 refused, as the metrics count it (before: Fastify\'s 400 for the cut body was logged "request refused" and not counted as a refusal)', async () => {
    const { logger, lines } = memoryLogger();
    const { app, metrics } = readingUploadGateway(logger);
    await app.listen({ port: 0, host: '127.0.0.1' });
    try {
      const socket = connect((app.server.address() as AddressInfo).port, '127.0.0.1');
      socket.on('error', () => undefined);
      await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
      // Content-Length 1000, 20 bytes sent, then the client leaves.
      socket.write(`POST /v1/uploads/references HTTP/1.1\r\nHost: gateway\r\nAuthorization: Bearer ${await routeTestToken('leaver')}\r\n`
        + 'Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"metadata": {"imag');
      await new Promise((resolve) => setTimeout(resolve, 200));
      socket.destroy();
      await vi.waitFor(async () => expect(await metrics.getSingleMetricAsString('orbit_http_requests_total')).toContain('route="/v1/uploads/references"'));
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(await metrics.getSingleMetricAsString('orbit_http_requests_total')).toMatch(/^orbit_http_requests_total\{method="POST",route="\/v1\/uploads\/references",status="499"\} 1$/m);
      expect(await metrics.getSingleMetricAsString('orbit_http_refusals_total')).toMatch(/^orbit_http_refusals_total\{code="ORBIT_ERR_BAD_REQUEST"\} 0$/m);
      expect(lines.filter((line) => line['url'] === '/v1/uploads/references').map((line) => line['msg'])).toEqual(['client went away before its request was read; nothing was accepted']);
    } finally {
      app.server.closeAllConnections();
      await app.close();
    }
  });
});
