import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { rawJsonAnswer } from '@orbit/lib';
import { errorBody } from './errors.js';

/** Requests read off each connection whose answers have not gone yet. */
const unanswered = new WeakMap<Socket, Set<IncomingMessage>>();
/** The refusal of what followed them, held until they are answered. */
const heldRefusals = new WeakMap<Socket, () => void>();
/** Longest a refusal waits for the answers before it: a handler that never answers must not keep the connection open. */
const HOLD_MS = 60_000;

/**
 * Notes a request until its answer has gone (an onRequest hook): bytes after it
 * that are not HTTP must not be answered before it. A client pipelining an upload
 * and something broken (or sending a Content-Length shorter than its body) got
 * only the 400, and its upload was accepted all the same.
 */
export function awaitingAnswer(request: IncomingMessage, response: ServerResponse): void {
  const socket = request.socket;
  const waiting = unanswered.get(socket) ?? new Set<IncomingMessage>();
  unanswered.set(socket, waiting);
  waiting.add(request);
  response.once('close', () => {
    waiting.delete(request);
    if (waiting.size > 0) return;
    const refusal = heldRefusals.get(socket);
    heldRefusals.delete(socket);
    refusal?.();
  });
}

/** Why Node's HTTP parser refused a request, in words a client's author can act on; its own code is kept in the message. */
function refusalOf(code: string | undefined): { status: number; message: string } {
  if (code === 'ERR_HTTP_REQUEST_TIMEOUT') return { status: 408, message: 'the request did not arrive in time' };
  if (code === 'HPE_HEADER_OVERFLOW') return { status: 431, message: 'the request headers are over the size limit (16 KiB in all)' };
  if (code === 'HPE_UNEXPECTED_CONTENT_LENGTH' || code === 'HPE_INVALID_TRANSFER_ENCODING') {
    return { status: 400, message: `the request has both Content-Length and Transfer-Encoding, or a Transfer-Encoding other than chunked last; send one length (${code})` };
  }
  if (code === 'HPE_INVALID_CHUNK_SIZE') return { status: 400, message: 'a chunk of the chunked body has no valid size (HPE_INVALID_CHUNK_SIZE)' };
  return { status: 400, message: `the request is not valid HTTP/1.1 (${code ?? 'unreadable'})` };
}

/**
 * Answers what Node's HTTP parser refuses before any route sees it (a bad
 * chunk size, Content-Length with Transfer-Encoding, oversized headers) in
 * Orbit's shape, `{code, message}`, as every other refusal; Fastify's own
 * answer there has no code. The connection is closed: what follows on it
 * cannot be read either.
 */
export function answerClientError(error: Error & { code?: string }, socket: Socket): void {
  // A reset or closed connection has nobody to answer.
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  // Held already: the broken parser fails again on every chunk that follows, and each would hold another refusal
  // (and the chunk it failed on) for a minute; one client sending garbage held 1.2 GiB so (found by a review).
  if (heldRefusals.has(socket)) return;
  const waiting = [...(unanswered.get(socket) ?? [])];
  // Requests read whole before the bad bytes are answered first, in order (RFC 9112 §9.3.2); one whose own body is
  // what the parser refused is not whole, and the refusal is its answer.
  if (waiting.length > 0 && waiting.every((request) => request.complete)) {
    const timer = setTimeout(() => {
      heldRefusals.delete(socket);
      refuse(error, socket);
    }, HOLD_MS);
    timer.unref();
    heldRefusals.set(socket, () => {
      clearTimeout(timer);
      refuse(error, socket);
    });
    // Nothing after the bad bytes can be read: stop reading while the answers go out (writing goes on).
    socket.pause();
    return;
  }
  refuse(error, socket);
}

function refuse(error: Error & { code?: string }, socket: Socket): void {
  if (socket.destroyed) return;
  const { status, message } = refusalOf(error.code);
  if (socket.writable) socket.write(rawJsonAnswer(status, errorBody('ORBIT_ERR_BAD_REQUEST', message)));
  socket.destroy(error);
}
