import { describe, expect, it } from 'vitest';
import { createTestTopics, testKafka, uniqueSuffix } from '../../../test/helpers/index.js';
import { readTopicToEnd } from './read-to-end.js';

describe('readTopicToEnd against a real broker', () => {
  it('ends at once when a partition ends in a transaction\'s marker or aborted records, not after its timeout (found by a review)', async () => {
    const kafka = testKafka();
    const topic = `test.read-to-end.${uniqueSuffix()}`;
    await createTestTopics(kafka, [topic], 2);
    const plain = kafka.producer();
    await plain.connect();
    await plain.send({ topic, messages: [{ partition: 0, value: 'p0-plain' }, { partition: 1, value: 'p1-plain' }] });
    await plain.disconnect();
    // Partition 0 ends in a committed transaction's marker, partition 1 in an aborted one's records and marker.
    const transactional = kafka.producer({ transactionalId: `test-read-to-end-${uniqueSuffix()}`, idempotent: true, maxInFlightRequests: 1 });
    await transactional.connect();
    try {
      const committed = await transactional.transaction();
      await committed.send({ topic, messages: [{ partition: 0, value: 'p0-committed' }] });
      await committed.commit();
      const aborted = await transactional.transaction();
      await aborted.send({ topic, messages: [{ partition: 1, value: 'p1-aborted' }] });
      await aborted.abort();
    } finally {
      await transactional.disconnect();
    }
    const read: string[] = [];
    const started = Date.now();
    await readTopicToEnd(kafka, topic, (message, partition) => { read.push(`${partition}:${String(message.value)}`); }, { groupPrefix: 'test-read-to-end', timeoutMs: 30_000 });
    expect(read.sort()).toEqual(['0:p0-committed', '0:p0-plain', '1:p1-plain']);
    expect(Date.now() - started).toBeLessThan(15_000);
  }, 60_000);

  it('starts a partition where `from` says, and ends at once when there is nothing past it', async () => {
    const kafka = testKafka();
    const topic = `test.read-to-end.from.${uniqueSuffix()}`;
    await createTestTopics(kafka, [topic], 2);
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({ topic, messages: [0, 1, 2, 3].flatMap((n) => [{ partition: 0, value: `p0-${n}` }, { partition: 1, value: `p1-${n}` }]) });
    await producer.disconnect();
    const read: string[] = [];
    await readTopicToEnd(kafka, topic, (message) => { read.push(String(message.value)); }, { groupPrefix: 'test-read-from', wholeOrNothing: true, from: new Map([[0, 2n]]) });
    expect(read.sort()).toEqual(['p0-2', 'p0-3', 'p1-0', 'p1-1', 'p1-2', 'p1-3']);
    const none: string[] = [];
    await readTopicToEnd(kafka, topic, (message) => { none.push(String(message.value)); }, { groupPrefix: 'test-read-from', wholeOrNothing: true, from: new Map([[0, 4n], [1, 4n]]) });
    expect(none).toEqual([]);
    // A partition with nothing to read past `from` is not fetched from its beginning meanwhile (events:refill read
    // every partition's whole history so).
    const fetched: { partition: number; firstOffset: string }[] = [];
    const watched = new Proxy(kafka, {
      get(target, property, receiver) {
        if (property !== 'consumer') return Reflect.get(target, property, receiver) as unknown;
        return (config: Parameters<typeof kafka.consumer>[0]) => {
          const consumer = target.consumer(config);
          consumer.on(consumer.events.END_BATCH_PROCESS, ({ payload }) => { fetched.push({ partition: payload.partition, firstOffset: payload.firstOffset }); });
          return consumer;
        };
      },
    });
    const onlyZero: string[] = [];
    await readTopicToEnd(watched, topic, (message) => { onlyZero.push(String(message.value)); }, { groupPrefix: 'test-read-from', wholeOrNothing: true, from: new Map([[0, 3n], [1, 4n]]) });
    expect(onlyZero).toEqual(['p0-3']);
    expect(fetched.filter(({ partition }) => partition === 1)).toEqual([]);
  }, 60_000);
});
