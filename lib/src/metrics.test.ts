import { EventEmitter } from 'node:events';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import type { ConsumeLoop } from './kafka/consume-loop.js';
import { CONSUMER_EVENTS } from './kafka/instrumentation.js';
import { CONSUMER_ASSIGNED_EVENT } from './kafka/instrumentation.js';
import { CONSUMER_PASSED_OVER_EVENT } from './kafka/redrive-copy.js';
import { buildInfo } from './build-info.js';
import { StoreUnavailableError } from './errors.js';
import { createMetrics, instrumentConsumeLoop } from './metrics.js';

/** A consume loop's events and counts, without Kafka. */
function fakeLoop(running = 0): EventEmitter & { detachedHandlers: number; maxDetachedHandlers: number } {
  return Object.assign(new EventEmitter(), { detachedHandlers: running, maxDetachedHandlers: 4 });
}

describe('the detached handler gauges', () => {
  it('say at each scrape how many handlers run on detached and the cap, so a topic held back is seen', async () => {
    const registry = new Registry();
    const loop = fakeLoop(3);
    instrumentConsumeLoop(registry, loop as unknown as ConsumeLoop<unknown>);
    expect(await registry.metrics()).toMatch(/^orbit_consumer_detached_handlers 3$/m);
    expect(await registry.metrics()).toMatch(/^orbit_consumer_detached_handlers_max 4$/m);
    loop.detachedHandlers = 0;
    expect(await registry.metrics()).toMatch(/^orbit_consumer_detached_handlers 0$/m);
  });
});

describe('the handler time histogram', () => {
  it('tells a 20-minute transfer from a 40-minute one instead of putting both above 10 s', async () => {
    const registry = new Registry();
    const loop = fakeLoop();
    instrumentConsumeLoop(registry, loop as unknown as ConsumeLoop<unknown>);
    for (const minutes of [20, 40]) loop.emit(CONSUMER_EVENTS.processed, { topic: 'orbit.transfer.requested', partition: 0, offset: '1', durationMs: minutes * 60_000 });
    const text = await registry.metrics();
    const bucket = (le: string): string | undefined => new RegExp(`orbit_message_duration_seconds_bucket\\{le="${le}",topic="orbit\\.transfer\\.requested"\\} (\\d+)`).exec(text)?.[1];
    expect([bucket('10'), bucket('1800'), bucket('3600'), bucket('\\+Inf')]).toEqual(['0', '1', '2', '2']);
  });
});

describe('the dead-letter and retry counters', () => {
  it('show 0 for every topic consumed from the start, so increase() sees the first dead letter after a restart', async () => {
    const registry = new Registry();
    const loop = fakeLoop();
    instrumentConsumeLoop(registry, loop as unknown as ConsumeLoop<unknown>, ['orbit.upload.requested', 'orbit.image.stored']);
    const before = await registry.metrics();
    for (const topic of ['orbit.upload.requested', 'orbit.image.stored']) {
      expect(before).toContain(`orbit_messages_dead_lettered_total{topic="${topic}"} 0`);
      for (const reason of ['s3', 'dynamodb', 'mysql', 'registry', 'schema-registry', 'kafka', 'other']) {
        expect(before).toContain(`orbit_message_retries_total{topic="${topic}",reason="${reason}"} 0`);
      }
    }
    loop.emit(CONSUMER_EVENTS.deadLettered, { topic: 'orbit.image.stored', partition: 0, offset: '7', error: new Error('poison'), attempts: 1 });
    expect(await registry.metrics()).toContain('orbit_messages_dead_lettered_total{topic="orbit.image.stored"} 1');
  });

  it('count retries by the dependency that failed, one of a few reasons (found by an SRE review: by topic alone, they did not say which store)', async () => {
    const registry = new Registry();
    const loop = fakeLoop();
    instrumentConsumeLoop(registry, loop as unknown as ConsumeLoop<unknown>, ['orbit.image.stored']);
    const retry = (error: unknown): boolean => loop.emit(CONSUMER_EVENTS.retry, { topic: 'orbit.image.stored', partition: 0, offset: '7', attempt: 1, delayMs: 1_000, error });
    for (let attempt = 0; attempt < 3; attempt += 1) retry(Object.assign(new Error('socket hang up'), { code: 'ECONNRESET', awsCall: 'BatchWriteItem events', $metadata: {} }));
    retry(new StoreUnavailableError('MySQL at db:3306/viewport', new Error('silent')));
    retry(new StoreUnavailableError('Kafka at kafka-0:9092', new Error('down')));
    retry(new Error('what store?'));
    const text = await registry.metrics();
    expect(text).toContain('orbit_message_retries_total{topic="orbit.image.stored",reason="dynamodb"} 3');
    expect(text).toContain('orbit_message_retries_total{topic="orbit.image.stored",reason="mysql"} 1');
    expect(text).toContain('orbit_message_retries_total{topic="orbit.image.stored",reason="kafka"} 1');
    expect(text).toContain('orbit_message_retries_total{topic="orbit.image.stored",reason="other"} 1');
    expect(text).toContain('orbit_message_retries_total{topic="orbit.image.stored",reason="s3"} 0');
    // Nothing of a host or a URL becomes a label value.
    expect(text.split('\n').filter((line) => line.startsWith('orbit_message_retries_total{'))).toHaveLength(7);
  });

  it('count the messages passed over as another group\'s re-drive, so that one no consumer handled is seen', async () => {
    const registry = new Registry();
    const loop = fakeLoop();
    instrumentConsumeLoop(registry, loop as unknown as ConsumeLoop<unknown>, ['orbit.image.stored']);
    expect(await registry.metrics()).toContain('orbit_messages_passed_over_total{topic="orbit.image.stored"} 0');
    loop.emit(CONSUMER_PASSED_OVER_EVENT, { topic: 'orbit.image.stored', partition: 0, offset: '8', redrivenFor: 'harbor-writer', redrivenFrom: 'orbit.image.stored.dlq/0@3' });
    expect(await registry.metrics()).toContain('orbit_messages_passed_over_total{topic="orbit.image.stored"} 1');
  });

  it('start at 0 for the topics of an assignment too', async () => {
    const registry = new Registry();
    const loop = fakeLoop();
    instrumentConsumeLoop(registry, loop as unknown as ConsumeLoop<unknown>);
    loop.emit(CONSUMER_ASSIGNED_EVENT, { assignment: { 'orbit.transfer.requested': [0] } });
    expect(await registry.metrics()).toContain('orbit_messages_dead_lettered_total{topic="orbit.transfer.requested"} 0');
  });
});

