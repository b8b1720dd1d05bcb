/**
 * Handlers that outran detachAfterMs go on detached while their batch goes on with the messages of other keys behind
 * them: one slow pull (a registry answering after 20 s) held every upload that happened to share its partition. The
 * messages of one key (an image's) stay in offset order: one behind a detached handler of its key waits for it. Offsets
 * are still resolved and committed only in order, inside a batch: a message handled ahead of an unresolved one is
 * remembered as done and resolved when the partition is fetched again and its turn comes, so a crash or a rebalance
 * before then has it handled again (at least once, as any message between its handler and its commit), never skipped.
 */
import type { Logger } from '../logger.js';
import type { KafkaMessage } from './client.js';
import { activityNow, type ConsumerActivity } from './consumer-activity.js';
import type { StepOutcome } from './message-processing.js';
import { offsetAfter, partitionKey } from './partition-offsets.js';

/** A handler that outran detachAfterMs and goes on while its batch goes on with other keys. */
interface DetachedHandler {
  /** The offset of the message fetched just before its own, if its batch had one (see doneRunFrom). */
  readonly previous: string | undefined;
  /** The group generation its message was fetched in (see commitAtFront). */
  readonly fetchedIn: number;
  /** Every earlier message of its partition was resolved when it detached: it is the next to commit. */
  readonly atFront: boolean;
  /** Set when the handler has ended (and its commit, if it was at the front, was made); applied in the message's turn. */
  outcome?: StepOutcome;
}

/** What this member knows of a partition past its resolved offset. */
interface PartitionAhead {
  /** By offset: handlers that outran detachAfterMs, running or ended and not yet applied. */
  readonly detached: Map<string, DetachedHandler>;
  /**
   * Offsets handled while an earlier message was unresolved: done, resolved in their turn; each with the offset of the
   * message fetched just before it, so that a run of done messages can be told from one with a gap (see doneRunFrom).
   */
  readonly done: Map<string, string | undefined>;
  /** Resumes the partition paused by waitBehind; cleared once used. */
  resume?: () => void;
  timer?: NodeJS.Timeout;
  /** A retry's backoff runs until then: nothing but its own timer resumes the partition before. */
  backoffUntil: number;
}

/**
 * One pass of a fetched batch over its partition: the keys waiting behind a message not resolved yet, and whether one
 * is (then a message handled now is done ahead of its turn, not resolved).
 */
export class PartitionPass {
  readonly waitingKeys = new Set<string>();
  behind = false;
  /** Not key-ordered: a detached handler's message is next, and the pass ends until it ends. */
  blocked = false;
  /** The offset of the message this pass looked at last. */
  previous: string | undefined;
  constructor(readonly topic: string, readonly partition: number) {}
}

/**
 * A message's outcome in its pass: its step (done in its turn, a retry, a seek), 'waiting' (behind a message of its
 * key, or its own handler still running detached) or 'ahead' (done, but an earlier message is not).
 */
export type PassStep = StepOutcome | 'waiting' | 'ahead';

/** A key's identity for ordering: messages of one key are handled in offset order; messages with no key are one key. */
export function orderingKeyOf(message: KafkaMessage): string {
  return message.key === null || message.key === undefined ? '-' : `k${message.key.toString('base64')}`;
}

/** What detaching needs of its loop. */
export interface DetachingHost {
  readonly log: Logger;
  readonly detachAfterMs: number;
  readonly maxDetachedHandlers: number;
  /** Whether a pass goes on with other keys past a detached handler (ConsumeLoopOptions.keyOrderedDetach). */
  readonly keyOrdered: boolean;
  /**
   * The generation since which this member has had the partition without a break (every join since gave it to this
   * member), or undefined when it does not have it now.
   */
  ownedSince(topic: string, partition: number): number | undefined;
  /** The current consumer's group generation, as this member sees it (see ConsumeLoop's generation). */
  generation(): number;
  processOne(topic: string, partition: number, message: KafkaMessage): Promise<StepOutcome>;
  /** Commits `offset` with the current consumer. */
  commit(topic: string, partition: number, offset: string): Promise<void>;
}

