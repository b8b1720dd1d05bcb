import type { Readable } from 'node:stream';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { cutAnswerOf, type Logger } from '@orbit/lib';
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { bodyTimedOut } from './body-pace.js';
import { clientWentAway } from './client-gone.js';
import { answeredCode } from './errors.js';

/**
 * Counts one request answered outside Fastify's onResponse (a request the shutdown grace cut), as the status its client
 * heard, and that answer's code as a refusal when it had one.
 */
export type CountAnswer = (request: FastifyRequest, status: number, code?: string) => void;

/** The status a request whose client went away before its answer got out is counted as: nginx's "client closed request". */
export const CLIENT_CLOSED_REQUEST = 499;

/**
 * The codes a refusal counter starts with at 0, so an alert on the first after a restart has a series to see rise:
 * a replica full (scale it) apart from one caller's uploads pending (their own behaviour), and what refuses everyone.
 */
export const WATCHED_REFUSAL_CODES = [
  'ORBIT_ERR_GATEWAY_UPLOADS_FULL', 'ORBIT_ERR_STREAMED_UPLOADS_PENDING', 'ORBIT_ERR_REFERENCE_UPLOADS_PENDING', 'ORBIT_ERR_REGISTRY_UPLOADS_PENDING',
  'ORBIT_ERR_STORE_UNAVAILABLE', 'ORBIT_ERR_PROJECTION_LOST', 'ORBIT_ERR_UNAUTHORIZED', 'ORBIT_ERR_BAD_REQUEST', 'ORBIT_ERR_UPLOAD_TOO_LARGE',
] as const;

/**
 * Distinct codes the refusal counter names before it counts the rest as "other". Every code is a constant of the
 * gateway's (about 40, with the transfer rules'), never text a caller sent; the bound keeps a future route that echoes
 * one from making a series per request.
 */
const MAX_REFUSAL_CODES = 100;
const CODE_SHAPE = /^[A-Z][A-Z0-9_]{1,63}$/;

/** An error answer's code as the refusal counter labels it: itself when code-shaped, else "other". */
export function refusalLabel(code: string): string {
  return CODE_SHAPE.test(code) ? code : 'other';
}

/**
 * Requests by route template (never the raw URL: ids would make a series
 * each), method and status, and their duration; plus whether ViewPort is
 * lost, so an operator can alert on the one state that refuses everything.
 */
export function instrumentHttp(app: FastifyInstance, registry: Registry, projectionLost?: () => readonly string[], logger?: Logger): CountAnswer {
  const requests = new Counter({ name: 'orbit_http_requests_total', help: 'HTTP requests answered (499: the client went away before its answer)', labelNames: ['method', 'route', 'status'], registers: [registry] });
  const duration = new Histogram({
    name: 'orbit_http_request_duration_seconds', help: 'Time from request to answer (uploads include streaming the image)', labelNames: ['method', 'route'],
    // To an hour, as the message buckets: a 10 GiB form upload at 20 MB/s streams for about 512 s.
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 600, 1800, 3600], registers: [registry],
  });
  if (projectionLost) {
    new Gauge({
      name: 'orbit_gateway_projection_lost', help: '1 while ViewPort is lost and every request is refused (ORBIT_ERR_PROJECTION_LOST)', registers: [registry],
      collect() { this.set(projectionLost().length > 0 ? 1 : 0); },
    });
  }
  // A URL no route matched has no template; one label for all of them.
  const routeOf = (request: FastifyRequest): string => request.routeOptions.url ?? 'unmatched';
  const counted = new WeakSet<FastifyRequest>();
  const count = (request: FastifyRequest, reply: FastifyReply, status: number): void => {
    if (counted.has(request)) return;
    counted.add(request);
    requests.inc({ method: request.method, route: routeOf(request), status: String(status) });
    duration.observe({ method: request.method, route: routeOf(request) }, reply.elapsedTime / 1000);
  };
  // Fastify's onResponse runs only when an answer finishes (or fails): an upload its client abandoned was counted nowhere,
  // and logged as a 400 nobody received (found by a review). Closed unfinished, a request is counted once, as what its client
  // was left with: 499, or the 408 the gateway gave its body up with.
  // A streamed answer (a chart from S3) whose source failed half way is destroyed by Fastify, unfinished: that is the
  // gateway's failure, not a client gone (it was counted 499 and logged nowhere, found by a reread).
  const failedMidAnswer = new WeakMap<FastifyRequest, Error>();
  app.addHook('onRequest', async (request, reply) => {
    reply.raw.once('close', () => {
      // Finished, its answer got out: onResponse counts it. A request the shutdown grace cut is counted as its 503 by
      // reportCutRequests (cut-requests.ts).
      if (reply.raw.writableFinished || cutAnswerOf(request.raw) !== undefined) return;
      const failure = failedMidAnswer.get(request);
      if (failure !== undefined) {
        count(request, reply, 500);
        logger?.error({ status: 500, method: request.method, route: routeOf(request), requestId: request.id, err: failure.message },
          'answer failed while it was being sent: its source broke off, and the client got a cut answer');
        return;
      }
      count(request, reply, bodyTimedOut(request.raw) !== undefined ? 408 : CLIENT_CLOSED_REQUEST);
    });
  });
  app.addHook('onSend', async (request, _reply, payload) => {
    const stream = payload as Partial<Readable> | null;
    if (stream !== null && typeof stream === 'object' && typeof stream.pipe === 'function' && typeof stream.once === 'function') {
      stream.once('error', (error: Error) => { failedMidAnswer.set(request, error); });
    }
    return payload;
  });
  app.addHook('onResponse', async (request, reply) => { count(request, reply, reply.statusCode); });
  // 429s of a full replica and of one caller's pending uploads were one series, status="429" (found by a review): the
  // answer's code tells them apart. Counted as the answer is sent, but not the "answer" to a client gone mid-body.
  const refusals = new Counter({ name: 'orbit_http_refusals_total', help: 'Error answers (4xx, 5xx) by their code (ORBIT_ERR_*, or a transfer rule\'s)', labelNames: ['code'], registers: [registry] });
  const codes = new Set<string>(WATCHED_REFUSAL_CODES);
  for (const code of codes) refusals.inc({ code }, 0);
  const countRefusal = (code: string): void => {
    if (!codes.has(code) && codes.size < MAX_REFUSAL_CODES) codes.add(code);
    refusals.inc({ code: codes.has(code) ? code : 'other' });
  };
  app.addHook('onSend', async (request, reply, payload) => {
    // A request cut at shutdown: its client heard the cut's 503, counted with its code by reportCutRequests, not this.
    // The code is the one the answer was sent with (errors.ts sendError), not read back out of its bytes.
    if (reply.statusCode < 400 || clientWentAway(request.raw) || cutAnswerOf(request.raw) !== undefined) return payload;
    const code = answeredCode(reply);
    if (code !== undefined) countRefusal(refusalLabel(code));
    return payload;
  });
  return (request, status, code) => {
    if (!counted.has(request)) {
      counted.add(request);
      requests.inc({ method: request.method, route: routeOf(request), status: String(status) });
    }
    if (code !== undefined) countRefusal(code);
  };
}
