import cors from '@fastify/cors';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { RouteMethods } from './route-methods.js';

/**
 * Browser origins that may call the API (a portal UI on another host):
 * `ORBIT_CORS_ORIGINS=https://portal.example.com,https://admin.example.com`,
 * or `*`. Tokens travel in the Authorization header, never in cookies, so
 * `*` exposes nothing a browser holds; empty (the default) sends no CORS
 * headers and browsers keep other origins' scripts out.
 */
export const corsOriginsEnv = z.string().default('').transform((text, context): readonly string[] => {
  const origins: string[] = [];
  for (const entry of text.split(',').map((part) => part.trim()).filter(Boolean)) {
    if (entry === '*') {
      origins.push(entry);
      continue;
    }
    const url = URL.canParse(entry) ? new URL(entry) : null;
    if (url === null || !['http:', 'https:'].includes(url.protocol) || url.pathname !== '/' || url.search !== '' || url.hash !== '' || url.username !== '' || url.password !== '') {
      context.addIssue({ code: 'custom', message: `"${entry}" is not an origin like https://portal.example.com (scheme, host and port only), or *` });
      continue;
    }
    // As browsers send it: lower-case host, no default port, no trailing slash.
    origins.push(url.origin);
  }
  if (origins.includes('*') && origins.length > 1) context.addIssue({ code: 'custom', message: '* already allows every origin: list origins, or * alone' });
  return origins;
});

/** Headers a browser script may send besides the safelisted ones, and those it may read from an answer. */
// A script revalidating what it holds sends If-None-Match and reads the ETag; one tracing its calls sends traceparent
// (and tracestate) and its own X-Request-Id, and reads the one answered; a download's name is for the script
// too (the browser hides every answer header not listed here but the safelisted six). X-Orbit-Link-Expires is not
// listed: it comes on a 302, whose headers a browser never shows a script.
const ALLOWED_HEADERS = ['authorization', 'content-type', 'idempotency-key', 'if-match', 'if-none-match', 'traceparent', 'tracestate', 'x-request-id'];
// X-Request-Id: the id a portal shows a user to quote to support (the gateway's log lines name it as reqId).
const EXPOSED_HEADERS = ['idempotent-replayed', 'retry-after', 'www-authenticate', 'allow', 'location', 'etag', 'content-disposition', 'x-request-id'];
/** Seconds a browser may keep a preflight's answer (Chromium keeps at most 7200). */
const PREFLIGHT_MAX_AGE = 600;

const isPreflight = (request: FastifyRequest): boolean =>
  request.method === 'OPTIONS' && request.headers.origin !== undefined && request.headers['access-control-request-method'] !== undefined;

/**
 * CORS for the listed origins, before authentication (a preflight carries no
 * token). A plain OPTIONS, which is no preflight, keeps its answer: 204 with
 * Allow on a path that exists, 404 elsewhere. The methods allowed are those
 * the routes take, read when a preflight comes (routes register later): a
 * list kept by hand fell behind the API once already (DELETE was missing).
 */
export function allowBrowserOrigins(app: FastifyInstance, origins: readonly string[], routes: RouteMethods): void {
  if (origins.length === 0) return;
  const origin = origins.includes('*') ? '*' : [...origins];
  void app.register(cors, {
    delegator: (request, callback) => {
      if (request.method === 'OPTIONS' && !isPreflight(request)) return callback(null, { origin: false });
      callback(null, { origin, methods: routes.all().filter((method) => method !== 'OPTIONS'), allowedHeaders: ALLOWED_HEADERS, exposedHeaders: EXPOSED_HEADERS, maxAge: PREFLIGHT_MAX_AGE, strictPreflight: false });
    },
  });
}
