import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { ConsumeLoop } from './kafka/consume-loop.js';
import { CONSUMER_EVENTS, type ConsumerEventPayloads } from './kafka/instrumentation.js';

/** One registry per process, with Node's default metrics and the consume-loop counters. */
export function createMetrics(service: string): Registry {
  const registry = new Registry();
  registry.setDefaultLabels({ service });
  collectDefaultMetrics({ register: registry });
  return registry;
}

/**
 * Buckets of the handler time, in seconds: a projection takes milliseconds, but a validation, an image stored or a
 * transfer copies gigabytes and takes minutes, up to an hour; prom-client's defaults end at 10 s, where all of those
 * would fall into +Inf together.
 */
export const MESSAGE_DURATION_BUCKETS: readonly number[] = [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1200, 1800, 3600];

/** Counts processed, retried and dead-lettered messages of a loop, per topic, its replaced consumers, and its lag per partition. */
export function instrumentConsumeLoop<T>(registry: Registry, loop: ConsumeLoop<T>): void {
  const processed = new Counter({ name: 'orbit_messages_processed_total', help: 'Messages handled and committed', labelNames: ['topic'], registers: [registry] });
  const retried = new Counter({ name: 'orbit_message_retries_total', help: 'Transient failures that paused a partition', labelNames: ['topic'], registers: [registry] });
  const deadLettered = new Counter({ name: 'orbit_messages_dead_lettered_total', help: 'Messages sent to a DLQ', labelNames: ['topic'], registers: [registry] });
  const replaced = new Counter({ name: 'orbit_consumers_replaced_total', help: 'kafkajs consumers replaced after they stalled or crashed for good', registers: [registry] });
  const duration = new Histogram({ name: 'orbit_message_duration_seconds', help: 'Handler time per message', labelNames: ['topic'], buckets: [...MESSAGE_DURATION_BUCKETS], registers: [registry] });
  loop.on(CONSUMER_EVENTS.processed, (event: ConsumerEventPayloads['consumer.processed']) => {
    processed.inc({ topic: event.topic });
    duration.observe({ topic: event.topic }, event.durationMs / 1000);
  });
  const lag = new Gauge({
    name: 'orbit_consumer_lag_messages', labelNames: ['topic', 'partition'], registers: [registry],
    help: 'Messages of a partition after the last one this service handled, as its fetch saw the partition; kept while nothing is fetched (a stalled consumer: see orbit_consumers_replaced_total, or the group\'s lag on the broker)',
  });
  loop.on(CONSUMER_EVENTS.lag, (event: ConsumerEventPayloads['consumer.lag']) => lag.set({ topic: event.topic, partition: String(event.partition) }, event.lag));
  loop.on(CONSUMER_EVENTS.retry, (event: ConsumerEventPayloads['consumer.retry']) => retried.inc({ topic: event.topic }));
  loop.on(CONSUMER_EVENTS.deadLettered, (event: ConsumerEventPayloads['consumer.dlq']) => deadLettered.inc({ topic: event.topic }));
  loop.on(CONSUMER_EVENTS.replaced, () => replaced.inc());
}
