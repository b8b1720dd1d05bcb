import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { memoryLogger } from '../../../test/helpers/memory-logger.js';
import { StoreUnavailableError } from '../errors.js';
import type { Logger } from '../logger.js';
import { isRetriable } from '../retry-classifier.js';
import { retryPolicy } from '../retry.js';
import { BATCH_RETRY_REMINDER_MS, processChunk } from './batch-processing.js';
import type { Kafka, KafkaMessage } from './client.js';
import type { ConsumedMessage } from './consumed-message.js';
import { MessageProcessor } from './message-processing.js';

interface Event {
  readonly pid: string;
  readonly correlationId: string;
  readonly imageUID: string;
}

/** DynamoDB's socket reset, as the SDK throws it through aws.ts (which records the call). */
const dynamoReset = (): Error => Object.assign(new Error('socket hang up'), { code: 'ECONNRESET', awsCall: 'BatchWriteItem events', $metadata: {} });

/** A processor of one loop whose batch handler does what `outcomes` says, one batch after another (a throw, or through). */
function batchProcessor(log: Logger, outcomes: (Error | 'ok')[]): MessageProcessor<Event> {
  const batchHandler = (_messages: readonly ConsumedMessage<Event>[]): Promise<void> => {
    const next = outcomes.shift() ?? 'ok';
    return next === 'ok' ? Promise.resolve() : Promise.reject(next);
  };
  return new MessageProcessor<Event>({
    options: {
      kafka: {} as Kafka, groupId: 'event-logger', topics: ['orbit.image.stored'], logger: log, retryPolicy: retryPolicy({ initialDelayMs: 1, maxDelayMs: 1 }),
      decode: (_topic, value) => Promise.resolve(JSON.parse(String(value)) as Event), handler: () => Promise.resolve(), batchHandler,
    },
    log, isRetriable, slowHandlerWarnMs: 60_000, signal: new AbortController().signal,
    isRunning: () => true, dlqProducer: () => undefined, retriesSoFar: () => 0, failed: () => undefined, seek: () => undefined,
    emitEvent: () => undefined, emitPassedOver: () => undefined,
  });
}

const message = (offset: number): KafkaMessage => ({
  key: Buffer.from(`img-${offset}`), offset: String(offset), timestamp: '0', attributes: 0, headers: {},
  value: Buffer.from(JSON.stringify({ pid: `pid-${offset}`, correlationId: `req-${offset}`, imageUID: `img-${offset}` })),
} as KafkaMessage);

const chunk = [message(40), message(41), message(42)];

describe('a batch consumer retrying a batch that fails for now', () => {
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(new Date('2026-12-07T10:00:00Z'));
  });
  afterEach(() => vi.useRealTimers());

  it('says the first failure with its first message\'s identifiers, not each retry; each new reason; and once when the batch goes through (found by an SRE review: 0 lines in 80 s of DynamoDB resets)', async () => {
    const { logger, lines } = memoryLogger();
    const same = Array.from({ length: 6 }, dynamoReset);
    const processor = batchProcessor(logger, [...same, new StoreUnavailableError('dynamodb', 'BatchWriteItem kept leaving items unprocessed'), 'ok']);
    for (let retry = 0; retry < 7; retry += 1) {
      vi.setSystemTime(Date.now() + 1_000);
      expect(await processChunk(processor, 'orbit.image.stored', 3, chunk)).toEqual({ retryAt: '40' });
    }
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatchObject({
      level: 'warn', topic: 'orbit.image.stored', partition: 3, offset: '40', pid: 'pid-40', correlationId: 'req-40', imageUID: 'img-40', batchSize: 3,
      dependency: 'dynamodb', reason: 'dynamodb ECONNRESET', retries: 1, err: { message: 'socket hang up' },
    });
    expect(String(lines[0]?.['msg'])).toMatch(/^transient failure of a batch, partition paused for backoff/);
    expect(lines[1]).toMatchObject({
      level: 'warn', pid: 'pid-40', imageUID: 'img-40', reason: 'dynamodb ORBIT_ERR_STORE_UNAVAILABLE', previousReason: 'dynamodb ECONNRESET', retries: 7, failingForMs: 6_000,
      msg: 'transient failure of a batch for another reason, partition still paused for backoff',
    });
    expect(await processChunk(processor, 'orbit.image.stored', 3, chunk)).toEqual({ done: '42' });
    expect(lines).toHaveLength(3);
    expect(lines[2]).toMatchObject({
      level: 'info', pid: 'pid-40', correlationId: 'req-40', imageUID: 'img-40', retries: 7, lastReason: 'dynamodb ORBIT_ERR_STORE_UNAVAILABLE', failedForMs: 6_000,
      msg: 'batch went through again after transient failures',
    });
    // Going on without failures says nothing more.
    await processChunk(processor, 'orbit.image.stored', 3, [message(43)]);
    expect(lines).toHaveLength(3);
  });

  it('says a failure that goes on for the same reason again each reminder period, with its count', async () => {
    const { logger, lines } = memoryLogger();
    const processor = batchProcessor(logger, Array.from({ length: 5 }, dynamoReset));
    for (let retry = 0; retry < 5; retry += 1) {
      await processChunk(processor, 'orbit.image.stored', 0, chunk);
      vi.setSystemTime(Date.now() + BATCH_RETRY_REMINDER_MS / 2);
    }
    // At 0 (the first), 60 s (the third) and 120 s (the fifth).
    expect(lines.map((line) => [line['msg'], line['retries']])).toEqual([
      [expect.stringMatching(/^transient failure of a batch, partition paused for backoff/), 1],
      ['transient failure of a batch goes on, partition still paused for backoff', 3],
      ['transient failure of a batch goes on, partition still paused for backoff', 5],
    ]);
  });

  it('keeps each partition\'s run apart, and starts a new one at another first message (the partition went away and came back)', async () => {
    const { logger, lines } = memoryLogger();
    const processor = batchProcessor(logger, Array.from({ length: 4 }, dynamoReset));
    await processChunk(processor, 'orbit.image.stored', 0, chunk);
    await processChunk(processor, 'orbit.image.stored', 1, chunk);
    await processChunk(processor, 'orbit.image.stored', 1, chunk);
    await processChunk(processor, 'orbit.image.stored', 0, [message(41), message(42)]);
    expect(lines.map((line) => [line['partition'], line['offset'], line['retries']])).toEqual([[0, '40', 1], [1, '40', 1], [0, '41', 1]]);
  });
});
