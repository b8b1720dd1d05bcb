import type { Socket } from 'node:net';

/** What a pace watch judges, and when it stops. */
export interface SocketPaceWatch {
  readonly socket: Socket;
  /** Bytes a second each window must bring (ORBIT_MIN_UPLOAD_BYTES_PER_SECOND). */
  readonly minBytesPerSecond: number;
  readonly windowMs: number;
  /**
   * Whether the first window is judged: a body's own first is not (a client's slow start, TCP's); the rest of a body
   * answered early is (its slow start is behind it).
   */
  readonly judgeFirstWindow: boolean;
  /** True once there is nothing left to watch (the body's end, its answer sent). */
  readonly finished: () => boolean;
  /**
   * Asked once at each window's end: true when the gateway itself held the body back in it (a store slow to take what
   * came), so the window is not the client's to answer for.
   */
  readonly heldBack?: () => boolean;
  /** Called once, for the first window that brought too little; the watch then stops. */
  readonly onTooSlow: () => void;
}

/**
 * Watches the socket's bytes, not the request's: what Node's own dump of an unread body reads counts too. Answers how
 * to stop watching. One watch for both the body being read and the rest of one answered early, so the two cannot judge
 * the same client by different rules.
 */
export function watchSocketPace({ socket, minBytesPerSecond, windowMs, judgeFirstWindow, finished, heldBack, onTooSlow }: SocketPaceWatch): () => void {
  let windowStart = judgeFirstWindow ? socket.bytesRead : undefined;
  const pace = setInterval(() => {
    if (finished() || socket.destroyed) return clearInterval(pace);
    const read = socket.bytesRead;
    const held = heldBack?.() ?? false;
    if (windowStart !== undefined && !held && read - windowStart < minBytesPerSecond * windowMs / 1000) {
      clearInterval(pace);
      onTooSlow();
      return;
    }
    windowStart = read;
  }, windowMs);
  pace.unref();
  return () => clearInterval(pace);
}
