/**
 * `task` as a function that starts it only when no earlier start of it is still under way, and otherwise answers
 * `undefined` at once. For work run on a timer (an outbox sweep every 2 s) that can take longer than its period:
 * stuck behind an outage, each start would otherwise hold another pooled connection beside the ones still waiting.
 */
export function oneAtATime<T>(task: () => Promise<T>): () => Promise<T | undefined> {
  let running = false;
  return async () => {
    if (running) return undefined;
    running = true;
    try {
      return await task();
    } finally {
      running = false;
    }
  };
}

/**
 * `task` as a function whose callers share one run of it, and its answer for `reuseMs` after it ends: what readiness
 * probes and metric scrapes ask of the stores (many at once, every few seconds) costs one round a second, not one
 * each. A run that fails is not kept: the next call starts another.
 */
export function sharedFor<T>(reuseMs: number, task: () => Promise<T>, now: () => number = () => performance.now()): () => Promise<T> {
  let inFlight: Promise<T> | undefined;
  let last: { readonly answer: T; readonly at: number } | undefined;
  return () => {
    if (last !== undefined && now() - last.at < reuseMs) return Promise.resolve(last.answer);
    inFlight ??= task().then((answer) => {
      last = { answer, at: now() };
      inFlight = undefined;
      return answer;
    }, (error: unknown) => {
      inFlight = undefined;
      throw error;
    });
    return inFlight;
  };
}
