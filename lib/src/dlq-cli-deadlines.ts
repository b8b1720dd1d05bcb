/** How dlq:list and dlq:redrive bound their waits on a broker that answered once and then fell silent. */
import type { SignalStop } from './command-line.js';
import { KAFKA_ANSWER_DEADLINE_MS } from './kafka/reachable.js';

/** Retries of each request by the commands' client: a settling cluster's moment, not a silent broker's minutes. */
export const OPS_RETRIES = 2;

/** The services' request timeout, the most a command's request waits whatever --timeout allows the read. */
const LONGEST_REQUEST_MS = 30_000;
// A request answered in a second or two on a loaded machine is not a silent broker, whatever --timeout the read is given.
const SHORTEST_REQUEST_MS = 5_000;

/** How long one request of the commands may wait for its answer: --timeout, as a read waits for progress, or the first answer's deadline. */
export function opsRequestTimeoutMs(timeoutMs: number | undefined): number {
  return Math.min(Math.max(timeoutMs ?? KAFKA_ANSWER_DEADLINE_MS, SHORTEST_REQUEST_MS), LONGEST_REQUEST_MS);
}

/**
 * How long a re-drive asked to stop may take to reach its next lot. A lot is sent and committed in milliseconds
 * while Kafka answers; past this, Kafka is not answering, and waiting out its timeouts only delays the exit (a
 * SIGTERM was acknowledged and then not acted on for 167 s).
 */
export const STOP_GRACE_MS = 5_000;

/**
 * Once `stop` is asked, exits with its code (130, 143) unless the command has ended within `graceMs`, saying why on
 * stderr. Safe for a re-drive, whose lots are transactions with their records: a lot cut short is aborted by the
 * broker (or fenced by the next run's transactional id), invisible to consumers that read committed, Orbit's, and
 * its letters stay pending; a lot whose commit reached the broker is recorded with it, so the next run does not
 * send it again. The group the run held is free again when its session ends (10 s).
 */
export function exitIfNotStoppedIn(stop: SignalStop, graceMs: number, write: (text: string) => void = (text) => process.stderr.write(text)): void {
  stop.signal.addEventListener('abort', () => {
    setTimeout(() => {
      write(`Kafka did not let the re-drive stop within ${graceMs / 1000} s: stopped without waiting for it (a lot cut short is aborted, not half sent: its letters stay pending for the next dlq:redrive)\n`);
      process.exit(stop.exitCode());
    }, graceMs).unref();
  });
}