describe('the lag gauge', () => {
  const lagLines = async (registry: Registry): Promise<string[]> => (await registry.metrics()).split('\n').filter((line) => line.startsWith('orbit_consumer_lag_messages{'));

  it('drops the partitions a rebalance took away, and ignores a late handler of one', async () => {
    const registry = new Registry();
    const loop = fakeLoop();
    instrumentConsumeLoop(registry, loop as unknown as ConsumeLoop<unknown>);
    const topic = 'orbit.image.stored';
    loop.emit(CONSUMER_ASSIGNED_EVENT, { assignment: { [topic]: [0, 1] } });
    loop.emit(CONSUMER_EVENTS.lag, { topic, partition: 0, lag: 5 });
    loop.emit(CONSUMER_EVENTS.lag, { topic, partition: 1, lag: 40 });
    expect(await lagLines(registry)).toEqual([`orbit_consumer_lag_messages{topic="${topic}",partition="0"} 5`, `orbit_consumer_lag_messages{topic="${topic}",partition="1"} 40`]);

    // Another replica took partition 1: its lag is that replica's to show now.
    loop.emit(CONSUMER_ASSIGNED_EVENT, { assignment: { [topic]: [0] } });
    expect(await lagLines(registry)).toEqual([`orbit_consumer_lag_messages{topic="${topic}",partition="0"} 5`]);
    loop.emit(CONSUMER_EVENTS.lag, { topic, partition: 1, lag: 39 });
    expect(await lagLines(registry)).toEqual([`orbit_consumer_lag_messages{topic="${topic}",partition="0"} 5`]);
  });
});

describe('orbit_build_info', () => {
  it('is 1 with the build\'s version, commit and commit date, so which release each instance runs is seen', async () => {
    const registry = createMetrics('image-validator', { version: '0.1.0', commit: '36a92d526b8a8f5ddaeb67bceba96403556c83f0', commitDate: '2026-12-07T09:39:22+00:00' });
    expect(await registry.metrics()).toContain(
      'orbit_build_info{version="0.1.0",commit="36a92d526b8a8f5ddaeb67bceba96403556c83f0",commitDate="2026-12-07T09:39:22+00:00",service="image-validator"} 1');
  });

  it('is this process\'s build by default (what every service\'s createMetrics gives)', async () => {
    const { version, commit, commitDate } = buildInfo();
    expect(await createMetrics('harbor-writer').metrics()).toContain(`orbit_build_info{version="${version}",commit="${commit}",commitDate="${commitDate}",service="harbor-writer"} 1`);
  });
});