export class DetachedHandlers {
  private readonly partitions = new Map<string, PartitionAhead>();
  private readonly runs = new Set<Promise<void>>();
  /** Handlers running in a pass, not (yet) detached: a stop waits for them too. */
  private readonly inPass = new Set<Promise<unknown>>();
  /** Set by ended(): a handler is then waited for in its pass, never detached, so that the stop can wait for it. */
  private stopping = false;
  /**
   * By topic: the resumes of its partitions paused while more than maxDetachedHandlers run (one of its handlers went
   * on detached past the cap); all are resumed as soon as one detached handler, of any topic, ends.
   */
  private readonly heldTopics = new Map<string, (() => void)[]>();

  constructor(private readonly host: DetachingHost) {}

  /** Handlers running detached now (past detachAfterMs; more than maxDetachedHandlers hold their topics back). */
  get running(): number {
    return this.runs.size;
  }

  /**
   * Every handler ended, detached or in a pass, including one a pass started while the stop began (a handler cut off
   * mid-write by the process's exit was handled again). On shutdown they are aborted and end as retries, uncommitted
   * for the next owner.
   */
  async ended(): Promise<void> {
    this.stopping = true;
    for (const ahead of this.partitions.values()) clearTimeout(ahead.timer);
    while (this.runs.size > 0 || this.inPass.size > 0) await Promise.all([...this.runs, ...this.inPass]);
  }

  /**
   * The offset to commit after `next` (the partition's next offset to commit) once the messages from there on that
   * are done in an unbroken run, by this member ahead of their turn or by detached handlers that ended, are counted:
   * on a stop, the messages handled behind a slow one that ended meanwhile are not handled again by the next owner.
   * Undefined when the run is empty.
   */
  doneRunFrom(topic: string, partition: number, next: string): string | undefined {
    const ahead = this.partitions.get(partitionKey(topic, partition));
    if (!ahead) return undefined;
    const done = new Map(ahead.done);
    for (const [offset, handler] of ahead.detached) if (handler.outcome?.done !== undefined) done.set(offset, handler.previous);
    let position = BigInt(next);
    let moved = false;
    for (;;) {
      // The message at or after `position` whose predecessor in its batch is before it: nothing lies between.
      const link = [...done].find(([offset, previous]) => previous !== undefined && BigInt(previous) < position && BigInt(offset) >= position);
      if (!link) return moved ? position.toString() : undefined;
      position = BigInt(link[0]) + 1n;
      moved = true;
    }
  }

  /** Forgets what it knew of partitions this member no longer has (their handlers still running are kept until they end). */
  forgetAllBut(kept: ReadonlySet<string>): void {
    for (const [key, ahead] of this.partitions) {
      if (kept.has(key)) continue;
      clearTimeout(ahead.timer);
      ahead.resume = undefined;
      ahead.done.clear();
      for (const [offset, handler] of ahead.detached) if (handler.outcome) ahead.detached.delete(offset);
      if (ahead.detached.size === 0) this.partitions.delete(key);
    }
  }

  /**
   * A pass over a batch fetched from `firstOffset` on: what this member knew of the offsets before it is resolved
   * (by it or by another member), and forgotten.
   */
  startPass(topic: string, partition: number, firstOffset: string | undefined): PartitionPass {
    const ahead = this.partitions.get(partitionKey(topic, partition));
    if (ahead && firstOffset !== undefined) {
      clearTimeout(ahead.timer);
      ahead.resume = undefined;
      const first = BigInt(firstOffset);
      for (const offset of ahead.done.keys()) if (BigInt(offset) < first) ahead.done.delete(offset);
      for (const [offset, handler] of ahead.detached) if (handler.outcome && BigInt(offset) < first) ahead.detached.delete(offset);
    }
    return new PartitionPass(topic, partition);
  }

