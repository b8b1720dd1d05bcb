import { describe, expect, it } from 'vitest';
import { Registry } from 'prom-client';
import { Writable } from 'node:stream';
import { buildInfo, createLogger, OrbitError, StoreUnavailableError } from '@orbit/lib';
import { buildApp } from './app.js';
import { tokenVerifier } from './auth.js';
import { ROUTE_TEST_AUTH, routeTestToken } from './testing/route-gateway.js';

describe('gateway health', () => {
  it('answers liveness always and readiness from its dependencies', async () => {
    let ready = false;
    const app = buildApp({ ready: async () => ready, metrics: new Registry() });
    expect((await app.inject('/healthz')).statusCode).toBe(200);
    expect((await app.inject('/readyz')).statusCode).toBe(503);
    ready = true;
    expect((await app.inject('/readyz')).statusCode).toBe(200);
  });

  it('says which build answers in /healthz, as the consumers\' do (orbit_build_info\'s labels)', async () => {
    const answer = await buildApp({ ready: async () => true, metrics: new Registry() }).inject('/healthz');
    expect([answer.statusCode, answer.json()]).toEqual([200, { status: 'ok', build: buildInfo() }]);
  });

  it('names which dependency is down to anyone, never what it said (a driver\'s words name hosts and accounts)', async () => {
    const refused = "Access denied for user 'orbit'@'10.0.3.7' (using password: YES)";
    const app = buildApp({
      metrics: new Registry(),
      ready: async () => ({ ready: false, dependencies: { mysql: { up: false, gates: true, ms: 3, error: refused }, s3: { up: true, gates: false, ms: 4 } } }),
    });
    const answer = await app.inject('/readyz');
    expect([answer.statusCode, answer.json()]).toEqual([503, { status: 'not-ready', dependencies: { mysql: { up: false, gates: true, ms: 3 }, s3: { up: true, gates: false, ms: 4 } } }]);
    expect(answer.body).not.toContain('10.0.3.7');
  });
});

describe('gateway metrics', () => {
  it('counts answers by route template, method and status, and shows whether ViewPort is lost', async () => {
    const metrics = new Registry();
    let lost: readonly string[] = [];
    const app = buildApp({ ready: async () => true, metrics, projectionLost: () => lost });
    await app.inject('/healthz');
    await app.inject('/healthz');
    await app.inject('/v1/requests/3f1c9a');
    const scrape = async (): Promise<string> => (await app.inject('/metrics')).body;
    let text = await scrape();
    expect(text).toContain('orbit_http_requests_total{method="GET",route="/healthz",status="200"} 2');
    // No route matched: one series for every such URL, never the URL itself.
    expect(text).toContain('orbit_http_requests_total{method="GET",route="unmatched",status="404"} 1');
    expect(text).not.toContain('3f1c9a');
    expect(text).toMatch(/orbit_http_request_duration_seconds_count\{method="GET",route="\/healthz"\} 2/);
    expect(text).toContain('orbit_gateway_projection_lost 0');
    lost = ['orbit.image.stored/0'];
    text = await scrape();
    expect(text).toContain('orbit_gateway_projection_lost 1');
  });
});

/** A gateway whose request store fails as `failure` says (undefined: it lists no request), and the lines it logs. */
function loggingGateway(failure: () => Error | undefined = () => undefined) {
  const lines: Record<string, unknown>[] = [];
  const text: string[] = [];
  const logger = createLogger({ service: 'test', destination: new Writable({ write(chunk: Buffer, _encoding, done) { text.push(chunk.toString()); lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>); done(); } }) });
  const notHere = async (): Promise<never> => { throw new OrbitError('ORBIT_ERR_NOT_UNDER_TEST', 'not under test'); };
  const app = buildApp({
    ready: async () => true, metrics: new Registry(), logger, verify: tokenVerifier({ kind: 'hs256', ...ROUTE_TEST_AUTH }),
    uploads: { stage: notHere, presign: notHere, find: async () => undefined, resume: async () => undefined, presignedWith: async () => undefined, discard: async () => undefined, abandon: async () => 'unknown' as const, givenUp: async () => false },
    names: { uidFor: notHere, peek: notHere },
    requests: {
      get: async () => undefined, finishedAmong: async () => new Set(),
      list: async () => {
        const error = failure();
        if (error) throw error;
        return { requests: [] };
      },
    },
    events: { byCorrelationId: async () => [], byImageUID: async () => ({ entries: [] }) },
    publish: { uploadRequested: notHere },
  });
  return { app, lines, text };
}

