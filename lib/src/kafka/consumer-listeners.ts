/**
 * A consume loop's kafkajs consumer and what it hears from it: every event goes to the consumer's activity record (the
 * watchdog's evidence and the replacement's report); joins, crashes and rebalances also change the loop, but only while
 * the consumer is still the loop's current one, as a replaced one keeps talking.
 */
import type { Logger } from '../logger.js';
import type { Consumer } from './client.js';
import { REBALANCE_TIMEOUT_MS, type ConsumeLoopOptions, type ConsumeLoopSettings } from './consume-loop-options.js';
import { activityNow, ConsumerActivity } from './consumer-activity.js';
import { kafkaFailureCode } from './failure-code.js';
import { CONSUMER_EVENTS, type ConsumerAssignedPayload, type ConsumerEventPayloads } from './instrumentation.js';

/** What the loop does when its current consumer joins, crashes or starts a rebalance. */
export interface ConsumerLifecycle {
  readonly log: Logger;
  isCurrent(consumer: Consumer): boolean;
  /** `memberId`: the group's name for this member at this join (a new one after it was dropped from the group). */
  joined(assignment: ConsumerAssignedPayload['assignment'], memberId: string): void;
  /** The loop's state only: the crash line and event are the listener's. */
  crashed(restart: boolean): void;
  rebalancing(): void;
  emitEvent<K extends keyof ConsumerEventPayloads>(name: K, payload: ConsumerEventPayloads[K]): void;
}

type ConsumerOptions = Pick<ConsumeLoopOptions<unknown>, 'kafka' | 'groupId' | 'sessionTimeoutMs' | 'maxWaitTimeMs' | 'maxBytesPerPartition'>;

/** A kafkajs consumer of the group, with its activity record, listened to for `lifecycle`. */
export function createListenedConsumer(options: ConsumerOptions, settings: ConsumeLoopSettings, lifecycle: ConsumerLifecycle): [Consumer, ConsumerActivity] {
  const consumer = options.kafka.consumer({
    groupId: options.groupId,
    allowAutoTopicCreation: false,
    sessionTimeout: options.sessionTimeoutMs ?? 30_000,
    rebalanceTimeout: REBALANCE_TIMEOUT_MS,
    heartbeatInterval: settings.heartbeatIntervalMs,
    retry: { retries: 10, initialRetryTime: 300, maxRetryTime: 10_000 },
    ...(options.maxWaitTimeMs !== undefined ? { maxWaitTimeInMs: options.maxWaitTimeMs } : {}),
    ...(options.maxBytesPerPartition !== undefined ? { maxBytesPerPartition: options.maxBytesPerPartition, maxBytes: Math.max(10 * 1024 ** 2, 4 * options.maxBytesPerPartition) } : {}),
  });
  const activity = new ConsumerActivity({ stallMs: settings.stallMs, rejoinGraceMs: REBALANCE_TIMEOUT_MS }, activityNow());
  listenToLifecycle(consumer, activity, lifecycle);
  recordActivity(consumer, activity);
  return [consumer, activity];
}

function listenToLifecycle(consumer: Consumer, activity: ConsumerActivity, lifecycle: ConsumerLifecycle): void {
  const events = consumer.events;
  consumer.on(events.GROUP_JOIN, ({ payload }) => {
    activity.note('joined', 'group joined', activityNow(), { memberId: payload.memberId, durationMs: payload.duration });
    if (lifecycle.isCurrent(consumer)) lifecycle.joined(payload.memberAssignment, payload.memberId);
  });
  consumer.on(events.CRASH, ({ payload }) => {
    activity.note('info', 'crashed', activityNow(), { error: String(payload.error), restart: payload.restart });
    if (!lifecycle.isCurrent(consumer)) return;
    lifecycle.crashed(payload.restart);
    const code = kafkaFailureCode(payload.error);
    // A broker restart crashes the consumer with a connection error that kafkajs restarts from by itself: a warning,
    // as the producer's retries through it are; what kafkajs gives up on, or our own handler's failure, is an error.
    const level = payload.restart && code === 'ORBIT_ERR_STORE_UNAVAILABLE' ? 'warn' : 'error';
    lifecycle.log[level]({ err: payload.error, code, restart: payload.restart }, 'consumer crashed');
    lifecycle.emitEvent(CONSUMER_EVENTS.crash, { error: payload.error, restart: payload.restart });
  });
  consumer.on(events.REBALANCING, () => {
    activity.note('rejoin', 'rebalancing', activityNow());
    if (lifecycle.isCurrent(consumer)) lifecycle.rebalancing();
  });
}

/** Events that only show the consumer is alive (or where it stopped), for the watchdog and the replacement's report. */
function recordActivity(consumer: Consumer, activity: ConsumerActivity): void {
  const events = consumer.events;
  consumer.on(events.FETCH_START, () => activity.note('progress', 'fetch started', activityNow()));
  consumer.on(events.FETCH, ({ payload }) => activity.note('progress', 'fetch returned', activityNow(), { durationMs: payload.duration }));
  consumer.on(events.START_BATCH_PROCESS, ({ payload }) => activity.note('progress', 'batch started', activityNow(), { topic: payload.topic, partition: payload.partition, firstOffset: payload.firstOffset }));
  consumer.on(events.END_BATCH_PROCESS, ({ payload }) => activity.note('progress', 'batch ended', activityNow(), { topic: payload.topic, partition: payload.partition, durationMs: payload.duration }));
  consumer.on(events.HEARTBEAT, () => activity.note('info', 'heartbeat', activityNow()));
  consumer.on(events.COMMIT_OFFSETS, () => activity.note('info', 'offsets committed', activityNow()));
  consumer.on(events.REQUEST, ({ payload }) => activity.note('info', 'request answered', activityNow(), { api: payload.apiName, broker: payload.broker, durationMs: payload.duration, pendingMs: payload.pendingDuration }));
  consumer.on(events.REQUEST_TIMEOUT, ({ payload }) => activity.note('info', 'request timed out', activityNow(), { api: payload.apiName, broker: payload.broker }));
  consumer.on(events.REQUEST_QUEUE_SIZE, ({ payload }) => activity.note('info', 'requests queued', activityNow(), { broker: payload.broker, queueSize: payload.queueSize }));
}
