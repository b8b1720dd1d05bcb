import { afterAll, describe, expect, it } from 'vitest';
import { quietLogger, testKafka, uniqueSuffix, waitFor } from '../../../test/helpers/index.js';
import { retryPolicy } from '../retry.js';
import { ConsumeLoop } from './consume-loop.js';
import { CONSUMER_EVENTS, type ConsumerEventPayloads } from './instrumentation.js';

const kafka = testKafka();
const topic = `fixk-markers-${uniqueSuffix()}`;
const groupId = `fixk-markers-${uniqueSuffix()}`;

/** Writes `value` in a transaction of its own, committed or aborted: a marker follows it on the partition either way. */
async function inTransaction(value: string, end: 'commit' | 'abort'): Promise<void> {
  const producer = kafka.producer({ transactionalId: `fixk-markers-tx-${uniqueSuffix()}`, idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  try {
    const transaction = await producer.transaction();
    await transaction.send({ topic, messages: [{ key: 'k', value }] });
    await (end === 'commit' ? transaction.commit() : transaction.abort());
  } finally {
    await producer.disconnect();
  }
}

async function partitionEndAndCommitted(): Promise<{ end: string; committed: string }> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const [end] = await admin.fetchTopicOffsets(topic);
    const [offsets] = await admin.fetchOffsets({ groupId, topics: [topic] });
    return { end: end?.high ?? '?', committed: offsets?.partitions[0]?.offset ?? '?' };
  } finally {
    await admin.disconnect();
  }
}

afterAll(async () => {
  const admin = kafka.admin();
  await admin.connect();
  await admin.deleteTopics({ topics: [topic, `${topic}.dlq`] }).catch(() => undefined);
  await admin.deleteGroups([groupId]).catch(() => undefined);
  await admin.disconnect();
});

describe('consume loop after transaction markers', () => {
  it('commits past the commit and abort markers that end a partition, and says it is 0 behind once idle (found by a review: the lag stayed at 1 for ever)', async () => {
    // 1. A partition as a dlq:redrive leaves it: a plain message, a committed transaction, an aborted one.
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ waitForLeaders: true, topics: [{ topic, numPartitions: 1 }, { topic: `${topic}.dlq`, numPartitions: 1 }] });
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({ topic, messages: [{ key: 'k', value: 'plain' }] });
    await producer.disconnect();
    await admin.disconnect();
    await inTransaction('committed', 'commit');
    await inTransaction('aborted', 'abort');
    const handled: string[] = [];
    const lags: number[] = [];
    const loopOf = (): ConsumeLoop<string> => {
      const made = new ConsumeLoop<string>({
        kafka, groupId, topics: [topic], logger: quietLogger, maxWaitTimeMs: 300, retryPolicy: retryPolicy({ initialDelayMs: 100, maxDelayMs: 1_000, jitter: 0 }),
        decode: async (_topic, value) => value?.toString() ?? '',
        handler: async (message) => { handled.push(message.event); },
      });
      made.on(CONSUMER_EVENTS.lag, (event: ConsumerEventPayloads['consumer.lag']) => lags.push(event.lag));
      return made;
    };
    let loop = loopOf();
    await loop.start();
    try {
      // 2. Caught up: the group's offset is the partition's end, markers included, and the last lag said is 0.
      await waitFor(() => handled.length === 2, { what: 'the two committed messages' });
      expect(handled).toEqual(['plain', 'committed']);
      await waitFor(async () => {
        const { end, committed } = await partitionEndAndCommitted();
        return end === committed;
      }, { timeoutMs: 10_000, what: 'the group to commit the partition\'s end, past the markers' });
      expect(lags.at(-1)).toBe(0);
      // 3. While it runs: an aborted transaction alone (its records and marker, nothing handed over) is committed past too.
      lags.length = 0;
      await inTransaction('aborted again', 'abort');
      await waitFor(async () => {
        const { end, committed } = await partitionEndAndCommitted();
        return end === committed;
      }, { timeoutMs: 10_000, what: 'the group to commit past an aborted transaction that came while it was idle' });
      expect(lags.at(-1)).toBe(0);
      expect(handled).toEqual(['plain', 'committed']);
      // 4. Stopped, and an aborted transaction written meanwhile: a new member, starting at the group's offset, commits past it too.
      await loop.stop();
      await inTransaction('aborted while stopped', 'abort');
      loop = loopOf();
      await loop.start();
      await waitFor(async () => {
        const { end, committed } = await partitionEndAndCommitted();
        return end === committed;
      }, { timeoutMs: 15_000, what: 'a new member to commit past an aborted transaction at the group\'s offset' });
      expect(handled).toEqual(['plain', 'committed']);
    } finally {
      await loop.stop();
    }
  });
});
