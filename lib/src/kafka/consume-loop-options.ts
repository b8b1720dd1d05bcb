/** A consume loop's options, and the settings derived from them once, checked before any consumer exists. */
import type { Logger } from '../logger.js';
import type { RetryPolicy } from '../retry.js';
import type { Kafka } from './client.js';
import type { ConsumedMessage, DeadLetteredMessage, MessageHandler } from './consumed-message.js';
import type { MessagePosition } from './instrumentation.js';

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
   * detached: its partition pauses until it ends (or, with keyOrderedDetach,
   * goes on with other keys' messages), and the batch returns, so kafkajs,
   * which fetches again only once every batch of a fetch is done, goes on
   * with the other partitions. Its outcome (done, retry) is applied in its
   * turn: offsets are still resolved and committed only in order, inside a
   * batch. Without this, one 2 GiB image held every other user's upload.
   * @default 1000
   */
  readonly detachAfterMs?: number;
  /**
   * A partition goes on past a detached handler with the messages of other
   * keys (one of its key waits for it), fetched again every second while it
   * runs; those done ahead of it are committed in their turn. For handlers
   * that wait on something else (the validator's pulls from a registry: one
   * slow pull held every upload sharing its partition, 21.6 s in a probe).
   * Not for handlers that load the machine: the harbor-writer's small stores,
   * run beside a 1 GiB one instead of after it, were slowed 19-27x in
   * bench:fairness. @default false
   */
  readonly keyOrderedDetach?: boolean;
  /**
   * Detached handlers at most at once. A slow handler past that still goes on
   * detached, but holds the partitions of its topic until it ends (as
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

/** How long a rebalance may wait for the group's members to join (kafkajs's default, named for the stall allowance). */
export const REBALANCE_TIMEOUT_MS = 60_000;

/** The timings a loop uses, with their defaults applied. */
export interface ConsumeLoopSettings {
  readonly heartbeatIntervalMs: number;
  readonly stallMs: number;
  readonly slowHandlerWarnMs: number;
}

/** The loop's timings; throws a RangeError for a stall allowance that would replace healthy consumers. */
export function consumeLoopSettings(options: Pick<ConsumeLoopOptions<unknown>, 'sessionTimeoutMs' | 'stallMs' | 'slowHandlerWarnMs' | 'maxWaitTimeMs'>): ConsumeLoopSettings {
  const stallMs = options.stallMs ?? 60_000;
  const maxWaitMs = options.maxWaitTimeMs ?? 5_000;
  // An idle consumer shows it is alive once per fetch wait; a shorter allowance would replace healthy consumers.
  if (stallMs < 2 * maxWaitMs) throw new RangeError(`stallMs (${stallMs}) must be at least twice maxWaitTimeMs (${maxWaitMs})`);
  return {
    // A third of the session, as Kafka advises, so a slow heartbeat never expires a live member.
    heartbeatIntervalMs: Math.min(3_000, Math.floor((options.sessionTimeoutMs ?? 30_000) / 3)),
    stallMs,
    slowHandlerWarnMs: options.slowHandlerWarnMs ?? 60_000,
  };
}
