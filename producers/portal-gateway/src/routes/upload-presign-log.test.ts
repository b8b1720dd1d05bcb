import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import type { Logger } from '@orbit/lib';
import { memoryLogger } from '../../../../test/helpers/memory-logger.js';
import { buildApp } from '../app.js';
import { tokenVerifier } from '../auth.js';
import { ROUTE_TEST_AUTH, routeTestToken } from '../testing/route-gateway.js';

/** A gateway whose staging presigns any upload, logging into `logger`. */
function gateway(logger: Logger) {
  const nothing = async (): Promise<undefined> => undefined;
  return buildApp({
    ready: async () => true, metrics: new Registry(), verify: tokenVerifier({ kind: 'hs256', ...ROUTE_TEST_AUTH }), logger, maxUploadBytes: 1024 * 1024,
    uploads: {
      stage: async () => { throw new Error('not under test'); },
      presign: async (_owner, uploadId) => ({ method: 'PUT' as const, url: `http://staging/${uploadId}`, headers: {}, expiresAt: '2026-12-06T11:00:00.000Z' }),
      find: nothing, resume: nothing, presignedWith: nothing, discard: nothing, abandon: async () => 'unknown' as const, givenUp: async () => false,
    },
    names: { uidFor: async () => 'U'.repeat(60), peek: async () => 'U'.repeat(60) },
    requests: { get: nothing, finishedAmong: async () => new Set(), list: async () => ({ requests: [] }) },
    events: { byCorrelationId: async () => [], byImageUID: async () => ({ entries: [] }) },
    publish: { uploadRequested: nothing },
    images: { get: nothing, search: async () => ({ images: [] }), getVersion: nothing, versionsPage: nothing, overview: nothing, outline: nothing, getChart: nothing, charted: async () => [] },
  });
}

describe('POST /v1/uploads/presign', () => {
  it('logs the upload it opened, by its id, with the reqId and traceId of the call: it publishes no event until the upload is completed', async () => {
    const { logger, lines } = memoryLogger();
    const app = gateway(logger);
    const response = await app.inject({
      method: 'POST', url: '/v1/uploads/presign', payload: { sizeBytes: 2048 },
      headers: { authorization: `Bearer ${await routeTestToken('dev1')}`, traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' },
    });
    expect(response.statusCode, response.body).toBe(201);
    const { uploadId } = response.json<{ uploadId: string }>();
    expect(lines.filter((line) => line['msg'] === 'upload presigned')).toEqual([expect.objectContaining({
      level: 'info', uploadId, user: 'dev1', sizeBytes: 2048, reqId: response.headers['x-request-id'], traceId: '0af7651916cd43dd8448eb211c80319c',
    })]);
  });
});
