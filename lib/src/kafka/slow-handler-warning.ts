/** The warning that names the message behind a partition that does not move. */
import type { Logger } from '../logger.js';

/** What a handler said it is doing (ConsumedMessage.describe), if it said. */
export type Doing = () => Readonly<Record<string, string>> | undefined;

/** Runs `work`, warning each `warnEveryMs` it is still running, with what it said it is doing (`doing`) if it did. */
export async function watchingSlow(log: Logger, started: number, warnEveryMs: number, work: () => Promise<void>, doing: Doing = () => undefined): Promise<void> {
  const timer = setInterval(() => {
    const described = doing();
    log.warn({ runningForMs: Math.round(performance.now() - started), ...(described ? { doing: described } : {}) }, 'handler still running; its partition waits for it');
  }, warnEveryMs);
  timer.unref();
  try {
    await work();
  } finally {
    clearInterval(timer);
  }
}
