import { describe, expect, it } from 'vitest';
import { createTestTopics, testKafka, uniqueSuffix } from '../../../test/helpers/index.js';
import { GroupRunningError, setGroupOffsets } from './group-offsets.js';

describe('setGroupOffsets against a real broker', () => {
  it('moves a group on several topics and partitions with one join, and refuses a group that has a running member', async () => {
    const kafka = testKafka();
    const [first, second] = [`test.offsets.a.${uniqueSuffix()}`, `test.offsets.b.${uniqueSuffix()}`] as const;
    await createTestTopics(kafka, [first, second], 2);
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({ topic: first, messages: Array.from({ length: 6 }, (_, i) => ({ partition: i % 2, value: `m${i}` })) });
    await producer.send({ topic: second, messages: [{ partition: 1, value: 'only' }] });
    await producer.disconnect();
    const admin = kafka.admin();
    await admin.connect();
    const groupId = `offsets-${uniqueSuffix()}`;
    const committed = async (): Promise<string[]> => (await admin.fetchOffsets({ groupId, topics: [first, second] }))
      .flatMap(({ topic, partitions }) => partitions.map(({ partition, offset }) => `${topic === first ? 'a' : 'b'}/${partition}@${offset}`)).sort();
    try {
      const started = Date.now();
      await setGroupOffsets(kafka, groupId, [
        { topic: first, partition: 0, offset: '2' }, { topic: first, partition: 1, offset: '3' }, { topic: second, partition: 1, offset: '1' },
      ]);
      // kafkajs's admin.setOffsets, one topic at a time, sat out a 5 s fetch wait per topic: 10 s at least for these two.
      expect(Date.now() - started).toBeLessThan(10_000);
      expect(await committed()).toEqual(['a/0@2', 'a/1@3', 'b/0@-1', 'b/1@1']);

      const member = kafka.consumer({ groupId, maxWaitTimeInMs: 100 });
      await member.connect();
      await member.subscribe({ topics: [first], fromBeginning: true });
      const joined = new Promise<void>((resolve) => { member.on(member.events.GROUP_JOIN, () => resolve()); });
      await member.run({ eachMessage: async () => undefined });
      await joined;
      try {
        await expect(setGroupOffsets(kafka, groupId, [{ topic: first, partition: 0, offset: '0' }])).rejects.toBeInstanceOf(GroupRunningError);
      } finally {
        await member.disconnect();
      }
    } finally {
      await admin.disconnect();
    }
  }, 60_000);
});
