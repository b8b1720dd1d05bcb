import { errorCodeOf } from '../error-description.js';
import { OrbitError } from '../errors.js';
import { EventEmitter } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '../logger.js';
import { retryDelayMs, type RetryPolicy } from '../retry.js';
import { isRetriable as defaultIsRetriable } from '../retry-classifier.js';
import { childSpan, parseTraceparent, type TraceContext } from '../trace-context.js';
import type { Consumer, EachBatchPayload, Kafka, KafkaMessage, Producer } from './client.js';
import { orbitProducer } from './client.js';
import { ConsumerActivity } from './consumer-activity.js';
import { sendToDeadLetterQueue } from './dead-letter.js';
import { kafkaFailureCode } from './failure-code.js';
import { HEADER, headersToStrings } from './headers.js';
import { CONSUMER_PASSED_OVER_EVENT, redriveForAnotherGroup, type ConsumerPassedOverPayload } from './redrive-copy.js';
import { CONSUMER_ASSIGNED_EVENT, CONSUMER_EVENTS, type ConsumerAssignedPayload, type ConsumerEventPayloads, type MessagePosition } from './instrumentation.js';

export interface ConsumedMessage<E> extends MessagePosition {
  readonly key: string | null;
  readonly event: E;
  readonly headers: Readonly<Record<string, string>>;
  /** This handler's span; pass it to the publisher so the trace continues. */
  readonly trace: TraceContext;
  /** Logger carrying topic, partition, offset, pid, correlationId and imageUID. */
  readonly log: Logger;
  /** Aborted on shutdown: long effects should stop and let the message be redelivered. */
  readonly signal: AbortSignal;
  /**
   * Says what the handler is doing with the message (a pull's reference and registry), for the warning that it is still
   * running to carry: an offset alone does not tell an operator which registry holds a partition. The last one given
   * stands. Optional, so that a message made by hand (a test, another loop) need not have it.
   */
  readonly describe?: (doing: Readonly<Record<string, string>>) => void;
}

export type MessageHandler<E> = (message: ConsumedMessage<E>) => Promise<void>;

/** A message the loop has just put in its DLQ: decoded when it could be, with the failure that sent it there. */
export interface DeadLetteredMessage<E> extends MessagePosition {
  /** Undefined when the message could not be decoded. */
  readonly message: ConsumedMessage<E> | undefined;
  readonly error: unknown;
}

/**
 * Thrown by a handler whose store is behind the group's position (its applied
 * offsets say `offset` comes next): the loop re-reads the partition from there
 * instead of skipping what the store never saw.
 */
export class SeekRequest extends OrbitError {
  constructor(readonly offset: string, reason: string) {
    super('ORBIT_ERR_SEEK', reason);
  }
}

