/**
 * Handlers that outran detachAfterMs and go on while their partition is paused, so that kafkajs, which fetches again
 * only once every batch of a fetch is done, goes on with the other partitions (one 2 GiB image held every other user's
 * upload). Their outcome is applied when the message is fetched again: offsets are resolved only inside a batch.
 */
import type { Logger } from '../logger.js';
import type { KafkaMessage } from './client.js';
import type { ConsumerActivity } from './consumer-activity.js';
import type { StepOutcome } from './message-processing.js';
import { offsetAfter, partitionKey } from './partition-offsets.js';

/** A handler that outran detachAfterMs and goes on while its partition is paused. */
interface DetachedHandler {
  readonly offset: string;
  /** Set when the handler has ended; applied when the message is fetched again. */
  outcome?: StepOutcome;
  /** Resumes the partition; replaced when a later batch (a new consumer, a rebalance) pauses it again. */
  resume: () => void;
}

/** What detaching needs of its loop. */
export interface DetachingHost {
  readonly log: Logger;
  readonly detachAfterMs: number;
  readonly maxDetachedHandlers: number;
  /** The current consumer's group generation, as this member sees it (see ConsumeLoop's generation). */
  generation(): number;
  processOne(topic: string, partition: number, message: KafkaMessage): Promise<StepOutcome>;
  /** Commits `offset` with the current consumer. */
  commit(topic: string, partition: number, offset: string): Promise<void>;
}

export class DetachedHandlers {
  /** By `topic:partition`: at most one per partition, which stays paused until it ends. */
  private readonly detached = new Map<string, DetachedHandler>();
  private readonly runs = new Set<Promise<void>>();
  /**
   * By topic: handlers detached beyond maxDetachedHandlers still running, and
   * the resumes of that topic's partitions paused until they end.
   */
  private readonly heldTopics = new Map<string, { handlers: number; waiting: (() => void)[] }>();

  constructor(private readonly host: DetachingHost) {}

  /** Every detached handler ended; on shutdown they are aborted and end as retries, uncommitted for the next owner. */
  async ended(): Promise<void> {
    await Promise.all(this.runs);
  }

  /**
   * Pauses the partition until its topic is no longer held, and says so: the batch must end. A partition with a
   * detached handler of its own is settled by process(), held or not.
   */
  holdsBack(topic: string, partition: number, pause: () => () => void): boolean {
    const hold = this.heldTopics.get(topic);
    if (!hold || this.detached.has(partitionKey(topic, partition))) return false;
    hold.waiting.push(pause());
    return true;
  }

  /**
   * One message, in a batch: the outcome of a detached handler that ran it
   * already, or a handler run here that goes on detached (its partition
   * paused) once it outruns detachAfterMs. 'detached' ends the batch.
   */
  async process(topic: string, partition: number, message: KafkaMessage, pause: () => () => void, activity: ConsumerActivity): Promise<StepOutcome | 'detached'> {
    const key = partitionKey(topic, partition);
    const earlier = this.detached.get(key);
    if (earlier) {
      if (!earlier.outcome) {
        // Its handler still runs (a rebalance or a new consumer fetched the partition again): wait for it.
        earlier.resume = pause();
        return 'detached';
      }
      this.detached.delete(key);
      if (earlier.offset === message.offset && !earlier.outcome.seek) return earlier.outcome;
    }
    const fetchedIn = this.host.generation();
    activity.handlerStarted();
    const running = this.host.processOne(topic, partition, message).finally(() => activity.handlerEnded(Date.now()));
    let timer: NodeJS.Timeout | undefined;
    const outrun = new Promise<'outrun'>((resolve) => {
      timer = setTimeout(() => resolve('outrun'), this.host.detachAfterMs);
    });
    const first = await Promise.race([running, outrun]).finally(() => clearTimeout(timer));
    if (first !== 'outrun') return first;
    this.detach(topic, partition, message, running, pause, fetchedIn);
    return 'detached';
  }

  private detach(topic: string, partition: number, message: KafkaMessage, running: Promise<StepOutcome>, pause: () => () => void, fetchedIn: number): void {
    const overCap = this.runs.size >= this.host.maxDetachedHandlers;
    const entry: DetachedHandler = { offset: message.offset, resume: pause() };
    this.detached.set(partitionKey(topic, partition), entry);
    if (overCap) this.holdTopic(topic);
    const run: Promise<void> = running.then(async (outcome) => {
      entry.outcome = outcome;
      // Committed now, not only when the message is fetched again: a SIGTERM in between would have it handled twice.
      if (outcome.done !== undefined) await this.commitDetached(topic, partition, outcome.done, fetchedIn);
    }, (error: unknown) => {
      // processOne turns every failure into an outcome; this is a defect, so the message is handled again.
      this.host.log.error({ err: error, topic, partition, offset: message.offset }, 'detached handler failed unexpectedly; the message is handled again');
      entry.outcome = { retryAt: message.offset };
    }).finally(() => {
      this.runs.delete(run);
      if (overCap) this.releaseTopic(topic);
      entry.resume();
    });
    this.runs.add(run);
  }

  /** A handler of `topic` runs beyond the cap: the topic's other partitions pause at their next batch. */
  private holdTopic(topic: string): void {
    const hold = this.heldTopics.get(topic);
    if (hold) hold.handlers += 1;
    else this.heldTopics.set(topic, { handlers: 1, waiting: [] });
    this.host.log.info({ topic, detached: this.runs.size }, 'detached handlers at their cap: the topic\'s other partitions wait for this one');
  }

  private releaseTopic(topic: string): void {
    const hold = this.heldTopics.get(topic);
    if (!hold) return;
    hold.handlers -= 1;
    if (hold.handlers > 0) return;
    this.heldTopics.delete(topic);
    for (const resume of hold.waiting) resume();
  }

  /**
   * The offset after a detached handler's message, committed by the current
   * consumer: every earlier offset of the paused partition is committed
   * already, so the order holds. A refused commit (a rebalance took the
   * partition) is left to the message's next fetch, or its next owner.
   * After a rebalance the broker takes the commit of any member of the new
   * generation, for any partition: the partition's new owner may have
   * committed past this message, and this commit would move it back (found by
   * a probe: a fresh member handled five messages again). So none is made.
   */
  private async commitDetached(topic: string, partition: number, done: string, fetchedIn: number): Promise<void> {
    const offset = offsetAfter(done);
    if (fetchedIn !== this.host.generation()) {
      this.host.log.info({ topic, partition, offset }, 'the group rebalanced while a detached handler ran: its message is committed when this member fetches it again, or by the partition\'s new owner');
      return;
    }
    try {
      await this.host.commit(topic, partition, offset);
    } catch (error) {
      this.host.log.warn({ err: error, topic, partition, offset }, 'could not commit a detached handler\'s message; it is committed when fetched again');
    }
  }
}
