import { describe, expect, it } from 'vitest';
import { readConfig } from '@orbit/lib';
import { gatewayEnv } from './config.js';
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
      'access-control-allow-headers': 'authorization, content-type, idempotency-key, if-match, if-none-match, traceparent, tracestate, x-request-id', 'access-control-max-age': '600',
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
  });
});
