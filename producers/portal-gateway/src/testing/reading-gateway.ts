import type { Readable } from 'node:stream';
import { OrbitError, type Logger } from '@orbit/lib';
import { Registry } from 'prom-client';
import { buildApp } from '../app.js';
import { tokenVerifier } from '../auth.js';
import { ROUTE_TEST_AUTH } from './route-gateway.js';

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
