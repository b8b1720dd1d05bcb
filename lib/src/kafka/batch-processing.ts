/**
 * The batch path of a consume loop with a batchHandler: decode all, hand the decodable ones over at once, fall back
 * per message on a permanent failure, so one poison message cannot sink its batch.
 */
import { errorCodeOf } from '../error-description.js';
import type { Logger } from '../logger.js';
import type { KafkaMessage } from './client.js';
import type { ConsumedMessage } from './consumed-message.js';
import { CONSUMER_EVENTS, retryReasonOf } from './instrumentation.js';
import type { MessageProcessor } from './message-processing.js';

/** How far a chunk got: the last offset handled, and the one to retry after a backoff. */
export interface ChunkOutcome {
  readonly done?: string;
  readonly retryAt?: string;
}

interface ReadyMessage<E> {
  readonly message: KafkaMessage;
  readonly consumed: ConsumedMessage<E>;
}

/**
 * One chunk of a partition's batch. An undecodable message is set aside only
 * once the messages before it are handled, so what a dead letter sets off
 * (onDeadLettered) comes in partition order too.
 */
export async function processChunk<E>(processor: MessageProcessor<E>, topic: string, partition: number, chunk: readonly KafkaMessage[]): Promise<ChunkOutcome> {
  let started = performance.now();
  let ready: ReadyMessage<E>[] = [];
  // The last offset handled for good before `ready`: what a retry of `ready` must still count as done, or the
  // partition is read again from before it and a message dead-lettered in between is dead-lettered twice.
  let settled: string | undefined;
  let done: string | undefined;
  for (const message of chunk) {
    const consumed = await processor.consumedOf(topic, partition, message);
    if (consumed === 'retry') return runBatch(processor, topic, partition, ready, started, { settled, done, retryAt: message.offset });
    if ('passOver' in consumed || 'undecodable' in consumed) {
      const before = await runBatch(processor, topic, partition, ready, started, { settled, done });
      if (before.retryAt !== undefined) return before;
      const outcome = 'passOver' in consumed
        ? await processor.passOver(topic, partition, message, consumed.passOver)
        : await processor.deadLetter(topic, partition, message, consumed.undecodable, 1, consumed.log, undefined);
      if (outcome !== 'done') return { ...before, retryAt: message.offset };
      ready = [];
      started = performance.now();
      settled = message.offset;
    } else {
      ready.push({ message, consumed });
    }
    done = message.offset;
  }
  return runBatch(processor, topic, partition, ready, started, { settled, done });
}

/** A chunk outcome with only the offsets it has. */
function chunkOutcome(done: string | undefined, retryAt: string | undefined): ChunkOutcome {
  return { ...(done !== undefined ? { done } : {}), ...(retryAt !== undefined ? { retryAt } : {}) };
}

/** Hands `ready` to the batch handler; `at.done` is the chunk's progress when it succeeds, `at.settled` when it does not. */
async function runBatch<E>(
  processor: MessageProcessor<E>, topic: string, partition: number, ready: readonly ReadyMessage<E>[], started: number,
  at: { settled: string | undefined; done: string | undefined; retryAt?: string },
): Promise<ChunkOutcome> {
  const { context } = processor;
  const first = ready[0];
  const { batchHandler } = context.options;
  if (!first || !batchHandler) return chunkOutcome(at.done, at.retryAt);
  try {
    await processor.watchingSlow(first.consumed.log.child({ batchSize: ready.length }), started, () => batchHandler(ready.map((entry) => entry.consumed)));
  } catch (error) {
    context.failed(error);
    if (!context.isRunning()) return chunkOutcome(at.settled, first.message.offset); // shutting down: for the next owner
    const runs = retryRunsOf(processor);
    const key = `${topic}:${partition}`;
    if (context.isRetriable(error)) {
      batchRetried(runs, key, first, ready.length, error);
      return chunkOutcome(at.settled, first.message.offset);
    }
    const run = runs.get(key);
    runs.delete(key);
    context.log.warn({ err: error, topic, partition, ...(run ? { retriesBefore: run.retries } : {}) }, 'batch failed for good; handling its messages one by one');
    let handled = at.settled;
    for (const { message } of ready) {
      if ((await processor.processMessage(topic, partition, message)) !== 'done') return chunkOutcome(handled, message.offset);
      handled = message.offset;
    }
    return chunkOutcome(at.done, at.retryAt);
  }
  batchWentThrough(retryRunsOf(processor), `${topic}:${partition}`, first.consumed.log);
  const durationMs = (performance.now() - started) / ready.length;
  for (const { message } of ready) context.emitEvent(CONSUMER_EVENTS.processed, { topic, partition, offset: message.offset, durationMs });
  return chunkOutcome(at.done, at.retryAt);
}