  /**
   * Pauses the partition while its topic is held (handlers past maxDetachedHandlers run), and says so: the batch must
   * end. Its own detached handlers go on; their outcomes are applied once the hold ends.
   */
  holdsBack(topic: string, pause: () => () => void): boolean {
    const waiting = this.heldTopics.get(topic);
    if (!waiting) return false;
    waiting.push(pause());
    return true;
  }

  /**
   * One message, in its pass: the outcome of a detached handler that ran it already, 'waiting' behind a message of its
   * key, or a handler run here that goes on detached once it outruns detachAfterMs (the pass goes on with other keys).
   */
  async process(pass: PartitionPass, message: KafkaMessage, activity: ConsumerActivity): Promise<PassStep> {
    const { topic, partition } = pass;
    const key = orderingKeyOf(message);
    const previous = pass.previous;
    pass.previous = message.offset;
    if (pass.waitingKeys.has(key)) return 'waiting';
    const ahead = this.aheadOf(topic, partition);
    if (ahead.done.has(message.offset)) {
      if (pass.behind) return 'ahead';
      ahead.done.delete(message.offset);
      return { done: message.offset };
    }
    const earlier = ahead.detached.get(message.offset);
    if (earlier) {
      if (!earlier.outcome) return this.wait(pass, key);
      ahead.detached.delete(message.offset);
      if (!earlier.outcome.seek) return this.inTurn(pass, ahead, earlier.outcome, message.offset, previous);
    }
    const fetchedIn = this.host.generation();
    activity.handlerStarted();
    const running = this.host.processOne(topic, partition, message).finally(() => activity.handlerEnded(activityNow()));
    const inPass: Promise<unknown> = running.catch(() => undefined).finally(() => this.inPass.delete(inPass));
    this.inPass.add(inPass);
    if (this.stopping) return this.inTurn(pass, ahead, await running, message.offset, previous);
    let timer: NodeJS.Timeout | undefined;
    const outrun = new Promise<'outrun'>((resolve) => {
      timer = setTimeout(() => resolve('outrun'), this.host.detachAfterMs);
    });
    const first = await Promise.race([running, outrun]).finally(() => clearTimeout(timer));
    if (first !== 'outrun') return this.inTurn(pass, ahead, first, message.offset, previous);
    // A stop begun meanwhile waits for it here, in its pass: ended() may have seen no detached handler to wait for.
    if (this.stopping) return this.inTurn(pass, ahead, await running, message.offset, previous);
    this.detach(topic, partition, message, running, { fetchedIn, atFront: !pass.behind, previous });
    return this.wait(pass, key);
  }

  /**
   * The end of a pass that left a message unresolved: the partition pauses until one of its detached handlers ends,
   * or for a poll of detachAfterMs (at most a second), so that messages of other keys sent meanwhile are fetched.
   */
  waitBehind(pass: PartitionPass, pause: () => () => void): void {
    const ahead = this.aheadOf(pass.topic, pass.partition);
    clearTimeout(ahead.timer);
    ahead.resume = pause();
    // Not key-ordered, nothing behind it is looked at: the handler's end resumes the partition, no poll is needed.
    if (!this.host.keyOrdered) return;
    ahead.timer = setTimeout(() => this.wake(ahead), Math.min(this.host.detachAfterMs, 1_000));
    ahead.timer.unref();
  }

  /** A retry of one of the partition's messages backs off until `until`: a detached handler ending does not cut it short. */
  backingOff(topic: string, partition: number, until: number): void {
    this.aheadOf(topic, partition).backoffUntil = until;
  }

  private wait(pass: PartitionPass, key: string): 'waiting' {
    pass.waitingKeys.add(key);
    pass.behind = true;
    if (!this.host.keyOrdered) pass.blocked = true;
    return 'waiting';
  }

