import { EventEmitter } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '../logger.js';
import { retryDelayMs } from '../retry.js';
import { isRetriable as defaultIsRetriable } from '../retry-classifier.js';
import type { Consumer, EachBatchPayload, KafkaMessage, Producer } from './client.js';
import { orbitProducer } from './client.js';
import { processChunk } from './batch-processing.js';
import { consumeLoopSettings, type ConsumeLoopOptions, type ConsumeLoopSettings } from './consume-loop-options.js';
import { activityNow, type ConsumerActivity } from './consumer-activity.js';
import { createListenedConsumer, type ConsumerLifecycle } from './consumer-listeners.js';
import { replacementReason, watchdogIntervalMs } from './consumer-watchdog.js';
import { DetachedHandlers, type PartitionPass } from './detached-handlers.js';
import { CONSUMER_ASSIGNED_EVENT, CONSUMER_EVENTS, type ConsumerAssignedPayload, type ConsumerEventPayloads } from './instrumentation.js';
import { MessageProcessor, stepOutcomeOf, type Outcome, type StepOutcome } from './message-processing.js';
import { lagAfter, offsetAfter, partitionKey } from './partition-offsets.js';
import { CONSUMER_PASSED_OVER_EVENT } from './redrive-copy.js';

// The loop's public contract lives in these modules; importers (index.ts, services) take it from here.
export { SeekRequest, type ConsumedMessage, type DeadLetteredMessage, type MessageHandler } from './consumed-message.js';
export type { ConsumeLoopOptions } from './consume-loop-options.js';

/**
 * The one consume loop every consumer uses. Per message: decode, run the
 * handler, and only then mark the offset for commit. A transient failure (a
 * store down) pauses just that partition for an exponential backoff and the
 * message is fetched again; it never reaches the DLQ unless the policy has a
 * finite maxAttempts. An undecodable message or a permanent failure goes to
 * `<topic>.dlq` with its original bytes, and the partition moves on.
 */
export class ConsumeLoop<E> extends EventEmitter {
  private consumer: Consumer;
  /** What the current consumer did lately: tells a stalled one from an idle or busy one. */
  private activity: ConsumerActivity;
  /** Set when kafkajs crashed the current consumer and will not restart it. */
  private crashedForGood = false;
  private watchdog: NodeJS.Timeout | undefined;
  private replacing: Promise<void> | undefined;
  /** Disconnects of replaced consumers, which may never finish: stop() waits for them a bounded time. */
  private readonly retiring = new Set<Promise<void>>();
  private readonly log: Logger;
  private readonly settings: ConsumeLoopSettings;
  /** By `topic:partition:offset`: retries scheduled for a message (several of a partition may be retried, each in its turn). */
  private readonly attempts = new Map<string, number>();
  private readonly resumeTimers = new Set<NodeJS.Timeout>();
  private readonly processor: MessageProcessor<E>;
  private readonly detached: DetachedHandlers;
  private readonly shutdown = new AbortController();
  private dlqProducer: Producer | undefined;
  private joined = false;
  /**
   * Counts the current consumer's group generations as this member sees them:
   * up at each rebalance it hears of and each join, and for a new consumer. A
   * detached handler's commit is made only in the generation its message was
   * fetched in, as the broker checks only the member and generation, not who
   * owns the partition now.
   */
  private generation = 0;
  /** The error behind the latest retry, for the retry event. */
  private lastError: unknown;
  private running = false;
  /**
   * By `topic:partition`: the offset this member last committed, in the generation it did so. A batch holding only a
   * transaction's marker or aborted records is never handed to the loop; it is committed past only when it starts
   * right there, so that no message before it is left undone.
   */
  private readonly committed = new Map<string, { readonly generation: number; readonly next: string }>();
  /**
   * Since which generation this member has had each of its partitions without a break: a join by the same member id
   * as the one before missed no generation in between, so a partition it gave again was nobody else's meanwhile.
   */
  private ownership: { memberId: string; readonly since: Map<string, number> } = { memberId: '', since: new Map() };
  /** The read of the group's committed offsets after the latest join (see learnCommitted). */
  private learning: Promise<void> = Promise.resolve();

