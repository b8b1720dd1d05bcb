import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { Registry } from 'prom-client';
import { createLogger, type TraceContext } from '@orbit/lib';
import type { UploadRequested } from '@orbit/schemas';
import { buildApp } from './app.js';
import { tokenVerifier } from './auth.js';
import type { ImageView } from './ports.js';
import { clientRequestId, redactedUrl } from './request-correlation.js';
import { ROUTE_TEST_AUTH, routeTestGateway, routeTestToken } from './testing/route-gateway.js';

const UID = 'T'.repeat(60);
const CALLER_TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const TRACEPARENT = `00-${CALLER_TRACE}-00f067aa0ba902b7-01`;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

function logLines() {
  const lines: Record<string, unknown>[] = [];
  const logger = createLogger({ service: 'test', destination: new Writable({ write(chunk: Buffer, _encoding, done) { lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>); done(); } }) });
  return { lines, logger };
}

/** A gateway whose transfers are claimed and refused in memory, keeping the trace each command was recorded with. */
function transferGateway() {
  const { lines, logger } = logLines();
  const traces: { kind: 'claimed' | 'refused'; requestId: string; trace: TraceContext }[] = [];
  const image: ImageView = {
    imageUID: UID, owner: 'dev1', imageName: 'billing-api', description: '', environments: ['Development'],
    versions: [{ imageVersion: 'v1-0-00', status: 'ready', environments: ['Development'] }],
  };
  const app = routeTestGateway({
    uid: UID, image, logger,
    transfers: {
      claims: {
        claim: async (_target, request, _command, trace) => { traces.push({ kind: 'claimed', requestId: request.requestId, trace }); return { requestId: request.requestId, status: null }; },
        find: async () => undefined,
      },
      publish: { transferRefused: async (_event, trace, request) => void traces.push({ kind: 'refused', requestId: request.requestId, trace }) },
      policy: { chain: ['Development', 'Testing', 'Staging', 'Production'], roles: new Map() },
    },
  });
  const transfer = async (transferEnvironment: string, headers: Record<string, string>) => app.inject({
    method: 'POST', url: `/v1/images/${UID}/transfers`, headers: { ...headers, authorization: `Bearer ${await routeTestToken('dev1')}` }, payload: { imageVersion: 'v1-0-00', transferEnvironment },
  });
  return { transfer, traces, lines, app };
}

describe('X-Request-Id', () => {
  it('takes a client\'s id of 1–128 safe characters as sent, and nothing else', () => {
    for (const id of ['obs-support-ticket-4711', 'a', 'x'.repeat(128), 'trace:abc/def+ghi=jkl@host.example_1']) expect(clientRequestId({ 'x-request-id': id })).toBe(id);
    for (const id of ['', 'x'.repeat(129), 'two words', 'line\nbreak', '<script>', 'a, b', 'ümlaut', '"quoted"']) expect(clientRequestId({ 'x-request-id': id })).toBeUndefined();
    expect(clientRequestId({})).toBeUndefined();
  });

  it('answers every request with the client\'s well-formed id, or one of its own: accepted, refused, unrouted, and a URL the router cannot read', async () => {
    const { transfer, app } = transferGateway();
    const accepted = await transfer('Testing', { 'x-request-id': 'obs-support-ticket-4711' });
    expect([accepted.statusCode, accepted.headers['x-request-id']]).toEqual([202, 'obs-support-ticket-4711']);
    const refused = await app.inject({ method: 'GET', url: '/v1/requests', headers: { 'x-request-id': 'portal:42' } });
    expect([refused.statusCode, refused.headers['x-request-id']]).toEqual([401, 'portal:42']);
    for (const sent of ['two words', 'x'.repeat(129), undefined]) {
      const answer = await app.inject({ method: 'GET', url: '/v1/requests', headers: sent === undefined ? {} : { 'x-request-id': sent } });
      // Ignored, never refused: the answer is the one without it, with an id of the gateway's.
      expect(answer.statusCode).toBe(401);
      expect(answer.headers['x-request-id']).toMatch(UUID);
    }
    expect((await app.inject('/v1/nothing-here')).headers['x-request-id']).toMatch(UUID);
    const unreadable = await app.inject({ method: 'GET', url: '/v1/images/%E0%A4%A', headers: { 'x-request-id': 'bad-url-1' } });
    expect([unreadable.statusCode, unreadable.headers['x-request-id']]).toEqual([400, 'bad-url-1']);
    // Two requests without an id get two ids.
    const [first, second] = await Promise.all([app.inject('/healthz'), app.inject('/healthz')]);
    expect(first?.headers['x-request-id']).not.toBe(second?.headers['x-request-id']);
  });
});

