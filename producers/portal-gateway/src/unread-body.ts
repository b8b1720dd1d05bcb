import type { IncomingMessage } from 'node:http';

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
  if (minBytesPerSecond > 0) holdToFloor(raw, minBytesPerSecond, windowMs, () => onTooSlow?.(seen));
  raw.resume();
}

/** Closes the connection once a window brings fewer than `minBytesPerSecond` a second of the rest; stops at the body's end. */
function holdToFloor(raw: IncomingMessage, minBytesPerSecond: number, windowMs: number, tooSlow: () => void): void {
  const socket = raw.socket;
  // The socket's bytes, not the request's: what Node's own dump of an unread body reads counts too.
  let windowStart = socket.bytesRead;
  const pace = setInterval(() => {
    if (raw.complete || raw.destroyed || socket.destroyed) return clearInterval(pace);
    const read = socket.bytesRead;
    if (read - windowStart < minBytesPerSecond * windowMs / 1000) {
      clearInterval(pace);
      tooSlow();
      socket.destroy();
      return;
    }
    windowStart = read;
  }, windowMs);
  pace.unref();
  const stop = (): void => clearInterval(pace);
  raw.once('end', stop);
  raw.once('close', stop);
}
