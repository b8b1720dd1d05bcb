/** Lifecycle events of a consume loop; tests and metrics wait on these names. */
export const CONSUMER_EVENTS = {
  ready: 'consumer.ready',
  processed: 'consumer.processed',
  lag: 'consumer.lag',
  retry: 'consumer.retry',
  deadLettered: 'consumer.dlq',
  crash: 'consumer.crash',
  replaced: 'consumer.replaced',
  stopped: 'consumer.stopped',
} as const;

export interface MessagePosition {
  readonly topic: string;
  readonly partition: number;
  readonly offset: string;
}

export interface ConsumerEventPayloads {
  [CONSUMER_EVENTS.ready]: { groupId: string };
  [CONSUMER_EVENTS.processed]: MessagePosition & { durationMs: number };
  /**
   * Messages of the partition after the last one handled, as its batch's fetch saw the partition (its high watermark):
   * when a batch is fetched (so a partition held on a message that keeps failing shows the messages behind it) and
   * after each message handled.
   */
  [CONSUMER_EVENTS.lag]: { topic: string; partition: number; lag: number };
  [CONSUMER_EVENTS.retry]: MessagePosition & { attempt: number; delayMs: number; error: unknown };
  [CONSUMER_EVENTS.deadLettered]: MessagePosition & { error: unknown; attempts: number };
  [CONSUMER_EVENTS.crash]: { error: unknown; restart: boolean };
  [CONSUMER_EVENTS.replaced]: { groupId: string; reason: string };
  [CONSUMER_EVENTS.stopped]: { groupId: string };
}

/**
 * What a consume loop emits with its partitions each time it joins its group (after every rebalance): the lag of a
 * partition no longer among them is forgotten (see instrumentConsumeLoop).
 */
export const CONSUMER_ASSIGNED_EVENT = 'consumer.assigned';

export interface ConsumerAssignedPayload {
  /** By topic, the partitions this member now has (kafkajs's memberAssignment of GROUP_JOIN). */
  readonly assignment: Readonly<Record<string, readonly number[]>>;
}