  /** A handler's outcome in its message's turn: done ahead when an earlier message is unresolved. */
  private inTurn(pass: PartitionPass, ahead: PartitionAhead, outcome: StepOutcome, offset: string, previous: string | undefined): PassStep {
    if (pass.behind && outcome.done !== undefined) {
      ahead.done.set(offset, previous);
      return 'ahead';
    }
    return outcome;
  }

  private aheadOf(topic: string, partition: number): PartitionAhead {
    const key = partitionKey(topic, partition);
    let ahead = this.partitions.get(key);
    if (!ahead) {
      ahead = { detached: new Map(), done: new Map(), backoffUntil: 0 };
      this.partitions.set(key, ahead);
    }
    return ahead;
  }

  private wake(ahead: PartitionAhead): void {
    clearTimeout(ahead.timer);
    if (activityNow() < ahead.backoffUntil) return;
    const { resume } = ahead;
    ahead.resume = undefined;
    resume?.();
  }

  private detach(topic: string, partition: number, message: KafkaMessage, running: Promise<StepOutcome>, entry: DetachedHandler): void {
    const overCap = this.runs.size >= this.host.maxDetachedHandlers;
    const ahead = this.aheadOf(topic, partition);
    ahead.detached.set(message.offset, entry);
    if (overCap) this.holdTopic(topic);
    const run: Promise<void> = running.then(async (outcome) => {
      // Committed now, not only in its turn: a SIGTERM in between would have it handled twice. The outcome is set only
      // after: a pass that applied it first could commit further, and this commit would then move the group back.
      if (outcome.done !== undefined && entry.atFront) await this.commitAtFront(topic, partition, outcome.done, entry.fetchedIn);
      entry.outcome = outcome;
    }, (error: unknown) => {
      // processOne turns every failure into an outcome; this is a defect, so the message is handled again.
      this.host.log.error({ err: error, topic, partition, offset: message.offset }, 'detached handler failed unexpectedly; the message is handled again');
      entry.outcome = { retryAt: message.offset };
    }).finally(() => {
      this.runs.delete(run);
      this.releaseBelowCap();
      this.wake(ahead);
    });
    this.runs.add(run);
  }

  /** A handler of `topic` runs beyond the cap: the topic's partitions pause at their next message. */
  private holdTopic(topic: string): void {
    if (!this.heldTopics.has(topic)) this.heldTopics.set(topic, []);
    this.host.log.info({ topic, detached: this.runs.size + 1 }, 'detached handlers at their cap: the topic\'s partitions wait until one ends');
  }

  /**
   * Resumes every held topic once no more than maxDetachedHandlers run: whichever ends first, not the one that went
   * past the cap (a 1 GiB image's store past the cap held every small upload's until it ended, ~40 s in a bench).
   */
  private releaseBelowCap(): void {
    if (this.runs.size > this.host.maxDetachedHandlers) return;
    const held = [...this.heldTopics.values()];
    this.heldTopics.clear();
    for (const waiting of held) for (const resume of waiting) resume();
  }

  /**
   * The offset after a detached handler's message that was the next to commit, committed by the current consumer
   * (every earlier message of its partition is resolved; the batch's own commit of them, if later, is not made over
   * this one): one that detached ahead of an unresolved message is committed in its turn. A refused commit (a
   * rebalance under way) is left to the message's turn, or its next owner.
   * After a rebalance the broker takes the commit of any member of the new generation, for any partition: a member
   * that had the partition meanwhile may have committed past this message, and this commit would move it back (found
   * by a probe: a fresh member handled five messages again). So none is made unless this member has had the
   * partition without a break since the message was fetched (a rebalance that left it here, as a rolling deploy's
   * does, had the message handled twice after the SIGTERM that followed).
   */
  private async commitAtFront(topic: string, partition: number, done: string, fetchedIn: number): Promise<void> {
    const offset = offsetAfter(done);
    const since = this.host.ownedSince(topic, partition);
    if (since === undefined || since > fetchedIn) {
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
