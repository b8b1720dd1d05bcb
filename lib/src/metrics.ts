import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { buildInfo, type BuildInfo } from './build-info.js';
import type { ConsumeLoop } from './kafka/consume-loop.js';
import { CONSUMER_ASSIGNED_EVENT, CONSUMER_EVENTS, RETRY_REASONS, retryReasonOf, type ConsumerAssignedPayload, type ConsumerEventPayloads } from './kafka/instrumentation.js';
import { CONSUMER_PASSED_OVER_EVENT, type ConsumerPassedOverPayload } from './kafka/redrive-copy.js';

/** One registry per process, with Node's default metrics, the build it runs and the consume-loop counters. */
export function createMetrics(service: string, build: BuildInfo = buildInfo()): Registry {
  const registry = new Registry();
  registry.setDefaultLabels({ service });
  collectDefaultMetrics({ register: registry });
  // Always 1, the build in its labels (the info-metric convention): which release each instance runs, so which of
  // README's upgrade notes apply, and `count by (commit)` shows an upgrade or a rollback half done.
  new Gauge({
    name: 'orbit_build_info', labelNames: ['version', 'commit', 'commitDate'], registers: [registry],
    help: 'The build this service runs: the root package.json version, its commit and the commit date (ORBIT_BUILD_COMMIT and ORBIT_BUILD_DATE, else the checkout\'s HEAD, else unknown); always 1',
  }).set({ version: build.version, commit: build.commit, commitDate: build.commitDate }, 1);
  return registry;
}

/**
 * Buckets of the handler time, in seconds: a projection takes milliseconds, but a validation, an image stored or a
 * transfer copies gigabytes and takes minutes, up to an hour; prom-client's defaults end at 10 s, where all of those
 * would fall into +Inf together.
 */
export const MESSAGE_DURATION_BUCKETS: readonly number[] = [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1200, 1800, 3600];

/**
 * Counts processed, retried (also by the dependency that failed), dead-lettered and passed-over (another group's
 * re-drive) messages of a loop, per topic, its replaced consumers, and its lag per partition. The counters of each of `topics` (the ones the loop consumes) start at 0: a series born at its first
 * increment has no earlier sample, so `increase()` would miss the first dead letter or retry after each restart.
 */
export function instrumentConsumeLoop<T>(registry: Registry, loop: ConsumeLoop<T>, topics: readonly string[] = []): void {
  const processed = new Counter({ name: 'orbit_messages_processed_total', help: 'Messages handled and committed', labelNames: ['topic'], registers: [registry] });
  // By the dependency that failed too (one of RETRY_REASONS): a rise of retries alone did not say which store to look at.
  const retried = new Counter({
    name: 'orbit_message_retries_total', labelNames: ['topic', 'reason'], registers: [registry],
    help: `Transient failures that paused a partition, by the dependency that failed (reason: ${RETRY_REASONS.join(', ')})`,
  });
  const deadLettered = new Counter({ name: 'orbit_messages_dead_lettered_total', help: 'Messages sent to a DLQ', labelNames: ['topic'], registers: [registry] });
  const passedOver = new Counter({
    name: 'orbit_messages_passed_over_total', help: 'dlq:redrive copies passed over, re-driven for another consumer group (which handles them)', labelNames: ['topic'], registers: [registry],
  });
  const replaced = new Counter({ name: 'orbit_consumers_replaced_total', help: 'kafkajs consumers replaced after they stalled or crashed for good', registers: [registry] });
  const duration = new Histogram({ name: 'orbit_message_duration_seconds', help: 'Handler time per message', labelNames: ['topic'], buckets: [...MESSAGE_DURATION_BUCKETS], registers: [registry] });
  // Adding 0 to a series that has counted already changes nothing: at every assignment again is fine.
  const startAtZero = (topic: string): void => {
    for (const counter of [processed, deadLettered, passedOver]) counter.inc({ topic }, 0);
    for (const reason of RETRY_REASONS) retried.inc({ topic, reason }, 0);
  };
  for (const topic of topics) startAtZero(topic);
  loop.on(CONSUMER_EVENTS.processed, (event: ConsumerEventPayloads['consumer.processed']) => {
    processed.inc({ topic: event.topic });
    duration.observe({ topic: event.topic }, event.durationMs / 1000);
  });
  const lag = new Gauge({
    name: 'orbit_consumer_lag_messages', labelNames: ['topic', 'partition'], registers: [registry],
    help: 'Messages of a partition after the last one this service handled, as its fetch saw the partition; kept while nothing is fetched (a stalled consumer: see orbit_consumers_replaced_total, or the group\'s lag on the broker); removed when the partition is revoked',
  });
  /** The partitions of the latest assignment, as `topic:partition`; undefined until the loop says one. */
  let assigned: Set<string> | undefined;
  const shown = new Map<string, { topic: string; partition: number }>();
  loop.on(CONSUMER_EVENTS.lag, (event: ConsumerEventPayloads['consumer.lag']) => {
    const key = `${event.topic}:${event.partition}`;
    // A handler that ends after its partition was revoked says nothing of the partition any more.
    if (assigned !== undefined && !assigned.has(key)) return;
    shown.set(key, { topic: event.topic, partition: event.partition });
    lag.set({ topic: event.topic, partition: String(event.partition) }, event.lag);
  });
  loop.on(CONSUMER_ASSIGNED_EVENT, (event: ConsumerAssignedPayload) => {
    assigned = new Set(Object.entries(event.assignment).flatMap(([topic, partitions]) => partitions.map((partition) => `${topic}:${partition}`)));
    for (const topic of Object.keys(event.assignment)) startAtZero(topic);
    for (const [key, { topic, partition }] of shown) {
      if (assigned.has(key)) continue;
      // Revoked: a kept series would go on showing the lag it had when it left, beside the new owner's own series.
      shown.delete(key);
      lag.remove({ topic, partition: String(partition) });
    }
  });
  loop.on(CONSUMER_EVENTS.retry, (event: ConsumerEventPayloads['consumer.retry']) => retried.inc({ topic: event.topic, reason: retryReasonOf(event.error) }));
  loop.on(CONSUMER_EVENTS.deadLettered, (event: ConsumerEventPayloads['consumer.dlq']) => deadLettered.inc({ topic: event.topic }));
  loop.on(CONSUMER_PASSED_OVER_EVENT, (event: ConsumerPassedOverPayload) => passedOver.inc({ topic: event.topic }));
  loop.on(CONSUMER_EVENTS.replaced, () => replaced.inc());
  // Read at scrape time: a handler past detachAfterMs says nothing when it ends, and a full set holds its topics back
  // (a registry slow for every pull by reference looked like a lag with no cause).
  new Gauge({
    name: 'orbit_consumer_detached_handlers', help: 'Handlers running on detached (past their detach time) now; at orbit_consumer_detached_handlers_max their topics wait',
    registers: [registry], collect() { this.set(loop.detachedHandlers); },
  });
  new Gauge({
    name: 'orbit_consumer_detached_handlers_max', help: 'The most handlers that run detached before their topics wait (ORBIT_MAX_DETACHED_HANDLERS where a service sets it)',
    registers: [registry], collect() { this.set(loop.maxDetachedHandlers); },
  });
}
