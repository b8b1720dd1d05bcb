/**
 * The batch path of a consume loop with a batchHandler: decode all, hand the decodable ones over at once, fall back
 * per message on a permanent failure, so one poison message cannot sink its batch.
 */
import type { KafkaMessage } from './client.js';
import type { ConsumedMessage } from './consumed-message.js';
import { CONSUMER_EVENTS } from './instrumentation.js';
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
    if (!context.isRunning() || context.isRetriable(error)) return chunkOutcome(at.settled, first.message.offset);
    context.log.warn({ err: error, topic, partition }, 'batch failed for good; handling its messages one by one');
    let handled = at.settled;
    for (const { message } of ready) {
      if ((await processor.processMessage(topic, partition, message)) !== 'done') return chunkOutcome(handled, message.offset);
      handled = message.offset;
    }
    return chunkOutcome(at.done, at.retryAt);
  }
  const durationMs = (performance.now() - started) / ready.length;
  for (const { message } of ready) context.emitEvent(CONSUMER_EVENTS.processed, { topic, partition, offset: message.offset, durationMs });
  return chunkOutcome(at.done, at.retryAt);
}