export interface ConsumeLoopOptions<E> {
  readonly kafka: Kafka;
  readonly groupId: string;
  readonly topics: readonly string[];
  /** A new group starts at the earliest offset (replay) instead of the latest. @default true */
  readonly fromBeginning?: boolean;
  readonly decode: (topic: string, value: Buffer | null) => Promise<E>;
  readonly handler: MessageHandler<E>;
  /** Group session timeout: how long a crashed member keeps its partitions. @default 30000 */
  readonly sessionTimeoutMs?: number;
  /**
   * A handler still running after this long is logged as a warning, and again
   * each time as long again passes: the line names the message behind a
   * partition that does not move. @default 60000
   */
  readonly slowHandlerWarnMs?: number;
  /**
   * A handler (not a batch handler) still running after this long goes on
   * detached: its partition is paused and the batch returns, so kafkajs, which
   * fetches again only once every batch of a fetch is done, goes on with the
   * other partitions. When it ends, the partition resumes, the message is
   * fetched again, and its outcome (done, retry) is applied to it in its turn:
   * offsets are still resolved and committed only inside a batch. Without
   * this, one 2 GiB image held every other user's upload. @default 1000
   */
  readonly detachAfterMs?: number;
  /**
   * Detached handlers at most at once. A slow handler past that still goes on
   * detached, but holds the other partitions of its topic until it ends (as
   * the whole fetch loop was held before), so a flood of big images queues
   * rather than running all at once, while the service's other topics (the
   * harbor-writer's transfers behind uploads held by a hung registry) go on.
   * @default 4
   */
  readonly maxDetachedHandlers?: number;
  /**
   * A consumer that fetches nothing for this long with no handler running is
   * replaced by a new one (a rebalance gets the rebalance timeout on top); so
   * is one kafkajs gave up on after a crash. @default 60000
   */
  readonly stallMs?: number;
  /** How long stop() waits for kafkajs to disconnect; a stalled consumer's disconnect never finishes. @default 15000 */
  readonly disconnectWaitMs?: number;
  /**
   * Optional: handles many messages of one partition at once (e.g. one
   * DynamoDB BatchWrite). On a permanent failure the loop falls back to
   * `handler` message by message, so one poison message cannot sink its batch.
   */
  readonly batchHandler?: (messages: readonly ConsumedMessage<E>[]) => Promise<void>;
  /** Largest batch given to `batchHandler`. @default 100 */
  readonly maxBatchSize?: number;
  /**
   * Told of each message once it is in the DLQ, to say so downstream (a
   * request waiting on it fails visibly instead of hanging). A retriable
   * failure here handles the message again, so the notice is not lost; the
   * DLQ may then hold the letter twice, which re-drives harmlessly.
   */
  readonly onDeadLettered?: (letter: DeadLetteredMessage<E>) => Promise<void>;
  /**
   * Where a message that cannot be processed goes: `'dead-letter'` writes it
   * to `<topic>.dlq` for an operator; `'skip'` only logs it (and tells
   * onDeadLettered), for a replay whose live consumer has dead-lettered the
   * same messages already, so each replay does not add them to the DLQ again.
   * @default 'dead-letter'
   */
  readonly permanentFailures?: 'dead-letter' | 'skip';
  /**
   * The consumer group whose re-driven messages (`orbit-redrive-group`) this
   * loop handles; a `dlq:redrive` copy for another group is passed over (that
   * group failed on it; this one handled the original), logged at debug and
   * emitted as CONSUMER_PASSED_OVER_EVENT. Only a genuine copy: see
   * redriveForAnotherGroup. A replay stands for the live group it rebuilds.
   * @default groupId
   */
  readonly redrivenFor?: string;
  /**
   * Told of each message passed over as another group's re-drive, in its turn
   * in the partition, for a handler that tracks every offset it has seen.
   */
  readonly onPassedOver?: (position: MessagePosition) => Promise<void>;
  /** Backoff of transient failures; maxAttempts bounds them (then the DLQ), Infinity never gives up. */
  readonly retryPolicy: RetryPolicy;
  readonly logger: Logger;
  readonly isRetriable?: (error: unknown) => boolean;
  /** Partitions processed in parallel; messages of one partition stay in order. @default 3 */
  readonly partitionsConsumedConcurrently?: number;
  /**
   * Longest a fetch waits for new data; also how long `stop()` can wait for
   * the fetch in flight. Backlog readers (a replay) want it short. @default 5000
   */
  readonly maxWaitTimeMs?: number;
  /** Bytes one fetch may bring per partition: larger means larger batches for `batchHandler`. @default 1 MiB */
  readonly maxBytesPerPartition?: number;
  /**
   * The topic handlers are told a message came from, for replays of renamed
   * copies (MirrorMaker's `<cluster>.<topic>`, a benchmark's private topics).
   * Offsets, commits and dead letters keep the real topic. @default the real topic
   */
  readonly logicalTopicOf?: (topic: string) => string;
}

type Outcome = 'done' | 'retry' | 'seek';

/** Where one step of a batch leaves its partition: the offset handled, the one to retry after a backoff, or a seek made. */
interface StepOutcome {
  readonly done?: string;
  readonly retryAt?: string;
  readonly seek?: true;
}

/** A handler that outran detachAfterMs and goes on while its partition is paused. */
interface DetachedHandler {
  readonly offset: string;
  /** Set when the handler has ended; applied when the message is fetched again. */
  outcome?: StepOutcome;
  /** Resumes the partition; replaced when a later batch (a new consumer, a rebalance) pauses it again. */
  resume: () => void;
}

/** How long a rebalance may wait for the group's members to join (kafkajs's default, named for the stall allowance). */
const REBALANCE_TIMEOUT_MS = 60_000;

/** Messages of a partition after `offset`, as a fetch that saw `highWatermark` counts them. */
function lagAfter(highWatermark: string, offset: bigint): number {
  return Math.max(0, Number(BigInt(highWatermark) - offset - 1n));
}

