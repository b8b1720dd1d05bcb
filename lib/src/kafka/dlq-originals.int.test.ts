import { describe, expect, it } from 'vitest';
import { createTestTopics, testKafka, uniqueSuffix } from '../../../test/helpers/index.js';
import { MessagesAtReader } from './dlq-originals.js';

describe('MessagesAtReader against the real broker: the messages at given offsets, lot after lot, with one consumer (found by a review: a group joined per lot)', () => {
  it('reads lots forwards and backwards, each getting exactly the messages at its offsets, across a transaction marker and past the end, joining its group once', async () => {
    // 1. 300 messages, then one written in a transaction: its marker takes offset 301, which is no message.
    const kafka = testKafka();
    const topic = `test.originals.${uniqueSuffix()}`;
    await createTestTopics(kafka, [topic]);
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({ topic, acks: -1, messages: Array.from({ length: 300 }, (_, n) => ({ value: `m${n}` })) });
    await producer.disconnect();
    const transactional = kafka.producer({ transactionalId: `test-originals-${uniqueSuffix()}`, maxInFlightRequests: 1, idempotent: true });
    await transactional.connect();
    const transaction = await transactional.transaction();
    await transaction.send({ topic, messages: [{ value: 'm300' }] });
    await transaction.commit();
    await transactional.disconnect();
    // 2. Lots in any order, one reader; its consumer's joins counted.
    let joins = 0;
    const counting = new Proxy(kafka, {
      get(target, property) {
        if (property === 'consumer') {
          return (config: Parameters<typeof kafka.consumer>[0]) => {
            const consumer = target.consumer(config);
            consumer.on(consumer.events.GROUP_JOIN, () => { joins += 1; });
            return consumer;
          };
        }
        const value: unknown = Reflect.get(target, property);
        return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
      },
    });
    const reader = new MessagesAtReader(counting, topic, `test-originals-${uniqueSuffix()}`);
    const readLot = async (offsets: bigint[]): Promise<string[]> => {
      const values: string[] = [];
      await reader.read(new Map([[0, offsets]]), (_, message) => values.push(`${message.offset}=${message.value?.toString() ?? ''}`), 10_000);
      return values;
    };
    try {
      expect(await readLot([250n, 260n])).toEqual(['250=m250', '260=m260']);
      expect(await readLot([5n, 10n, 299n])).toEqual(['5=m5', '10=m10', '299=m299']);
      expect(await readLot([300n, 301n])).toEqual(['300=m300']);
      expect(await readLot([7n, 8n, 9n])).toEqual(['7=m7', '8=m8', '9=m9']);
      expect(await readLot([9999n])).toEqual([]);
      expect(await readLot([0n])).toEqual(['0=m0']);
    } finally {
      await reader.close();
    }
    expect(joins).toBe(1);
  }, 60_000);

  it('says a topic that does not exist is not there, reading nothing', async () => {
    const kafka = testKafka();
    const reader = new MessagesAtReader(kafka, `test.originals.none.${uniqueSuffix()}`);
    try {
      expect(await reader.read(new Map([[0, [0n]]]), () => undefined, 5_000)).toBe(false);
    } finally {
      await reader.close();
    }
  }, 30_000);
});
