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
