import type { Socket } from 'node:net';

/** Why Node's HTTP parser refused a request, in words a client's author can act on; its own code is kept in the message. */
function refusalOf(code: string | undefined): { status: number; reason: string; message: string } {
  if (code === 'ERR_HTTP_REQUEST_TIMEOUT') return { status: 408, reason: 'Request Timeout', message: 'the request did not arrive in time' };
  if (code === 'HPE_HEADER_OVERFLOW') return { status: 431, reason: 'Request Header Fields Too Large', message: 'the request headers are over the size limit (16 KiB in all)' };
  if (code === 'HPE_UNEXPECTED_CONTENT_LENGTH' || code === 'HPE_INVALID_TRANSFER_ENCODING') {
    return { status: 400, reason: 'Bad Request', message: `the request has both Content-Length and Transfer-Encoding, or a Transfer-Encoding other than chunked last; send one length (${code})` };
  }
  if (code === 'HPE_INVALID_CHUNK_SIZE') return { status: 400, reason: 'Bad Request', message: 'a chunk of the chunked body has no valid size (HPE_INVALID_CHUNK_SIZE)' };
  return { status: 400, reason: 'Bad Request', message: `the request is not valid HTTP/1.1 (${code ?? 'unreadable'})` };
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
  const { status, reason, message } = refusalOf(error.code);
  const body = JSON.stringify({ code: 'ORBIT_ERR_BAD_REQUEST', message });
  if (socket.writable) {
    socket.write(`HTTP/1.1 ${status} ${reason}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
  }
  socket.destroy(error);
}
