import { randomUUID } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import type { FastifyRequest } from 'fastify';
import { childSpan, parseTraceparent, type TraceContext } from '@orbit/lib';

/**
 * What ties one HTTP request to what support, the logs and the caller's own
 * tracing know of it:
 * - its id (`request.id`, Fastify's genReqId): the caller's `X-Request-Id`
 *   when it is one we can repeat safely, else a UUID of ours; every answer
 *   carries it back in `X-Request-Id`, and every gateway log line about the
 *   request names it as `reqId` (Fastify's own name for it);
 * - its trace: a span of the gateway's, a child of the caller's W3C
 *   `traceparent` when that is valid (else a new trace), which the commands
 *   it publishes continue, so a caller's trace reaches the pipeline's;
 * - its caller's user name, once the token was verified.
 */
export const REQUEST_ID_HEADER = 'x-request-id';

/** A client's id we echo and log as sent: 1–128 characters no header, log or shell reads as anything but text. */
const CLIENT_REQUEST_ID = /^[A-Za-z0-9._:@/+=-]{1,128}$/;

/** The id a client sent in X-Request-Id, if it is well formed (two of them, joined by Node with ", ", are not). */
export function clientRequestId(headers: IncomingHttpHeaders): string | undefined {
  const sent = headers[REQUEST_ID_HEADER];
  return typeof sent === 'string' && CLIENT_REQUEST_ID.test(sent) ? sent : undefined;
}

/** Fastify's genReqId: the client's id when well formed, else a new UUID; anything else it sent is ignored, never refused. */
export function requestIdOf(raw: { readonly headers: IncomingHttpHeaders }): string {
  return clientRequestId(raw.headers) ?? randomUUID();
}

interface Correlation {
  trace?: TraceContext;
  user?: string;
}

const correlations = new WeakMap<FastifyRequest, Correlation>();

function correlationOf(request: FastifyRequest): Correlation {
  let found = correlations.get(request);
  if (found === undefined) {
    found = {};
    correlations.set(request, found);
  }
  return found;
}

/**
 * The gateway's span for `request`, the same each time it is asked: a child of the caller's `traceparent` when that
 * is valid (one header, W3C version 00), else the start of a new trace. An invalid one is ignored, never refused.
 */
export function traceOf(request: FastifyRequest): TraceContext {
  const correlation = correlationOf(request);
  if (correlation.trace === undefined) {
    const sent = request.headers['traceparent'];
    correlation.trace = childSpan(typeof sent === 'string' ? parseTraceparent(sent) : undefined);
  }
  return correlation.trace;
}

/** Notes who sent `request` once their token is verified, for the log lines about it. */
export function noteCaller(request: FastifyRequest, username: string): void {
  correlationOf(request).user = username;
}

/** The fields every gateway log line about a request carries: its id, its trace id, and its caller when known. */
export function requestLogFields(request: FastifyRequest): { reqId: string; traceId: string; user?: string } {
  const { user } = correlationOf(request);
  return { reqId: request.id, traceId: traceOf(request).traceId, ...(user === undefined ? {} : { user }) };
}

/** What a redacted query value is written as. */
const REDACTED = '[redacted]';

/** A parameter name kept as sent although the operation does not define it: words only (access_token, api_key); a name with digits or escapes may be a secret sent bare. */
const WORDY_NAME = /^[A-Za-z_-]{1,64}$/;

function decodedName(raw: string): string | undefined {
  try {
    return decodeURIComponent(raw.replace(/\+/g, ' '));
  } catch {
    return undefined;
  }
}

/**
 * `url` with every query value redacted except those of `kept` (the parameters the operation defines): a token sent
 * as `?access_token=` never reaches a log line, while `?limit=5` still reads as sent. Names stay, unless they are more
 * than words (see WORDY_NAME); the path is kept as it is.
 */
export function redactedUrl(url: string, kept: ReadonlySet<string>): string {
  const mark = url.indexOf('?');
  if (mark < 0) return url;
  const query = url.slice(mark + 1);
  if (query === '') return url;
  const parts = query.split('&').map((part) => {
    if (part === '') return part;
    const equals = part.indexOf('=');
    const rawName = equals < 0 ? part : part.slice(0, equals);
    const name = decodedName(rawName);
    if (name !== undefined && kept.has(name)) return part;
    return `${WORDY_NAME.test(rawName) ? rawName : REDACTED}=${REDACTED}`;
  });
  return `${url.slice(0, mark)}?${parts.join('&')}`;
}

/** The query parameters a route's schema defines (its `querystring` properties). */
function definedParameters(request: FastifyRequest): ReadonlySet<string> {
  // routeOptions is undefined-safe here: a request the router refused (a malformed URL) has no route.
  const schema = (request.routeOptions as Partial<FastifyRequest['routeOptions']> | undefined)?.schema;
  const querystring = schema?.querystring;
  const properties = typeof querystring === 'object' && querystring !== null ? (querystring as { properties?: unknown }).properties : undefined;
  return new Set(typeof properties === 'object' && properties !== null ? Object.keys(properties) : []);
}

/** request.url as it may be logged: values of query parameters its operation does not define are redacted. */
export function loggedUrl(request: FastifyRequest): string {
  return redactedUrl(request.url, definedParameters(request));
}
