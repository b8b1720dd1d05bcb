import cors from '@fastify/cors';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { RouteMethods } from './route-methods.js';

/** Headers a browser script may send besides the safelisted ones, and those it may read from an answer. */
// A script revalidating what it holds sends If-None-Match and reads the ETag; one tracing its calls sends traceparent
// (and tracestate) and its own X-Request-Id, and reads the one answered; a download's name is for the script
// too (the browser hides every answer header not listed here but the safelisted six). X-Orbit-Link-Expires, and a
// download's X-Checksum-Sha256 and Repr-Digest, are not listed: they come on a 302 alone, whose headers a browser never
// shows a script (the JSON link carries its sha256 in its body).
// A form upload pins its bytes with the checksum headers the gateway reads (upload-checksum.ts: X-Checksum-Sha256 and
// Artifactory's others, S3's x-amz-checksum-sha256 and -sha1; body-digest-headers.ts: RFC 9530's Content-Digest and
// Repr-Digest, Digest, Content-MD5): the preflight refused every one of them (found by a review). cors.test.ts holds
// this to every header the API document names, so one added there and not here fails (kept apart from openapi.ts,
// which config.ts, importing this, need not load).
const ALLOWED_HEADERS = [
  'authorization', 'content-type', 'idempotency-key', 'if-match', 'if-none-match', 'traceparent', 'tracestate', 'x-request-id',
  'x-checksum-sha256', 'x-checksum-sha1', 'x-checksum-md5', 'x-checksum', 'content-digest', 'repr-digest', 'digest', 'content-md5',
  'x-amz-checksum-sha256', 'x-amz-checksum-sha1',
];
// X-Request-Id: the id a portal shows a user to quote to support (the gateway's log lines name it as reqId).
const EXPOSED_HEADERS = ['idempotent-replayed', 'retry-after', 'www-authenticate', 'allow', 'location', 'etag', 'content-disposition', 'x-request-id'];
/** Seconds a browser may keep a preflight's answer (Chromium keeps at most 7200). */
const PREFLIGHT_MAX_AGE = 600;

/**
 * The CORS headers @fastify/cors gives an answer to `origin` (the request's Origin header), for one sent where no hook
 * runs: a URL the router cannot read (bad percent-encoding) is answered by Fastify's frameworkErrors alone. Without
 * them the browser hides the refusal from the portal's script, which sees only "Failed to fetch" (found by a review).
 * None with no origins listed; to an origin not listed, only Vary: Origin, as every other answer.
 */
export function browserOriginHeaders(origins: readonly string[], origin: string | readonly string[] | undefined): Readonly<Record<string, string>> {
  if (origins.length === 0) return {};
  const sent = typeof origin === 'string' ? origin : undefined;
  const allowed = origins.includes('*') ? '*' : sent !== undefined && origins.includes(sent) ? sent : undefined;
  return { vary: 'Origin', ...(allowed === undefined ? {} : { 'access-control-allow-origin': allowed, 'access-control-expose-headers': EXPOSED_HEADERS.join(', ') }) };
}

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
