import type { IncomingMessage } from 'node:http';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from './logger.js';
import { rawJsonAnswer } from './raw-answer.js';

/** How long cut requests get to run their own cleanup (a staged upload aborted) before the stores they use close. */
export const CUT_REQUESTS_SETTLE_MS = 3_000;

/** Seconds a cut request's 503 asks its client to wait: another instance (or this one restarted) takes the retry. */
export const CUT_RETRY_AFTER_SECONDS = 1;

/** What a request cut at the end of the grace is told, in the service's usual error body. */
export interface CutAnswer {
  readonly code: string;
  readonly message: string;
}

/** Which kind of request is cut: one still reading its body was not accepted; one past it may yet be recorded. */
export interface CutRequest {
  readonly bodyArrived: boolean;
}

export interface ShutdownGraceOptions {
  readonly graceMs: number;
  readonly logger: Logger;
  /** @default CUT_REQUESTS_SETTLE_MS */
  readonly settleMs?: number;
  /**
   * The body of the 503 (with Retry-After and Connection: close) a cut request gets when its answer has not started.
   * @default none: the connection is only closed, and its client hears nothing
   */
  readonly answerCut?: (cut: CutRequest) => CutAnswer;
}

/**
 * The 503 each cut request's client was told, by request. Its route then sees its client go away (a premature close, a
 * body cut short) and answers into a closed connection: that answer is the one its log line and metrics would report,
 * not the 503 its client heard.
 */
const answeredAtCut = new WeakMap<IncomingMessage, CutAnswer>();

/** The 503 a request was answered when the shutdown grace cut it; undefined for any other request. */
export function cutAnswerOf(request: IncomingMessage): CutAnswer | undefined {
  return answeredAtCut.get(request);
}

/** Closes an HTTP app within its shutdown grace; see shutdownGrace. */
export interface GracefulClose {
  /** Resolves with the number of requests cut (0 when all finished within the grace). */
  close(): Promise<number>;
}

interface InFlight {
  readonly reply: FastifyReply;
  readonly method: string;
  readonly url: string;
  readonly requestId: string;
  readonly since: number;
}

/**
 * Keeps an HTTP app's shutdown within a deadline. Call before listen (it adds hooks that track the requests in
 * flight). close() stops accepting and lets requests in flight finish; whatever still runs after `graceMs` (a stalled
 * or slow upload, held until then for as long as its client took) is cut: one whose answer has not started is first
 * answered 503 (`answerCut`), so its client knows to send it again, then its connection is closed; the route sees its
 * client go away and runs the cleanup it runs for that (a staged upload aborted, nothing accepted, while its body
 * was still arriving; one whose body had arrived may still be recorded), given `settleMs` to do so before the caller
 * closes the stores. Each cut request is named in one warn line.
 */