describe('traceparent', () => {
  it('continues a caller\'s valid trace in the commands a transfer records, accepted or refused, and names the request in the log', async () => {
    const { transfer, traces, lines } = transferGateway();
    const accepted = await transfer('Testing', { traceparent: TRACEPARENT, 'x-request-id': 'ci-run-77' });
    expect(accepted.statusCode).toBe(202);
    const refused = await transfer('Staging', { traceparent: TRACEPARENT, 'x-request-id': 'ci-run-78' });
    expect([refused.statusCode, refused.json<{ code: string }>().code]).toEqual([409, 'SKIPS_ENVIRONMENT']);
    expect(traces.map(({ kind, trace }) => [kind, trace.traceId, trace.sampled])).toEqual([['claimed', CALLER_TRACE, true], ['refused', CALLER_TRACE, true]]);
    // A span of the gateway's under the caller's: not the caller's own span id.
    for (const { trace } of traces) expect(trace.spanId).not.toBe('00f067aa0ba902b7');
    const { requestId } = accepted.json<{ requestId: string }>();
    expect(lines.find((line) => line['msg'] === 'request accepted')).toMatchObject({ reqId: 'ci-run-77', user: 'dev1', traceId: CALLER_TRACE, correlationId: requestId });
    expect(lines.find((line) => line['msg'] === 'request refused')).toMatchObject({ reqId: 'ci-run-78', user: 'dev1', traceId: CALLER_TRACE, code: 'SKIPS_ENVIRONMENT', status: 409 });
  });

  it('ignores an invalid traceparent, never refusing for it: the command starts a trace of its own', async () => {
    const { transfer, traces } = transferGateway();
    for (const traceparent of ['garbage', `00-${'0'.repeat(32)}-00f067aa0ba902b7-01`, `00-${CALLER_TRACE}-00f067aa0ba902b7`]) {
      expect((await transfer('Testing', { traceparent })).statusCode).toBe(202);
    }
    expect(traces.map(({ trace }) => trace.traceId)).not.toContain(CALLER_TRACE);
    expect(new Set(traces.map(({ trace }) => trace.traceId)).size).toBe(3);
  });

  it('continues a caller\'s trace in an upload\'s UploadRequested, and keeps an unsampled trace unsampled', async () => {
    const published: { event: UploadRequested; trace: TraceContext }[] = [];
    const { lines, logger } = logLines();
    const app = buildApp({
      ready: async () => true, metrics: new Registry(), logger, verify: tokenVerifier({ kind: 'hs256', ...ROUTE_TEST_AUTH }),
      uploads: { stage: async () => { throw new Error('not staged here'); }, presign: async () => { throw new Error('not presigned here'); }, find: async () => undefined, resume: async () => undefined, presignedWith: async () => undefined, discard: async () => undefined, abandon: async () => 'unknown' as const, givenUp: async () => false },
      names: { uidFor: async () => UID, peek: async () => UID },
      requests: { get: async () => undefined, finishedAmong: async () => new Set(), list: async () => ({ requests: [] }) },
      events: { byCorrelationId: async () => [], byImageUID: async () => ({ entries: [] }) },
      publish: { uploadRequested: async (event, trace) => void published.push({ event, trace }) },
    });
    const upload = async (traceparent: string) => app.inject({
      method: 'POST', url: '/v1/uploads/references', headers: { authorization: `Bearer ${await routeTestToken('dev1')}`, traceparent, 'x-request-id': 'upload-1' },
      payload: { metadata: { imageName: 'billing-api', imageVersion: 'v1-0-00', port: 8080 }, reference: 'r.example/a:1' },
    });
    expect((await upload(TRACEPARENT)).statusCode).toBe(202);
    expect((await upload(TRACEPARENT.replace(/01$/, '00'))).statusCode).toBe(202);
    expect(published.map(({ trace }) => [trace.traceId, trace.sampled])).toEqual([[CALLER_TRACE, true], [CALLER_TRACE, false]]);
    expect(lines.find((line) => line['msg'] === 'request accepted')).toMatchObject({ reqId: 'upload-1', user: 'dev1', traceId: CALLER_TRACE, correlationId: published[0]?.event.requestId });
  });
});

describe('redactedUrl', () => {
  const kept = new Set(['limit', 'cursor', 'imageUID']);

  it('keeps the values of the parameters the operation defines, and redacts every other one', () => {
    expect(redactedUrl('/v1/requests?access_token=eyJhbGciOi.x.y&limit=5', kept)).toBe('/v1/requests?access_token=[redacted]&limit=5');
    expect(redactedUrl('/v1/requests?limit=5&cursor=abc%3D', kept)).toBe('/v1/requests?limit=5&cursor=abc%3D');
    expect(redactedUrl('/v1/requests?X-Amz-Signature=abc123&imageUID=U', kept)).toBe('/v1/requests?X-Amz-Signature=[redacted]&imageUID=U');
    expect(redactedUrl('/v1/requests', kept)).toBe('/v1/requests');
    expect(redactedUrl('/v1/requests?', kept)).toBe('/v1/requests?');
  });

  it('redacts a name too when it is more than words: a secret sent bare, or escaped', () => {
    expect(redactedUrl('/v1/requests?sk_live_4eC39HqLyjWDarjtT1zdp7dc', kept)).toBe('/v1/requests?[redacted]=[redacted]');
    expect(redactedUrl('/v1/requests?tok%65n=s3cret&lim%69t=5', kept)).toBe('/v1/requests?[redacted]=[redacted]&lim%69t=5');
    expect(redactedUrl('/v1/requests?%E0%A4%A=1&token', kept)).toBe('/v1/requests?[redacted]=[redacted]&token=[redacted]');
  });
});
