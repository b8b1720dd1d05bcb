import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from '@orbit/lib';
import { errorBody, sendError } from './errors.js';
import { loggedUrl, requestLogFields } from './request-correlation.js';
import { watchSocketPace } from './socket-pace.js';

/** Why a body was given up: it stopped (nothing for the idle timeout), or it came slower than the floor. */
export type BodyTimeout = 'BODY_IDLE' | 'BODY_TOO_SLOW';

/** The window a body's pace is averaged over, unless the gateway is given another (tests take a shorter one). */
export const BODY_PACE_WINDOW_MS = 60_000;

export interface BodyPaceOptions {
  /** Bytes a second a body must average over each window after its first (ORBIT_MIN_UPLOAD_BYTES_PER_SECOND); 0: no floor. */
  readonly minBytesPerSecond: number;
  /** The window the average is taken over (the gateway's default: BODY_PACE_WINDOW_MS). */
  readonly windowMs: number;
  readonly logger?: Logger;
}

/** Requests answered 408 by the gateway's own timeout: what fails in their handler afterwards is that, not a client gone. */
const timedOut = new WeakMap<IncomingMessage, BodyTimeout>();

export function bodyTimedOut(request: IncomingMessage): BodyTimeout | undefined {
  return timedOut.get(request);
}

interface Reading {
  readonly request: FastifyRequest;
  readonly reply: FastifyReply;
}

function sendsBody(request: IncomingMessage): boolean {
  const length = Number(request.headers['content-length'] ?? 0);
  return request.headers['transfer-encoding'] !== undefined || (Number.isFinite(length) && length > 0);
}

function messageOf(reason: BodyTimeout, options: BodyPaceOptions, idleMs: number): string {
  return reason === 'BODY_IDLE'
    ? `the request body stopped: nothing came for ${Math.round(idleMs / 1000)} s, so it was given up and nothing of it was kept; send it again (BODY_IDLE)`
    : `the request body came slower than ${options.minBytesPerSecond} bytes a second over ${Math.round(options.windowMs / 1000)} s, so it was given up `
      + 'and nothing of it was kept; send it again over a faster link (BODY_TOO_SLOW)';
}

/**
 * Gives up a request body that stops or trickles with a 408 the client can read, then closes the connection: the
 * handler's body stream fails as for a client gone, so what it staged is aborted. Node's idle timeout used to destroy
 * the socket with no answer (logged as the client's ECONNRESET, counted 400), and a body sent a byte every 10 s was
 * never idle, so it was held open for ever (found by a review). A body the gateway itself holds back (a store slow to
 * take what came: the request stream paused, or bytes waiting in it) is not judged for that window.
 */
export function guardBodyPace(app: FastifyInstance, idleMs: number, options: BodyPaceOptions): void {
  const reading = new WeakMap<Socket, Reading>();

  const giveUp = ({ request, reply }: Reading, reason: BodyTimeout): void => {
    timedOut.set(request.raw, reason);
    const socket = request.raw.socket;
    options.logger?.info({ status: 408, reasonCode: reason, method: request.method, url: loggedUrl(request), ...requestLogFields(request), bytesRead: socket.bytesRead },
      'request body timed out; answered 408 and closed the connection, nothing was accepted');
    // Connection: close, so Node ends the socket once the answer is out; a client that reads nothing cannot hold it.
    setTimeout(() => socket.destroy(), 10_000).unref();
    // Answered, the request is no longer the connection's, and its close would not reach it: the multipart reader then
    // waited for the rest of the image for ever, and the staged upload was never aborted. Destroyed, it ends the image.
    socket.once('close', () => request.raw.destroy());
    void sendError(reply.header('connection', 'close'), 408, errorBody('ORBIT_ERR_BAD_REQUEST', messageOf(reason, options, idleMs), [{ field: 'body', message: reason }]));
  };

  app.addHook('onRequest', async (request, reply) => {
    if (!sendsBody(request.raw)) return;
    const socket = request.raw.socket;
    const current = { request, reply };
    reading.set(socket, current);
    const stopPace = options.minBytesPerSecond > 0 ? watchBodyPace(current, options, () => giveUp(current, 'BODY_TOO_SLOW')) : () => undefined;
    reply.raw.once('close', () => {
      stopPace();
      if (reading.get(socket) === current) reading.delete(socket);
    });
  });

  // With a listener here, Node no longer destroys a socket that timed out itself: each is closed below, answered first
  // when a body was being read and no answer had begun (an idle keep-alive connection is closed silently, as before).
  app.server.on('timeout', (socket: Socket) => {
    const current = reading.get(socket);
    if (current && !current.request.raw.complete && !current.reply.sent && !current.reply.raw.headersSent) {
      reading.delete(socket);
      giveUp(current, 'BODY_IDLE');
      return;
    }
    socket.destroy();
  });
}

/** Calls `tooSlow` once a window after the first brought too little of the body the client was free to send. */
function watchBodyPace({ request, reply }: Reading, { minBytesPerSecond, windowMs }: BodyPaceOptions, tooSlow: () => void): () => void {
  let paused = false;
  request.raw.on('pause', () => { paused = true; });
  return watchSocketPace({
    socket: request.raw.socket, minBytesPerSecond, windowMs, judgeFirstWindow: false,
    finished: () => request.raw.complete || reply.sent,
    heldBack: () => {
      const held = paused || request.raw.readableLength > 0 || request.raw.readableFlowing === false;
      paused = false;
      return held;
    },
    onTooSlow: tooSlow,
  });
}