describe('gateway log lines about a request', () => {
  it('never holds a token sent in the query string, and keeps the parameters the operation defines', async () => {
    const { app, lines, text } = loggingGateway();
    const unauthenticated = await app.inject({ method: 'GET', url: '/v1/requests?access_token=secret-eyJhbGciOi&limit=5', headers: { 'x-request-id': 'query-token-1' } });
    expect(unauthenticated.statusCode).toBe(401);
    // With a valid token the unknown parameter is refused by the schema, and logged as refused: without its value too.
    const unknown = await app.inject({ method: 'GET', url: '/v1/requests?limit=5&api_key=secret-2&cursor=abc', headers: { authorization: `Bearer ${await routeTestToken('ada')}` } });
    expect(unknown.statusCode).toBe(400);
    const refused = lines.filter((line) => line['msg'] === 'request refused');
    expect(refused.map((line) => line['url'])).toEqual(['/v1/requests?access_token=[redacted]&limit=5', '/v1/requests?limit=5&api_key=[redacted]&cursor=abc']);
    expect(text.join('')).not.toContain('secret');
  });

  it('names the request\'s id, trace and caller on a refusal, so support finds it by the id the user quotes', async () => {
    const { app, lines } = loggingGateway();
    const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
    const anonymous = await app.inject({ method: 'GET', url: '/v1/requests', headers: { 'x-request-id': 'obs-support-ticket-4711', traceparent } });
    expect([anonymous.statusCode, anonymous.headers['x-request-id']]).toEqual([401, 'obs-support-ticket-4711']);
    const known = await app.inject({ method: 'GET', url: '/v1/requests?limit=0', headers: { authorization: `Bearer ${await routeTestToken('ada')}` } });
    expect(known.statusCode).toBe(400);
    const refused = lines.filter((line) => line['msg'] === 'request refused');
    expect(refused[0]).toMatchObject({ reqId: 'obs-support-ticket-4711', traceId: '4bf92f3577b34da6a3ce929d0e0e4736', status: 401 });
    // No user before a token was verified; after it, the user whose token it was.
    expect(refused[0]).not.toHaveProperty('user');
    expect(refused[1]).toMatchObject({ reqId: known.headers['x-request-id'], user: 'ada', traceId: expect.stringMatching(/^[0-9a-f]{32}$/), status: 400 });
  });
});

describe('a request the gateway failed', () => {
  it('answers 500 naming the id to quote, the one its X-Request-Id and the log line carry', async () => {
    let failure: Error | undefined = new Error('a bug of ours');
    const { app, lines } = loggingGateway(() => failure);
    const token = await routeTestToken('ada');
    const failed = await app.inject({ method: 'GET', url: '/v1/requests?limit=5', headers: { authorization: `Bearer ${token}`, 'x-request-id': 'ticket-500' } });
    expect([failed.statusCode, failed.headers['x-request-id']]).toEqual([500, 'ticket-500']);
    expect(failed.json()).toEqual({ code: 'ORBIT_ERR_INTERNAL', message: expect.stringContaining('request id ticket-500'), problems: [] });
    expect(lines.find((line) => line['msg'] === 'request failed')).toMatchObject({ reqId: 'ticket-500', user: 'ada', url: '/v1/requests?limit=5', traceId: expect.stringMatching(/^[0-9a-f]{32}$/) });

    // A store away: the warning names the request too.
    failure = new StoreUnavailableError('MySQL', new Error('ECONNREFUSED'));
    const away = await app.inject({ method: 'GET', url: '/v1/requests', headers: { authorization: `Bearer ${token}` } });
    expect(away.statusCode).toBe(503);
    expect(lines.find((line) => line['msg'] === 'a store did not answer; asked the client to try again')).toMatchObject({ reqId: away.headers['x-request-id'], user: 'ada' });
  });
});