/**
 * How often a partition whose batch keeps failing for the same reason is said again, with its count: the
 * per-message path says each retry (its backoff paces it), a batch only its first, each new reason and its end.
 */
export const BATCH_RETRY_REMINDER_MS = 60_000;

/** A partition's batch failing again and again: at which message, why now, how often, since when, last said when. */
interface RetryRun {
  readonly offset: string;
  readonly since: number;
  reason: string;
  retries: number;
  saidAt: number;
}

/** The runs of a loop's partitions (`topic:partition`), by its processor: a loop's own, gone with it. */
const retryRuns = new WeakMap<object, Map<string, RetryRun>>();

function retryRunsOf(processor: object): Map<string, RetryRun> {
  let runs = retryRuns.get(processor);
  if (runs === undefined) retryRuns.set(processor, (runs = new Map()));
  return runs;
}

/**
 * A batch that failed for now, retried after a backoff. Logged on its first failure, when its reason changes and
 * each BATCH_RETRY_REMINDER_MS, not at each retry, with its first message's identifiers (the line of the message
 * logger: topic, partition, offset, pid, correlationId, imageUID): the batch consumers retried in silence (event-logger
 * wrote nothing in 80 s of DynamoDB resets; the projector's stuck messages were never logged). The reason is the
 * dependency and the error's code, not its words, which name hosts and change from one attempt to the next.
 */
function batchRetried<E>(runs: Map<string, RetryRun>, key: string, first: { readonly message: KafkaMessage; readonly consumed: ConsumedMessage<E> }, batchSize: number, error: unknown): void {
  const now = Date.now();
  const dependency = retryReasonOf(error);
  const reason = `${dependency} ${errorCodeOf(error)}`;
  const run = runs.get(key);
  const log = (): Logger => first.consumed.log.child({ batchSize });
  // Another first message: the run before ended unseen here (the partition went to another member and came back).
  if (run === undefined || run.offset !== first.message.offset) {
    runs.set(key, { offset: first.message.offset, since: now, reason, retries: 1, saidAt: now });
    log().warn({ err: error, dependency, reason, retries: 1 },
      'transient failure of a batch, partition paused for backoff; retried without a line each time until it goes through or its reason changes');
    return;
  }
  run.retries += 1;
  const fields = { err: error, dependency, reason, retries: run.retries, failingForMs: now - run.since };
  if (run.reason !== reason) log().warn({ ...fields, previousReason: run.reason }, 'transient failure of a batch for another reason, partition still paused for backoff');
  else if (now - run.saidAt >= BATCH_RETRY_REMINDER_MS) log().warn(fields, 'transient failure of a batch goes on, partition still paused for backoff');
  else return;
  run.reason = reason;
  run.saidAt = now;
}

/** A batch handled: the end of its partition's run of failures, if it had one. */
function batchWentThrough(runs: Map<string, RetryRun>, key: string, log: Logger): void {
  const run = runs.get(key);
  if (run === undefined) return;
  runs.delete(key);
  log.info({ retries: run.retries, lastReason: run.reason, failedForMs: Date.now() - run.since, firstFailedOffset: run.offset }, 'batch went through again after transient failures');
}
