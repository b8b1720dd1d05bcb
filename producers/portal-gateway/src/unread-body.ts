import type { IncomingMessage } from 'node:http';

/**
 * After an answer that came before the body was read (an upload refused at
 * its metadata, a store away): read the rest and drop it, up to `limitBytes`.
 * curl and fetch read such an early answer and stop sending; Python's
 * requests reads only once it has sent everything, and with the body left
 * unread it waited for the server's keep-alive timeout (72 s) to hear a 400.
 */
export function discardUnreadBody(raw: IncomingMessage, limitBytes: number): void {
  if (raw.complete || raw.destroyed || raw.readableEnded) return;
  let seen = 0;
  raw.unpipe(); // the multipart parser stopped reading when the route gave up on it
  raw.on('data', (chunk: Buffer) => {
    seen += chunk.length;
    if (seen > limitBytes) raw.destroy();
  });
  raw.resume();
}