export function shutdownGrace(app: FastifyInstance, options: ShutdownGraceOptions): GracefulClose {
  const inFlight = new Map<FastifyRequest, InFlight>();
  app.addHook('onRequest', async (request, reply) => {
    inFlight.set(request, { reply, method: request.method, url: request.url.split('?')[0] ?? request.url, requestId: request.id, since: Date.now() });
    reply.raw.once('finish', () => inFlight.delete(request));
  });
  // An answer to a connection gone (a cut one) never finishes; its route has done its cleanup once it answers.
  app.addHook('onSend', async (request, reply, payload) => {
    if (request.raw.destroyed || reply.raw.destroyed || reply.raw.socket === null || reply.raw.socket.destroyed) inFlight.delete(request);
    return payload;
  });
  const described = (now: number) => [...inFlight.entries()].map(([request, { method, url, requestId, since }]) => ({
    method, url, requestId, runningSeconds: Math.round((now - since) / 1000), bodyArrived: request.raw.complete,
  }));
  return {
    close: async () => {
      const closed = app.close();
      let timer: NodeJS.Timeout | undefined;
      const graceOver = new Promise<'grace over'>((resolve) => { timer = setTimeout(resolve, options.graceMs, 'grace over'); });
      const first = await Promise.race([closed.then(() => 'closed' as const), graceOver]);
      clearTimeout(timer);
      if (first === 'closed') return 0;
      const cut = described(Date.now());
      const answered = options.answerCut === undefined ? 0 : await answerCutRequests(inFlight, options.answerCut);
      options.logger.warn(
        { graceSeconds: options.graceMs / 1000, cut, answered503: answered },
        `shutdown grace over: cutting ${cut.length} request(s) still in flight, ${answered} of them answered 503 with Retry-After (the others had begun their answer); one still reading its body is not accepted; one whose body had arrived may still be recorded in the next seconds: its client should look for it (GET /v1/requests) or send it again with its Idempotency-Key`,
      );
      app.server.closeAllConnections();
      await closed;
      const settleUntil = Date.now() + (options.settleMs ?? CUT_REQUESTS_SETTLE_MS);
      while (inFlight.size > 0 && Date.now() < settleUntil) await new Promise((resolve) => setTimeout(resolve, 20));
      if (inFlight.size > 0) options.logger.warn({ unsettled: described(Date.now()) }, 'cut requests still cleaning up; stopping without waiting for them');
      return cut.length;
    },
  };
}

/** The most a cut waits for its 503s to reach the kernel: a client that reads nothing must not hold the stop. */
const CUT_ANSWER_FLUSH_MS = 1_000;

/**
 * Writes the 503 straight onto each cut request's socket, before the connection is closed under its route: the route
 * still sees its client go away and cleans up as for any client gone, and Fastify's own answer after that goes
 * nowhere, as it does for a cut request without one. Resolves, with how many were answered, once the answers are
 * written out (a socket destroyed first would drop them).
 */
async function answerCutRequests(inFlight: ReadonlyMap<FastifyRequest, InFlight>, answerCut: (cut: CutRequest) => CutAnswer): Promise<number> {
  const written: Promise<void>[] = [];
  for (const [request, { reply }] of inFlight) {
    const socket = reply.raw.socket;
    // A response already begun can only be cut: bytes after its start would corrupt it.
    if (reply.raw.headersSent || socket === null || !socket.writable) continue;
    const answer = answerCut({ bodyArrived: request.raw.complete });
    answeredAtCut.set(request.raw, answer);
    written.push(new Promise<void>((resolve) => { socket.write(cutResponse(request, reply, answer), () => resolve()); }));
    // No more of its body reaches the route while the answer goes out: an upload told 503 must not complete meanwhile.
    socket.pause();
  }
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([Promise.all(written), new Promise((resolve) => { timer = setTimeout(resolve, CUT_ANSWER_FLUSH_MS); })]);
  clearTimeout(timer);
  return written.length;
}

/**
 * Headers of the reply so far that the 503 keeps: its id and CORS, so a browser and a log can match it. Not the
 * route's own (a chart download's ETag and `Content-Disposition: attachment` had the JSON saved as the .tgz).
 */
const CARRIED_HEADER = /^(?:x-request-id|vary|access-control-.*)$/i;

/** HTTP/1.1 503 with Retry-After and the reply's carried headers; without a body for a HEAD. */
function cutResponse(request: FastifyRequest, reply: FastifyReply, answer: CutAnswer): string {
  const carried = Object.fromEntries(Object.entries(reply.getHeaders())
    .filter(([name, value]) => CARRIED_HEADER.test(name) && value !== undefined)
    .map(([name, value]) => [name, Array.isArray(value) ? value.map(String) : String(value)]));
  return rawJsonAnswer(503, { code: answer.code, message: answer.message, problems: [] }, { 'Retry-After': String(CUT_RETRY_AFTER_SECONDS), ...carried }, { head: request.method === 'HEAD' });
}