  constructor(private readonly options: ConsumeLoopOptions<E>) {
    super();
    this.settings = consumeLoopSettings(options);
    this.log = options.logger.child({ component: 'consume-loop', groupId: options.groupId });
    this.processor = new MessageProcessor<E>({
      options, log: this.log, isRetriable: options.isRetriable ?? defaultIsRetriable, slowHandlerWarnMs: this.settings.slowHandlerWarnMs, signal: this.shutdown.signal,
      isRunning: () => this.running,
      dlqProducer: () => this.dlqProducer,
      retriesSoFar: (topic, partition, offset) => this.attempts.get(attemptKey(topic, partition, offset)) ?? 0,
      failed: (error) => { this.lastError = error; },
      seek: (topic, partition, offset) => this.consumer.seek({ topic, partition, offset }),
      emitEvent: (name, payload) => this.emitEvent(name, payload),
      emitPassedOver: (payload) => this.emit(CONSUMER_PASSED_OVER_EVENT, payload),
    });
    this.detached = new DetachedHandlers({
      log: this.log, detachAfterMs: options.detachAfterMs ?? 1_000, maxDetachedHandlers: options.maxDetachedHandlers ?? 4, keyOrdered: options.keyOrderedDetach ?? false,
      generation: () => this.generation,
      ownedSince: (topic, partition) => this.ownership.since.get(partitionKey(topic, partition)),
      processOne: (topic, partition, message) => this.processOne(topic, partition, message),
      commit: async (topic, partition, offset) => {
        this.committed.set(partitionKey(topic, partition), { generation: this.generation, next: offset });
        await this.consumer.commitOffsets([{ topic, partition, offset }]);
      },
    });
    [this.consumer, this.activity] = this.createConsumer();
  }

  /** A kafkajs consumer of the group, with its activity record; events of a replaced one no longer count. */
  private createConsumer(): [Consumer, ConsumerActivity] {
    const lifecycle: ConsumerLifecycle = {
      log: this.log,
      isCurrent: (consumer) => consumer === this.consumer,
      joined: (assignment, memberId) => {
        this.joined = true;
        this.generation += 1;
        this.owning(assignment, memberId);
        this.emitEvent(CONSUMER_EVENTS.ready, { groupId: this.options.groupId });
        // After every rebalance: the lag series of partitions this member no longer has are removed (instrumentConsumeLoop).
        this.emit(CONSUMER_ASSIGNED_EVENT, { assignment } satisfies ConsumerAssignedPayload);
        this.learning = this.learnCommitted(assignment, this.generation);
      },
      crashed: (restart) => {
        this.joined = false;
        this.crashedForGood = !restart;
      },
      rebalancing: () => { this.generation += 1; },
      emitEvent: (name, payload) => this.emitEvent(name, payload),
    };
    const [consumer, activity] = createListenedConsumer(this.options, this.settings, lifecycle);
    consumer.on(consumer.events.END_BATCH_PROCESS, ({ payload }) => {
      if (consumer === this.consumer && payload.batchSize === 0) void this.commitPastMarkers(payload);
    });
    return [consumer, activity];
  }

  /**
   * Notes the partitions this join gave, with since when this member has had each, and forgets what it knew of the
   * others (their messages done ahead, their retry counts: a partition given back later starts afresh).
   */
  private owning(assignment: ConsumerAssignedPayload['assignment'], memberId: string): void {
    const before = this.ownership.memberId === memberId ? this.ownership.since : new Map<string, number>();
    const since = new Map<string, number>();
    for (const [topic, partitions] of Object.entries(assignment)) {
      for (const partition of partitions) {
        const key = partitionKey(topic, partition);
        since.set(key, before.get(key) ?? this.generation);
      }
    }
    this.ownership = { memberId, since };
    const kept = new Set(since.keys());
    this.detached.forgetAllBut(kept);
    for (const key of this.attempts.keys()) if (!kept.has(key.slice(0, key.lastIndexOf(':')))) this.attempts.delete(key);
  }

