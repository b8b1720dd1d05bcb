import { describe, expect, it } from 'vitest';
import { readConfig } from '@orbit/lib';
import { gatewayEnv } from './config.js';
import { browserOriginHeaders } from './cors.js';
import { routeTestGateway, routeTestToken } from './testing/route-gateway.js';

const PORTAL = 'https://portal.example.com';
const UID = 'C'.repeat(60);

function preflight(origin: string, method = 'POST', requestHeaders = 'authorization, content-type, idempotency-key') {
  return { method: 'OPTIONS' as const, url: '/v1/uploads', headers: { origin, 'access-control-request-method': method, 'access-control-request-headers': requestHeaders } };
}

describe('a portal UI on another origin (ORBIT_CORS_ORIGINS)', () => {
  it('answers a listed origin\'s preflight without a token, and its calls, refusals included, with headers its script may read', async () => {
    const app = routeTestGateway({ uid: UID, corsOrigins: [PORTAL] });
    const answer = await app.inject(preflight(PORTAL));
    expect(answer.statusCode).toBe(204);
    expect(answer.headers).toMatchObject({
      'access-control-allow-origin': PORTAL, 'access-control-allow-methods': 'DELETE, GET, HEAD, POST',
      'access-control-allow-headers': 'authorization, content-type, idempotency-key, if-match, if-none-match, traceparent, tracestate, x-request-id, '
        + 'x-checksum-sha256, x-checksum-sha1, x-checksum-md5, x-checksum, content-digest, repr-digest, digest, content-md5, x-amz-checksum-sha256, x-amz-checksum-sha1', 'access-control-max-age': '600',
    });
    expect(answer.headers['vary']).toContain('Origin');

    const listed = await app.inject({ method: 'GET', url: '/v1/images', headers: { origin: PORTAL, authorization: `Bearer ${await routeTestToken('ada')}` } });
    expect(listed.statusCode).toBe(200);
    expect(listed.headers['access-control-allow-origin']).toBe(PORTAL);
    expect(String(listed.headers['access-control-expose-headers']).split(',').map((name) => name.trim()))
      .toEqual(expect.arrayContaining(['idempotent-replayed', 'etag', 'content-disposition', 'x-request-id']));
    // The id a portal shows its user to quote to support is one its scripts can read.
    expect(listed.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    // A refusal the script must be able to read: without the header the browser hides its body.
    for (const refused of [
      await app.inject({ method: 'GET', url: '/v1/images', headers: { origin: PORTAL } }),
      await app.inject({ method: 'GET', url: '/v1/images/nope', headers: { origin: PORTAL, authorization: `Bearer ${await routeTestToken('ada')}` } }),
      await app.inject({ method: 'DELETE', url: `/v1/images/${UID}`, headers: { origin: PORTAL } }),
    ]) {
      expect(refused.statusCode).toBeGreaterThanOrEqual(400);
      expect(refused.headers['access-control-allow-origin'], refused.body).toBe(PORTAL);
    }
  });

  it('lets a form upload pin its bytes: the preflight allows every header the API document says a request may carry (found by a review: the checksum headers were refused)', async () => {
    const app = routeTestGateway({ uid: UID, corsOrigins: [PORTAL] });
    const document = (await app.inject('/docs/json')).json<{ paths: Record<string, Record<string, { parameters?: { name: string; in: string }[] }>> }>();
    const documented = [...new Set(Object.values(document.paths).flatMap((methods) => Object.values(methods))
      .flatMap((operation) => operation.parameters ?? []).filter((parameter) => parameter.in === 'header').map((parameter) => parameter.name.toLowerCase()))];
    expect(documented).toEqual(expect.arrayContaining(['x-checksum-sha256', 'content-digest', 'repr-digest', 'digest', 'content-md5', 'x-amz-checksum-sha256', 'x-amz-checksum-sha1', 'idempotency-key', 'if-none-match']));
    const answer = await app.inject(preflight(PORTAL, 'POST', ['authorization', 'content-type', ...documented].join(', ')));
    expect(answer.headers['access-control-allow-origin']).toBe(PORTAL);
    const allowed = String(answer.headers['access-control-allow-headers']).split(',').map((name) => name.trim());
    expect(documented.filter((name) => !allowed.includes(name))).toEqual([]);
  });

  it('lets a portal abandon an upload: the preflight of a DELETE allows DELETE', async () => {
    const app = routeTestGateway({ uid: UID, corsOrigins: [PORTAL] });
    const answer = await app.inject({ ...preflight(PORTAL, 'DELETE', 'authorization'), url: '/v1/uploads/0f8e8a6c-3b1e-4b8e-9c1a-2d3e4f5a6b7c' });
    expect(answer.statusCode).toBe(204);
    expect(answer.headers['access-control-allow-origin']).toBe(PORTAL);
    expect(String(answer.headers['access-control-allow-methods']).split(', ')).toContain('DELETE');
  });

  it('gives an unlisted origin nothing to go on, and keeps a plain OPTIONS as it was', async () => {
    const app = routeTestGateway({ uid: UID, corsOrigins: [PORTAL] });
    const other = await app.inject(preflight('https://evil.example.net'));
    expect(other.headers['access-control-allow-origin']).toBeUndefined();
    const call = await app.inject({ method: 'GET', url: '/v1/images', headers: { origin: 'https://evil.example.net', authorization: `Bearer ${await routeTestToken('ada')}` } });
    expect(call.headers['access-control-allow-origin']).toBeUndefined();
    const plain = await app.inject({ method: 'OPTIONS', url: `/v1/images/${UID}` });
    expect(plain.statusCode).toBe(204);
    expect(plain.headers['allow']).toBe('GET, HEAD');
    expect((await app.inject({ method: 'GET', url: '/v1/nothing-here' })).statusCode).toBe(404);
    expect((await app.inject({ method: 'OPTIONS', url: '/v1/nothing-here' })).statusCode).toBe(404);
  });

  it('sends no CORS headers at all by default, and * allows every origin', async () => {
    const closed = routeTestGateway({ uid: UID });
    const refused = await closed.inject(preflight(PORTAL));
    expect(refused.headers['access-control-allow-origin']).toBeUndefined();
    const open = routeTestGateway({ uid: UID, corsOrigins: ['*'] });
    expect((await open.inject(preflight('http://localhost:5173', 'GET', 'authorization'))).headers['access-control-allow-origin']).toBe('*');
  });

  it('reads origins as browsers send them and refuses what is not one, naming it', () => {
    const origins = (value: string) => readConfig(gatewayEnv, { ORBIT_CORS_ORIGINS: value }).ORBIT_CORS_ORIGINS;
    expect(origins('')).toEqual([]);
    expect(origins('https://Portal.Example.com/, http://localhost:5173,https://a.example:443')).toEqual([PORTAL, 'http://localhost:5173', 'https://a.example']);
    expect(origins('*')).toEqual(['*']);
    expect(() => origins('https://portal.example.com/app')).toThrow(/"https:\/\/portal.example.com\/app" is not an origin/);
    expect(() => origins('portal.example.com')).toThrow(/is not an origin/);
    expect(() => origins('ftp://portal.example.com')).toThrow(/is not an origin/);
    expect(() => origins('*,https://portal.example.com')).toThrow(/\* alone/);
    // Taken as written it was an origin no browser sends (found by a review): refused at start, naming it.
    for (const wildcard of ['https://*.portal.example.com', 'https://portal.*.com', '*.portal.example.com', 'https://portal.example.com:*']) {
      expect(() => origins(`${PORTAL},${wildcard}`), wildcard).toThrow(`"${wildcard}": * inside an origin is no wildcard here`);
    }
  });
});

describe('browserOriginHeaders: CORS for an answer no hook sends (a URL the router cannot read)', () => {
  it('gives a listed origin what @fastify/cors gives it, an unlisted one only Vary, and nothing when no origin is listed', () => {
    const exposed = { 'access-control-expose-headers': 'idempotent-replayed, retry-after, www-authenticate, allow, location, etag, content-disposition, x-request-id' };
    expect(browserOriginHeaders([PORTAL], PORTAL)).toEqual({ vary: 'Origin', 'access-control-allow-origin': PORTAL, ...exposed });
    expect(browserOriginHeaders(['*'], 'http://localhost:5173')).toEqual({ vary: 'Origin', 'access-control-allow-origin': '*', ...exposed });
    expect(browserOriginHeaders([PORTAL], 'https://evil.example.net')).toEqual({ vary: 'Origin' });
    expect(browserOriginHeaders([PORTAL], undefined)).toEqual({ vary: 'Origin' });
    // Compared as the browser sends it, exactly: the listed origins are kept in that form (corsOriginsEnv).
    expect(browserOriginHeaders([PORTAL], 'https://PORTAL.example.com')).toEqual({ vary: 'Origin' });
    expect(browserOriginHeaders([], PORTAL)).toEqual({});
  });

  it('matches what a routed answer carries, so a portal reads every refusal alike', async () => {
    const app = routeTestGateway({ uid: UID, corsOrigins: [PORTAL] });
    const routed = await app.inject({ method: 'GET', url: '/v1/images', headers: { origin: PORTAL } });
    const computed = browserOriginHeaders([PORTAL], PORTAL);
    for (const [name, value] of Object.entries(computed)) expect(String(routed.headers[name]), name).toContain(value);
  });
});

describe('headers a browser is told on every answer (found by a browser-portal review)', () => {
  it('gives a URL the router cannot read (no hook runs for it) the CORS headers, so the portal\'s script can read the refusal', async () => {
    const app = routeTestGateway({ uid: UID, corsOrigins: [PORTAL] });
    const refused = await app.inject({ method: 'GET', url: '/v1/images/%E0%A4%A', headers: { origin: PORTAL } });
    expect(refused.statusCode).toBe(400);
    expect(refused.json()).toMatchObject({ code: 'ORBIT_ERR_BAD_REQUEST' });
    expect(refused.headers).toMatchObject({ 'access-control-allow-origin': PORTAL, 'x-content-type-options': 'nosniff' });
  });

  it('says nosniff on every answer and forbids framing of /docs, where users paste their token', async () => {
    const app = routeTestGateway({ uid: UID });
    const api = await app.inject({ method: 'GET', url: '/v1/images' });
    expect(api.headers['x-content-type-options']).toBe('nosniff');
    // An error answer (here the 401) is kept by no cache.
    expect([api.statusCode, api.headers['cache-control']]).toEqual([401, 'no-store']);
    expect(api.headers['content-security-policy']).toBeUndefined();
    const docs = await app.inject({ method: 'GET', url: '/docs/' });
    expect(docs.headers).toMatchObject({ 'x-content-type-options': 'nosniff', 'content-security-policy': "frame-ancestors 'none'", 'x-frame-options': 'DENY' });
  });
});
