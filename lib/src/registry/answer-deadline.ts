/**
 * Aborts `request` when `stop` is (or is already) aborted, until the returned unlink is called. Not AbortSignal.any:
 * on Node 20 every signal made from a long-lived one stays in its set of dependants for the life of the process
 * (nodejs/node#55351), a few dozen bytes per request of a consumer that runs for weeks (found by a review).
 */
function abortedWith(stop: AbortSignal | undefined, request: AbortController): () => void {
  if (stop === undefined) return () => undefined;
  if (stop.aborted) {
    request.abort(stop.reason);
    return () => undefined;
  }
  const abort = (): void => request.abort(stop.reason);
  stop.addEventListener('abort', abort, { once: true });
  return () => stop.removeEventListener('abort', abort);
}

/** A request's own signal, aborted with `late()` after `timeoutMs` or with the client's `stop`; `end` lets go of both once it is answered. */
export interface AnswerDeadline {
  readonly signal: AbortSignal;
  end(): void;
}

/** One request's patience: its answer within `timeoutMs`, and no longer than the client's `stop` allows. */
export function answerDeadline(timeoutMs: number, late: () => Error, stop: AbortSignal | undefined): AnswerDeadline {
  const unanswered = new AbortController();
  const timer = setTimeout(() => unanswered.abort(late()), timeoutMs);
  const unlink = abortedWith(stop, unanswered);
  return {
    signal: unanswered.signal,
    end: () => {
      clearTimeout(timer);
      unlink();
    },
  };
}