  /**
   * The group's committed offsets of the partitions just assigned, for `commitPastMarkers`: a partition left at a
   * transaction's marker (by this loop before 2026-12-07, or a member killed there) would otherwise show its lag until
   * its next message. An offset this member committed meanwhile is newer and stays.
   */
  private async learnCommitted(assignment: ConsumerAssignedPayload['assignment'], generation: number): Promise<void> {
    const topics = Object.keys(assignment);
    if (topics.length === 0) return;
    const admin = this.options.kafka.admin();
    try {
      await admin.connect();
      for (const { topic, partitions } of await admin.fetchOffsets({ groupId: this.options.groupId, topics })) {
        for (const { partition, offset } of partitions) {
          const key = partitionKey(topic, partition);
          if (generation === this.generation && this.committed.get(key)?.generation !== generation && BigInt(offset) >= 0n) this.committed.set(key, { generation, next: offset });
        }
      }
    } catch (error) {
      this.log.debug({ err: error }, 'could not read the group\'s committed offsets; partitions ending in a transaction marker keep their lag until their next message');
    } finally {
      await admin.disconnect().catch(() => undefined);
    }
  }

  /**
   * A fetched batch that held nothing but a transaction's commit or abort marker (or aborted records): kafkajs moves
   * its fetch past it but hands the loop nothing, so nothing committed it and the group's lag stayed above 0 on an idle
   * partition, for ever (dlq:redrive writes every lot in a transaction). Committed past when it starts at the offset
   * this member committed last, in this generation: then every message before it is done.
   */
  private async commitPastMarkers(batch: { topic: string; partition: number; firstOffset: string | null; lastOffset: string; highWatermark: string }): Promise<void> {
    const { topic, partition, lastOffset } = batch;
    const key = partitionKey(topic, partition);
    const generation = this.generation;
    // A member's first fetch comes before it knows where its group was: it waits for that, not for the next message.
    if (this.committed.get(key)?.generation !== generation) await this.learning;
    const last = this.committed.get(key);
    if (!this.running || last === undefined || last.generation !== generation || batch.firstOffset !== last.next) return;
    const next = offsetAfter(lastOffset);
    // Said before the commit is sent, as commitBatch does: of two commits of a partition, the later sent is the later made.
    this.committed.set(key, { generation, next });
    try {
      await this.consumer.commitOffsets([{ topic, partition, offset: next }]);
    } catch (error) {
      // A rebalance in between: the next owner reads from the last commit, and skips the markers itself.
      this.log.debug({ err: error, topic, partition, offset: next }, 'could not commit past a transaction marker');
      return;
    }
    this.emitEvent(CONSUMER_EVENTS.lag, { topic, partition, lag: lagAfter(batch.highWatermark, BigInt(lastOffset)) });
  }

  /** Handlers that outran detachAfterMs and run on detached now (ConsumeLoopOptions.maxDetachedHandlers caps them). */
  get detachedHandlers(): number {
    return this.detached.running;
  }

  /** The most handlers that run detached before their topics wait (ConsumeLoopOptions.maxDetachedHandlers). */
  get maxDetachedHandlers(): number {
    return this.options.maxDetachedHandlers ?? 4;
  }

  /** True once the group is joined and the loop is fetching. */
  get ready(): boolean {
    return this.running && this.joined;
  }

  emitEvent<K extends keyof ConsumerEventPayloads>(name: K, payload: ConsumerEventPayloads[K]): void {
    this.emit(name, payload);
  }

