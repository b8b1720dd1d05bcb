import type { IncomingMessage } from 'node:http';
import { watchSocketPace } from './socket-pace.js';

/** How the rest of a body left unread is read and dropped. */
export interface UnreadBodyOptions {
  /** Past this many bytes dropped, the connection is closed. */
  readonly limitBytes: number;
  /** Bytes a second the rest must come at over each window, as the body-pace floor (ORBIT_MIN_UPLOAD_BYTES_PER_SECOND); 0: none. */
  readonly minBytesPerSecond: number;
  /** The window that average is taken over (the body-pace one). */
  readonly windowMs: number;
  /** Told when the connection was closed for a rest that came slower than the floor. */
  readonly onTooSlow?: (bytesDropped: number) => void;
}

/**
 * After an answer that came before the body was read (an upload refused at
 * its metadata, a store away): read the rest and drop it, up to `limitBytes`.
 * curl and fetch read such an early answer and stop sending; Python's
 * requests reads only once it has sent everything, and with the body left
 * unread it waited for the server's keep-alive timeout (72 s) to hear a 400.
 *
 * The rest is held to the body-pace floor, each window from the answer on (the client's slow start is behind it): the
 * gateway's pace watch ends with the answer, and a client sending a byte every 5 s after its 401 held the connection
 * past 300 s, never silent for the idle timeout (found by a review). The answer is out, so the connection is simply
 * closed; a client sending its whole body at any real speed still gets to read it.
 */
export function discardUnreadBody(raw: IncomingMessage, { limitBytes, minBytesPerSecond, windowMs, onTooSlow }: UnreadBodyOptions): void {
  if (raw.complete || raw.destroyed || raw.readableEnded) return;
  let seen = 0;
  raw.unpipe(); // the multipart parser stopped reading when the route gave up on it
  raw.on('data', (chunk: Buffer) => {
    seen += chunk.length;
    if (seen > limitBytes) raw.destroy();
  });
  if (minBytesPerSecond > 0) {
    const socket = raw.socket;
    const stop = watchSocketPace({
      socket, minBytesPerSecond, windowMs, judgeFirstWindow: true,
      finished: () => raw.complete || raw.destroyed,
      onTooSlow: () => { onTooSlow?.(seen); socket.destroy(); },
    });
    raw.once('end', stop);
    raw.once('close', stop);
  }
  raw.resume();
}