/** A message the codec refused for good: it goes to the DLQ (or is skipped) in its turn. */
interface Undecodable {
  readonly undecodable: unknown;
  readonly log: Logger;
}

/** A `dlq:redrive` copy for another group: passed over in its turn, undecoded. */
interface PassOver {
  readonly passOver: { readonly redrivenFor: string; readonly redrivenFrom: string };
}

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
  private readonly isRetriable: (error: unknown) => boolean;
  private readonly attempts = new Map<string, number>();
  private readonly resumeTimers = new Set<NodeJS.Timeout>();
  /** By `topic:partition`: at most one per partition, which stays paused until it ends. */
  private readonly detached = new Map<string, DetachedHandler>();
  private readonly detachedRuns = new Set<Promise<void>>();
  /**
   * By topic: handlers detached beyond maxDetachedHandlers still running, and
   * the resumes of that topic's partitions paused until they end.
   */
  private readonly heldTopics = new Map<string, { handlers: number; waiting: (() => void)[] }>();
  private readonly shutdown = new AbortController();
  /** What each running handler said it is doing (ConsumedMessage.describe), for its still-running warning. */
  private readonly doings = new WeakMap<ConsumedMessage<E>, Readonly<Record<string, string>>>();
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
  private readonly heartbeatIntervalMs: number;

  constructor(private readonly options: ConsumeLoopOptions<E>) {
    super();
    // A third of the session, as Kafka advises, so a slow heartbeat never expires a live member.
    this.heartbeatIntervalMs = Math.min(3_000, Math.floor((options.sessionTimeoutMs ?? 30_000) / 3));
    this.log = options.logger.child({ component: 'consume-loop', groupId: options.groupId });
    this.isRetriable = options.isRetriable ?? defaultIsRetriable;
    const maxWaitMs = options.maxWaitTimeMs ?? 5_000;
    // An idle consumer shows it is alive once per fetch wait; a shorter allowance would replace healthy consumers.
    if (this.stallMs < 2 * maxWaitMs) throw new RangeError(`stallMs (${this.stallMs}) must be at least twice maxWaitTimeMs (${maxWaitMs})`);
    [this.consumer, this.activity] = this.createConsumer();
  }

  /** A kafkajs consumer of the group, with its activity record; events of a replaced one no longer count. */
  private createConsumer(): [Consumer, ConsumerActivity] {
    const { options } = this;
    const consumer = options.kafka.consumer({
      groupId: options.groupId,
      allowAutoTopicCreation: false,
      sessionTimeout: options.sessionTimeoutMs ?? 30_000,
      rebalanceTimeout: REBALANCE_TIMEOUT_MS,
      heartbeatInterval: this.heartbeatIntervalMs,
      retry: { retries: 10, initialRetryTime: 300, maxRetryTime: 10_000 },
      ...(options.maxWaitTimeMs !== undefined ? { maxWaitTimeInMs: options.maxWaitTimeMs } : {}),
      ...(options.maxBytesPerPartition !== undefined ? { maxBytesPerPartition: options.maxBytesPerPartition, maxBytes: Math.max(10 * 1024 ** 2, 4 * options.maxBytesPerPartition) } : {}),
    });
    const activity = new ConsumerActivity({ stallMs: this.stallMs, rejoinGraceMs: REBALANCE_TIMEOUT_MS }, Date.now());
    const current = (): boolean => consumer === this.consumer;
    const events = consumer.events;
    consumer.on(events.GROUP_JOIN, ({ payload }) => {
      activity.note('joined', 'group joined', Date.now(), { memberId: payload.memberId, durationMs: payload.duration });
      if (!current()) return;
      this.joined = true;
      this.generation += 1;
      this.emitEvent(CONSUMER_EVENTS.ready, { groupId: options.groupId });
      // After every rebalance: the lag series of partitions this member no longer has are removed (instrumentConsumeLoop).
      this.emit(CONSUMER_ASSIGNED_EVENT, { assignment: payload.memberAssignment } satisfies ConsumerAssignedPayload);
    });
    consumer.on(events.CRASH, ({ payload }) => {
      activity.note('info', 'crashed', Date.now(), { error: String(payload.error), restart: payload.restart });
      if (!current()) return;
      this.joined = false;
      this.crashedForGood = !payload.restart;
      const code = kafkaFailureCode(payload.error);
      // A broker restart crashes the consumer with a connection error that kafkajs restarts from by itself: a warning,
      // as the producer's retries through it are; what kafkajs gives up on, or our own handler's failure, is an error.
      const level = payload.restart && code === 'ORBIT_ERR_STORE_UNAVAILABLE' ? 'warn' : 'error';
      this.log[level]({ err: payload.error, code, restart: payload.restart }, 'consumer crashed');
      this.emitEvent(CONSUMER_EVENTS.crash, { error: payload.error, restart: payload.restart });
    });
    consumer.on(events.REBALANCING, () => {
      activity.note('rejoin', 'rebalancing', Date.now());
      if (current()) this.generation += 1;
    });
    consumer.on(events.FETCH_START, () => activity.note('progress', 'fetch started', Date.now()));
    consumer.on(events.FETCH, ({ payload }) => activity.note('progress', 'fetch returned', Date.now(), { durationMs: payload.duration }));
    consumer.on(events.START_BATCH_PROCESS, ({ payload }) => activity.note('progress', 'batch started', Date.now(), { topic: payload.topic, partition: payload.partition, firstOffset: payload.firstOffset }));
    consumer.on(events.END_BATCH_PROCESS, ({ payload }) => activity.note('progress', 'batch ended', Date.now(), { topic: payload.topic, partition: payload.partition, durationMs: payload.duration }));
    consumer.on(events.HEARTBEAT, () => activity.note('info', 'heartbeat', Date.now()));
    consumer.on(events.COMMIT_OFFSETS, () => activity.note('info', 'offsets committed', Date.now()));
    consumer.on(events.REQUEST, ({ payload }) => activity.note('info', 'request answered', Date.now(), { api: payload.apiName, broker: payload.broker, durationMs: payload.duration, pendingMs: payload.pendingDuration }));
    consumer.on(events.REQUEST_TIMEOUT, ({ payload }) => activity.note('info', 'request timed out', Date.now(), { api: payload.apiName, broker: payload.broker }));
    consumer.on(events.REQUEST_QUEUE_SIZE, ({ payload }) => activity.note('info', 'requests queued', Date.now(), { broker: payload.broker, queueSize: payload.queueSize }));
    return [consumer, activity];
  }

  private get stallMs(): number {
    return this.options.stallMs ?? 60_000;
  }

  private get slowHandlerWarnMs(): number {
    return this.options.slowHandlerWarnMs ?? 60_000;
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
    this.watchdog = setInterval(() => this.watch(), Math.min(15_000, Math.max(250, Math.floor(this.stallMs / 4))));
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
    if (!this.running || this.replacing) return;
    const stalledForMs = this.joined ? this.activity.stalledForMs(Date.now()) : undefined;
    if (stalledForMs === undefined && !this.crashedForGood) return;
    const reason = this.crashedForGood ? 'crashed, and kafkajs will not restart it' : `fetched nothing for ${Math.round((stalledForMs ?? 0) / 1000)} s with no handler running`;
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
        await Promise.all(this.detachedRuns);
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

  private async processBatch({ batch, resolveOffset, heartbeat, pause, isRunning, isStale, commitOffsetsIfNecessary }: EachBatchPayload, activity: ConsumerActivity): Promise<void> {
    const { topic, partition } = batch;
    let lastDone: string | undefined;
    const size = this.options.batchHandler ? (this.options.maxBatchSize ?? 100) : 1;
    // kafkajs heartbeats only when asked: a handler that runs longer than the
    // session (a 10 GiB image, a registry being waited for) would otherwise be
    // taken for dead, lose its partition and see its commit refused, and the
    // message would be handled again, for ever.
    const keepAlive = setInterval(() => {
      heartbeat().catch((error: unknown) => this.log.warn({ err: error, topic, partition }, 'heartbeat during a long handler failed'));
    }, this.heartbeatIntervalMs);
    // Said before any message is handled too: a partition whose first message keeps failing would otherwise show no
    // lag at all, or the lag it had before, while messages pile up behind it (each retry fetches it again).
    const [firstFetched] = batch.messages;
    if (firstFetched) this.emitEvent(CONSUMER_EVENTS.lag, { topic, partition, lag: lagAfter(batch.highWatermark, BigInt(firstFetched.offset) - 1n) });
    try {
      for (let start = 0; start < batch.messages.length; start += size) {
        if (!isRunning() || isStale() || !this.running) break;
        const hold = this.heldTopics.get(topic);
        // A partition with a detached handler of its own is settled by processOneDetachable, held or not.
        if (hold && !this.detached.has(`${topic}:${partition}`)) {
          hold.waiting.push(pause());
          break;
        }
        const chunk = batch.messages.slice(start, start + size);
        const [single] = chunk;
        let outcome: StepOutcome | 'detached';
        if (chunk.length === 1 && single) {
          outcome = await this.processOneDetachable(topic, partition, single, pause, activity);
        } else {
          activity.handlerStarted();
          try {
            outcome = await this.processChunk(topic, partition, chunk);
          } finally {
            activity.handlerEnded(Date.now());
          }
        }
        if (outcome === 'detached' || outcome.seek) break;
        const { done, retryAt } = outcome;
        if (done !== undefined) {
          this.attempts.delete(`${topic}:${partition}`);
          resolveOffset(done);
          lastDone = done;
          this.emitEvent(CONSUMER_EVENTS.lag, { topic, partition, lag: lagAfter(batch.highWatermark, BigInt(done)) });
          // Asked, and answered by a `heartbeat` entry: a stall between the two names its step in the replacement's report.
          activity.note('info', 'heartbeat asked', Date.now(), { topic, partition });
          await heartbeat();
        }
        if (retryAt !== undefined) {
          this.scheduleRetry(topic, partition, retryAt, pause);
          break;
        }
      }
    } finally {
      clearInterval(keepAlive);
      if (lastDone !== undefined) {
        const next = (BigInt(lastDone) + 1n).toString();
        activity.note('info', 'commit asked', Date.now(), { topic, partition, offset: next });
        await commitOffsetsIfNecessary({ topics: [{ topic, partitions: [{ partition, offset: next }] }] });
      }
    }
  }

  private async processOne(topic: string, partition: number, message: KafkaMessage): Promise<StepOutcome> {
    const outcome = await this.processMessage(topic, partition, message);
    if (outcome === 'seek') return { seek: true };
    return outcome === 'retry' ? { retryAt: message.offset } : { done: message.offset };
  }

  /**
   * One message, in a batch: the outcome of a detached handler that ran it
   * already, or a handler run here that goes on detached (its partition
   * paused) once it outruns detachAfterMs. 'detached' ends the batch.
   */
  private async processOneDetachable(topic: string, partition: number, message: KafkaMessage, pause: () => () => void, activity: ConsumerActivity): Promise<StepOutcome | 'detached'> {
    const key = `${topic}:${partition}`;
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
    const fetchedIn = this.generation;
    activity.handlerStarted();
    const running = this.processOne(topic, partition, message).finally(() => activity.handlerEnded(Date.now()));
    const detachAfterMs = this.options.detachAfterMs ?? 1_000;
    let timer: NodeJS.Timeout | undefined;
    const outrun = new Promise<'outrun'>((resolve) => {
      timer = setTimeout(() => resolve('outrun'), detachAfterMs);
    });
    const first = await Promise.race([running, outrun]).finally(() => clearTimeout(timer));
    if (first !== 'outrun') return first;
    const overCap = this.detachedRuns.size >= (this.options.maxDetachedHandlers ?? 4);
    const entry: DetachedHandler = { offset: message.offset, resume: pause() };
    this.detached.set(key, entry);
    if (overCap) this.holdTopic(topic);
    const run: Promise<void> = running.then(async (outcome) => {
      entry.outcome = outcome;
      // Committed now, not only when the message is fetched again: a SIGTERM in between would have it handled twice.
      if (outcome.done !== undefined) await this.commitDetached(topic, partition, outcome.done, fetchedIn);
    }, (error: unknown) => {
      // processOne turns every failure into an outcome; this is a defect, so the message is handled again.
      this.log.error({ err: error, topic, partition, offset: message.offset }, 'detached handler failed unexpectedly; the message is handled again');
      entry.outcome = { retryAt: message.offset };
    }).finally(() => {
      this.detachedRuns.delete(run);
      if (overCap) this.releaseTopic(topic);
      entry.resume();
    });
    this.detachedRuns.add(run);
    return 'detached';
  }

  /** A handler of `topic` runs beyond the cap: the topic's other partitions pause at their next batch. */
  private holdTopic(topic: string): void {
    const hold = this.heldTopics.get(topic);
    if (hold) hold.handlers += 1;
    else this.heldTopics.set(topic, { handlers: 1, waiting: [] });
    this.log.info({ topic, detached: this.detachedRuns.size }, 'detached handlers at their cap: the topic\'s other partitions wait for this one');
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
   * Batch path: decode all, hand the decodable ones over at once, fall back
   * per message on a permanent failure. An undecodable message is set aside
   * only once the messages before it are handled, so what a dead letter sets
   * off (onDeadLettered) comes in partition order too.
   */
  private async processChunk(topic: string, partition: number, chunk: readonly KafkaMessage[]): Promise<{ done?: string; retryAt?: string }> {
    let started = performance.now();
    let ready: { message: KafkaMessage; consumed: ConsumedMessage<E> }[] = [];
    // The last offset handled for good before `ready`: what a retry of `ready` must still count as done, or the
    // partition is read again from before it and a message dead-lettered in between is dead-lettered twice.
    let settled: string | undefined;
    let done: string | undefined;
    for (const message of chunk) {
      const consumed = await this.consumedOf(topic, partition, message);
      if (consumed === 'retry') return this.runBatch(topic, partition, ready, started, { settled, done, retryAt: message.offset });
      if ('passOver' in consumed || 'undecodable' in consumed) {
        const before = await this.runBatch(topic, partition, ready, started, { settled, done });
        if (before.retryAt !== undefined) return before;
        const outcome = 'passOver' in consumed
          ? await this.passOver(topic, partition, message, consumed.passOver)
          : await this.deadLetter(topic, partition, message, consumed.undecodable, 1, consumed.log, undefined);
        if (outcome !== 'done') return { ...before, retryAt: message.offset };
        ready = [];
        started = performance.now();
        settled = message.offset;
      } else {
        ready.push({ message, consumed });
      }
      done = message.offset;
    }
    return this.runBatch(topic, partition, ready, started, { settled, done });
  }

  /** Hands `ready` to the batch handler; `at.done` is the chunk's progress when it succeeds, `at.settled` when it does not. */
  private async runBatch(
    topic: string, partition: number, ready: { message: KafkaMessage; consumed: ConsumedMessage<E> }[], started: number,
    at: { settled: string | undefined; done: string | undefined; retryAt?: string },
  ): Promise<{ done?: string; retryAt?: string }> {
    const outcome = (done: string | undefined, retryAt: string | undefined): { done?: string; retryAt?: string } =>
      ({ ...(done !== undefined ? { done } : {}), ...(retryAt !== undefined ? { retryAt } : {}) });
    const first = ready[0];
    if (!first || !this.options.batchHandler) return outcome(at.done, at.retryAt);
    const { batchHandler } = this.options;
    try {
      await this.watchingSlow(first.consumed.log.child({ batchSize: ready.length }), started, () => batchHandler(ready.map((entry) => entry.consumed)));
    } catch (error) {
      this.lastError = error;
      if (!this.running || this.isRetriable(error)) return outcome(at.settled, first.message.offset);
      this.log.warn({ err: error, topic, partition }, 'batch failed for good; handling its messages one by one');
      let handled = at.settled;
      for (const { message } of ready) {
        if ((await this.processMessage(topic, partition, message)) !== 'done') return outcome(handled, message.offset);
        handled = message.offset;
      }
      return outcome(at.done, at.retryAt);
    }
    const durationMs = (performance.now() - started) / ready.length;
    for (const { message } of ready) this.emitEvent(CONSUMER_EVENTS.processed, { topic, partition, offset: message.offset, durationMs });
    return outcome(at.done, at.retryAt);
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
    const offset = (BigInt(done) + 1n).toString();
    if (fetchedIn !== this.generation) {
      this.log.info({ topic, partition, offset }, 'the group rebalanced while a detached handler ran: its message is committed when this member fetches it again, or by the partition\'s new owner');
      return;
    }
    try {
      await this.consumer.commitOffsets([{ topic, partition, offset }]);
    } catch (error) {
      this.log.warn({ err: error, topic, partition, offset }, 'could not commit a detached handler\'s message; it is committed when fetched again');
    }
  }

  private scheduleRetry(topic: string, partition: number, offset: string, pause: () => () => void): void {
    const key = `${topic}:${partition}`;
    const attempt = (this.attempts.get(key) ?? 0) + 1;
    this.attempts.set(key, attempt);
    const delayMs = retryDelayMs(this.options.retryPolicy, attempt);
    const resume = pause();
    const timer = setTimeout(() => {
      this.resumeTimers.delete(timer);
      resume();
    }, delayMs);
    this.resumeTimers.add(timer);
    this.emitEvent(CONSUMER_EVENTS.retry, { topic, partition, offset, attempt, delayMs, error: this.lastError });
  }

  /**
   * The message's logger. Its pid, correlationId and imageUID are the decoded
   * event's where it has them: the headers and key are only copies, which a
   * foreign producer may leave out or get wrong (found by a probe).
   */
  private logFor(topic: string, partition: number, message: KafkaMessage, headers: Record<string, string>, event?: unknown): Logger {
    const fields = typeof event === 'object' && event !== null ? (event as Record<string, unknown>) : {};
    const own = (name: string): string | undefined => (typeof fields[name] === 'string' ? fields[name] : undefined);
    return this.log.child({
      topic, partition, offset: message.offset,
      pid: own('pid') ?? headers[HEADER.pid], correlationId: own('correlationId') ?? headers[HEADER.correlationId], imageUID: own('imageUID') ?? message.key?.toString('utf8'),
    });
  }

  /**
   * Decodes a message into what handlers see; an undecodable one goes to the
   * DLQ here. The message's logger is made on first use: most messages never
   * log, and a child logger per message was a tenth of a replay's CPU.
   */
  private async consumedOf(topic: string, partition: number, message: KafkaMessage): Promise<ConsumedMessage<E> | 'retry' | PassOver | Undecodable> {
    let headers: Record<string, string> = {};
    let log: Logger | undefined;
    let decoded: E | undefined;
    const logOf = (): Logger => (log ??= this.logFor(topic, partition, message, headers, decoded));
    // Headers are a foreign producer's bytes as much as the value: one the loop cannot read is set aside like an
    // undecodable value. Read outside this try, a null header value crashed every consumer that fetched it, for ever.
    try {
      headers = headersToStrings(message.headers);
      // Re-driven for another group: this one handled (or set aside) the original already.
      const names = [topic, this.options.logicalTopicOf?.(topic) ?? topic];
      const redrive = redriveForAnotherGroup(message.headers, names, this.options.redrivenFor ?? this.options.groupId);
      if (redrive) return { passOver: redrive };
      const event = await this.options.decode(topic, message.value);
      decoded = event;
      const consumed: ConsumedMessage<E> = {
        topic: this.options.logicalTopicOf?.(topic) ?? topic, partition, offset: message.offset, key: message.key?.toString('utf8') ?? null, event, headers,
        trace: childSpan(parseTraceparent(headers[HEADER.traceparent])), signal: this.shutdown.signal,
        get log() {
          return logOf();
        },
        describe: (doing) => { this.doings.set(consumed, doing); },
      };
      return consumed;
    } catch (error) {
      this.lastError = error;
      if (!this.running) return 'retry';
      if (this.isRetriable(error)) {
        this.warnDecodeRetry(topic, partition, message, error);
        return 'retry';
      }
      return { undecodable: error, log: logOf() };
    }
  }

  /**
   * A decode that failed for now (the schema registry down): once per attempt, as a handler's transient failure is, so
   * the backoff paces it. Nothing is decoded, so no pid, correlationId or imageUID: the message's key and offset say
   * which it is.
   */
  private warnDecodeRetry(topic: string, partition: number, message: KafkaMessage, error: unknown): void {
    const attempt = (this.attempts.get(`${topic}:${partition}`) ?? 0) + 1;
    this.log.warn({ err: error, code: errorCodeOf(error), topic, partition, offset: message.offset, key: message.key?.toString('utf8') ?? null, attempt },
      'transient failure decoding the message, partition paused for backoff');
  }

  private async processMessage(topic: string, partition: number, message: KafkaMessage): Promise<Outcome> {
    const started = performance.now();
    const attemptsSoFar = (this.attempts.get(`${topic}:${partition}`) ?? 0) + 1;
    const consumed = await this.consumedOf(topic, partition, message);
    if (consumed === 'retry') return 'retry';
    if ('passOver' in consumed) return this.passOver(topic, partition, message, consumed.passOver);
    if ('undecodable' in consumed) return this.deadLetter(topic, partition, message, consumed.undecodable, 1, consumed.log, undefined);
    try {
      await this.watchingSlow(consumed.log, started, () => this.options.handler(consumed), () => this.doings.get(consumed));
      this.emitEvent(CONSUMER_EVENTS.processed, { topic, partition, offset: message.offset, durationMs: performance.now() - started });
      return 'done';
    } catch (error) {
      this.lastError = error;
      if (error instanceof SeekRequest) {
        consumed.log.warn({ seekTo: error.offset, reason: error.message }, 'the store is behind this position; re-reading the partition from there');
        this.consumer.seek({ topic, partition, offset: error.offset });
        return 'seek';
      }
      if (!this.running) return 'retry'; // shutting down: leave it uncommitted for the next owner
      const retriable = this.isRetriable(error);
      if (retriable && attemptsSoFar < this.options.retryPolicy.maxAttempts) {
        consumed.log.warn({ err: error, attempt: attemptsSoFar }, 'transient failure, partition paused for backoff');
        return 'retry';
      }
      return this.deadLetter(topic, partition, message, error, attemptsSoFar, consumed.log, consumed);
    }
  }

  /** Runs a handler, warning each slowHandlerWarnMs it is still running, with what it said it is doing (`doing`) if it did. */
  private async watchingSlow(log: Logger, started: number, work: () => Promise<void>, doing: () => Readonly<Record<string, string>> | undefined = () => undefined): Promise<void> {
    const timer = setInterval(() => {
      const described = doing();
      log.warn({ runningForMs: Math.round(performance.now() - started), ...(described ? { doing: described } : {}) }, 'handler still running; its partition waits for it');
    }, this.slowHandlerWarnMs);
    timer.unref();
    try {
      await work();
    } finally {
      clearInterval(timer);
    }
  }

  /**
   * A message re-driven for another group: nothing to handle, but onPassedOver hears of it in its turn. Logged and
   * counted, so that a message no Orbit consumer handled can always be found.
   */
  private async passOver(topic: string, partition: number, message: KafkaMessage, redrive: PassOver['passOver']): Promise<Outcome> {
    try {
      await this.options.onPassedOver?.({ topic, partition, offset: message.offset });
      this.log.debug({ topic, partition, offset: message.offset, groupId: this.options.groupId, ...redrive }, 'passed over a message re-driven for another group');
      this.emit(CONSUMER_PASSED_OVER_EVENT, { topic, partition, offset: message.offset, ...redrive } satisfies ConsumerPassedOverPayload);
      return 'done';
    } catch (error) {
      this.lastError = error;
      this.log.warn({ err: error, topic, partition, offset: message.offset }, 'could not pass over a message re-driven for another group; trying again');
      return 'retry';
    }
  }

  private async deadLetter(topic: string, partition: number, message: KafkaMessage, error: unknown, attempts: number, log: Logger, consumed: ConsumedMessage<E> | undefined): Promise<Outcome> {
    if (this.options.permanentFailures === 'skip') {
      log.error({ err: error, attempts }, 'message cannot be processed; skipped (this loop writes no dead letters)');
    } else {
      if (!this.dlqProducer) return 'retry';
      let sent: Awaited<ReturnType<typeof sendToDeadLetterQueue>>;
      try {
        sent = await sendToDeadLetterQueue(this.dlqProducer, { topic, partition, message, error, attempts, groupId: this.options.groupId });
      } catch (dlqError) {
        log.error({ err: dlqError, cause: error }, 'DLQ unavailable, will retry the message');
        this.lastError = dlqError;
        return 'retry';
      }
      if (sent === 'whole') log.error({ err: error, attempts }, 'message sent to the DLQ');
      else log.error({ err: error, attempts, valueBytes: message.value?.length ?? 0 }, 'message sent to the DLQ without its value and headers: too large for the DLQ topic; it stays on its own topic at this offset');
    }
    this.emitEvent(CONSUMER_EVENTS.deadLettered, { topic, partition, offset: message.offset, error, attempts });
    try {
      await this.options.onDeadLettered?.({ topic, partition, offset: message.offset, message: consumed, error });
    } catch (noticeError) {
      this.lastError = noticeError;
      if (this.isRetriable(noticeError)) {
        log.warn({ err: noticeError }, 'could not announce the dead letter; handling the message again');
        return 'retry';
      }
      log.error({ err: noticeError }, 'could not announce the dead letter; whoever waits on its request is not told');
    }
    return 'done';
  }
}