  async start(): Promise<void> {
    const producer = orbitProducer(this.options.kafka);
    try {
      await producer.connect();
      await this.consumer.connect();
      await this.consumer.subscribe({ topics: [...this.options.topics], fromBeginning: this.options.fromBeginning ?? true });
    } catch (error) {
      // Leave nothing half connected, so start() can simply be called again.
      await producer.disconnect().catch(() => undefined);
      await this.consumer.disconnect().catch(() => undefined);
      throw error;
    }
    this.dlqProducer = producer;
    this.running = true;
    await this.runConsumer();
    this.watchdog = setInterval(() => this.watch(), watchdogIntervalMs(this.settings.stallMs));
    this.watchdog.unref();
    this.log.info({ topics: this.options.topics }, 'consume loop started');
  }

  private async runConsumer(): Promise<void> {
    const { activity } = this;
    await this.consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: this.options.partitionsConsumedConcurrently ?? 3,
      eachBatch: (payload) => this.processBatch(payload, activity),
    });
  }

  private watch(): void {
    const stalledForMs = this.joined ? this.activity.stalledForMs(activityNow()) : undefined;
    const reason = replacementReason({ running: this.running, replacing: this.replacing !== undefined, stalledForMs, crashedForGood: this.crashedForGood });
    if (reason === undefined) return;
    this.replacing = this.replaceConsumer(reason, stalledForMs).finally(() => {
      this.replacing = undefined;
    });
  }

  /**
   * Swaps the group's kafkajs consumer for a new one. The old one is told to
   * disconnect but not waited for: a stalled one never finishes. Its member
   * stops heartbeating, so the group drops it after the session timeout and
   * the new member gets its partitions, from the last committed offsets.
   */
  private async replaceConsumer(reason: string, stalledForMs: number | undefined): Promise<void> {
    const old = this.consumer;
    this.log.error({ reason, stalledForMs, lastKafkaActivity: this.activity.recent() }, 'consumer replaced by a new one: it ' + reason);
    this.emitEvent(CONSUMER_EVENTS.replaced, { groupId: this.options.groupId, reason });
    this.joined = false;
    this.crashedForGood = false;
    this.generation += 1;
    // A new member: whatever the old one had may have been another's in between.
    this.ownership = { memberId: '', since: new Map() };
    [this.consumer, this.activity] = this.createConsumer();
    const retired: Promise<void> = old.disconnect().catch((error: unknown) => this.log.warn({ err: error }, 'replaced consumer failed to disconnect'))
      .finally(() => this.retiring.delete(retired));
    this.retiring.add(retired);
    while (this.running) {
      try {
        await this.consumer.connect();
        await this.consumer.subscribe({ topics: [...this.options.topics], fromBeginning: this.options.fromBeginning ?? true });
        await this.runConsumer();
        this.log.info('replacement consumer running');
        return;
      } catch (error) {
        this.log.warn({ err: error }, 'replacement consumer could not start; trying again');
        await this.consumer.disconnect().catch(() => undefined);
        await sleep(5_000, undefined, { signal: this.shutdown.signal }).catch(() => undefined);
      }
    }
  }

  /** SIGTERM path: stop fetching, let the in-flight message finish, commit, disconnect. */
  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    this.shutdown.abort();
    clearInterval(this.watchdog);
    for (const timer of this.resumeTimers) clearTimeout(timer);
    this.resumeTimers.clear();
    // A stalled consumer's disconnect never finishes, nor may a replacement's join; the process must still exit
    // (offsets are committed per batch).
    const waitMs = this.options.disconnectWaitMs ?? 15_000;
    const disconnected = await Promise.race([
      (async () => {
        await this.replacing;
        // Aborted by the signal, they end as retries: their messages stay uncommitted for the next owner.
        await this.detached.ended();
        await this.commitDoneRuns();
        await Promise.all([this.consumer.disconnect(), ...this.retiring]);
        return true;
      })(),
      sleep(waitMs, false, { ref: false }),
    ]);
    if (!disconnected) this.log.warn({ waitedMs: waitMs, lastKafkaActivity: this.activity.recent() }, 'consumer disconnect did not finish; stopping without it');
    await this.dlqProducer?.disconnect();
    this.emitEvent(CONSUMER_EVENTS.stopped, { groupId: this.options.groupId });
    this.log.info('consume loop stopped');
  }

  /**
   * On a stop, after every handler ended: commits each partition past the messages done in an unbroken run from its
   * next offset to commit (those handled behind a slow one that ended meanwhile), so the next owner does not handle
   * them again. Only partitions this member committed in the current generation, which it still has.
   */
  private async commitDoneRuns(): Promise<void> {
    for (const [key, made] of this.committed) {
      if (made.generation !== this.generation || !this.ownership.since.has(key)) continue;
      const split = key.lastIndexOf(':');
      const [topic, partition] = [key.slice(0, split), Number(key.slice(split + 1))];
      const next = this.detached.doneRunFrom(topic, partition, made.next);
      if (next === undefined) continue;
      this.committed.set(key, { generation: made.generation, next });
      await this.consumer.commitOffsets([{ topic, partition, offset: next }]).catch((error: unknown) => {
        this.log.warn({ err: error, topic, partition, offset: next }, 'could not commit the messages done ahead on stopping; the next owner handles them again');
      });
    }
  }

  private async processBatch({ batch, resolveOffset, heartbeat, pause, isRunning, isStale, commitOffsetsIfNecessary }: EachBatchPayload, activity: ConsumerActivity): Promise<void> {
    const { topic, partition } = batch;
    let lastDone: string | undefined;
    const size = this.options.batchHandler ? (this.options.maxBatchSize ?? 100) : 1;
    const pass = size === 1 ? this.detached.startPass(topic, partition, batch.messages[0]?.offset) : undefined;
    // Why the pass ended early, if it did: then what ended it (a retry's backoff, a hold, a seek) resumes the partition.
    let stoppedEarly = false;
    // kafkajs heartbeats only when asked: a handler that runs longer than the
    // session (a 10 GiB image, a registry being waited for) would otherwise be
    // taken for dead, lose its partition and see its commit refused, and the
    // message would be handled again, for ever.
    const keepAlive = setInterval(() => {
      heartbeat().catch((error: unknown) => this.log.warn({ err: error, topic, partition }, 'heartbeat during a long handler failed'));
    }, this.settings.heartbeatIntervalMs);
    // Said before any message is handled too: a partition whose first message keeps failing would otherwise show no
    // lag at all, or the lag it had before, while messages pile up behind it (each retry fetches it again).
    const [firstFetched] = batch.messages;
    if (firstFetched) this.emitEvent(CONSUMER_EVENTS.lag, { topic, partition, lag: lagAfter(batch.highWatermark, BigInt(firstFetched.offset) - 1n) });
    try {
      for (let start = 0; start < batch.messages.length; start += size) {
        stoppedEarly = true;
        if (!isRunning() || isStale() || !this.running) break;
        if (this.detached.holdsBack(topic, pause)) break;
        const outcome = await this.processStep(topic, partition, batch.messages.slice(start, start + size), pass, activity);
        stoppedEarly = false;
        // Not key-ordered: the partition waits for its detached handler before anything behind it.
        if (pass?.blocked) break;
        if (outcome === 'waiting' || outcome === 'ahead') continue;
        if (outcome.seek) {
          stoppedEarly = true;
          break;
        }
        const { done, retryAt } = outcome;
        if (done !== undefined) {
          this.attempts.delete(attemptKey(topic, partition, done));
          resolveOffset(done);
          lastDone = done;
          this.emitEvent(CONSUMER_EVENTS.lag, { topic, partition, lag: lagAfter(batch.highWatermark, BigInt(done)) });
          // Asked, and answered by a `heartbeat` entry: a stall between the two names its step in the replacement's report.
          activity.note('info', 'heartbeat asked', activityNow(), { topic, partition });
          await heartbeat();
        }
        if (retryAt !== undefined) {
          this.scheduleRetry(topic, partition, retryAt, pause);
          stoppedEarly = true;
          break;
        }
      }
      // Every message fetched was handled, done ahead or left waiting behind one of its key: fetched again in a moment.
      if (pass?.behind && !stoppedEarly) this.detached.waitBehind(pass, pause);
    } finally {
      clearInterval(keepAlive);
      if (lastDone !== undefined) await this.commitBatch(batch, lastDone, commitOffsetsIfNecessary, activity);
    }
  }

  /**
   * Commits after `lastDone`, or after the batch's last offset once every message of it is done: a transaction's
   * commit or abort marker (and aborted records) after the last message are never handed over, and committing only
   * up to that message left the group's lag above 0 for as long as the partition stayed idle.
   */
  private async commitBatch(batch: EachBatchPayload['batch'], lastDone: string, commit: EachBatchPayload['commitOffsetsIfNecessary'], activity: ConsumerActivity): Promise<void> {
    const { topic, partition } = batch;
    const wholeBatch = lastDone === batch.messages.at(-1)?.offset;
    const through = wholeBatch ? batch.lastOffset() : lastDone;
    const next = offsetAfter(through);
    const made = this.committed.get(partitionKey(topic, partition));
    // A detached handler's message after these committed itself as it ended (its turn came while this batch ran on).
    if (made?.generation === this.generation && BigInt(made.next) > BigInt(next)) return;
    activity.note('info', 'commit asked', activityNow(), { topic, partition, offset: next });
    // Before the commit is sent: a batch of markers after this one checks it, and must not commit over this commit.
    this.committed.set(partitionKey(topic, partition), { generation: this.generation, next });
    await commit({ topics: [{ topic, partitions: [{ partition, offset: next }] }] });
    if (through !== lastDone) this.emitEvent(CONSUMER_EVENTS.lag, { topic, partition, lag: lagAfter(batch.highWatermark, BigInt(through)) });
  }

  /** One message in its pass (which may go on detached, or wait behind one of its key), or a chunk for the batch handler. */
  private async processStep(topic: string, partition: number, chunk: readonly KafkaMessage[], pass: PartitionPass | undefined, activity: ConsumerActivity): Promise<StepOutcome | 'waiting' | 'ahead'> {
    const [single] = chunk;
    if (pass && single) return this.detached.process(pass, single, activity);
    activity.handlerStarted();
    try {
      return await processChunk(this.processor, topic, partition, chunk);
    } finally {
      activity.handlerEnded(activityNow());
    }
  }

  private async processOne(topic: string, partition: number, message: KafkaMessage): Promise<StepOutcome> {
    return stepOutcomeOf(await this.processMessage(topic, partition, message), message.offset);
  }

  /** The one-message path; a method of the loop so that a test can run it without a broker. */
  private processMessage(topic: string, partition: number, message: KafkaMessage): Promise<Outcome> {
    return this.processor.processMessage(topic, partition, message);
  }

  private scheduleRetry(topic: string, partition: number, offset: string, pause: () => () => void): void {
    const key = attemptKey(topic, partition, offset);
    const attempt = (this.attempts.get(key) ?? 0) + 1;
    this.attempts.set(key, attempt);
    const delayMs = retryDelayMs(this.options.retryPolicy, attempt);
    this.detached.backingOff(topic, partition, activityNow() + delayMs);
    const resume = pause();
    const timer = setTimeout(() => {
      this.resumeTimers.delete(timer);
      resume();
    }, delayMs);
    this.resumeTimers.add(timer);
    this.emitEvent(CONSUMER_EVENTS.retry, { topic, partition, offset, attempt, delayMs, error: this.lastError });
  }
}

/** The key of a message's retry count. */
function attemptKey(topic: string, partition: number, offset: string): string {
  return `${partitionKey(topic, partition)}:${offset}`;
}
