import { afterAll, describe, expect, it } from 'vitest';
import { readAll, testKafka, uniqueSuffix } from '../../../test/helpers/index.js';
import { lettersAt } from '../../../test/helpers/dlq-letters.js';
import { sendGenuineLetters } from '../../../test/helpers/genuine-letters.js';
import { OrbitError } from '../errors.js';
import { dlqTopicOf } from '../topics.js';
import type { Kafka, KafkaMessage } from './client.js';
import { deadLetterRecord } from './dead-letter.js';
import { forEachDeadLetter, letterState, listDeadLetters, redriveDeadLetters, whySetAside } from './dlq-ops.js';
import { HEADER } from './headers.js';
import { readTopicToEnd } from './read-to-end.js';

const kafka = testKafka();
const made: string[] = [];

/** A topic and its DLQ of the test's own (`fixk-`), deleted after the file. */
async function topicPair(label: string, partitions = 1): Promise<{ topic: string; dlq: string }> {
  const topic = `fixk-${label}-${uniqueSuffix()}`;
  const dlq = dlqTopicOf(topic);
  made.push(topic, dlq);
  const admin = kafka.admin();
  await admin.connect();
  try {
    await admin.createTopics({ waitForLeaders: true, topics: [topic, dlq].map((name) => ({ topic: name, numPartitions: partitions, replicationFactor: 1 })) });
  } finally {
    await admin.disconnect();
  }
  return { topic, dlq };
}

afterAll(async () => {
  const admin = kafka.admin();
  await admin.connect();
  await admin.deleteTopics({ topics: made }).catch(() => undefined);
  await admin.disconnect();
});

async function send(topic: string, messages: { key: string | Buffer | null; value: string | Buffer | null; partition?: number; headers?: Record<string, string | Buffer | Buffer[]> }[]): Promise<void> {
  const producer = kafka.producer();
  await producer.connect();
  try {
    await producer.send({ topic, acks: -1, messages });
  } finally {
    await producer.disconnect();
  }
}

/** The messages now on `topic`, as a consumer reads them back. */
async function messagesOf(topic: string): Promise<KafkaMessage[]> {
  const all: KafkaMessage[] = [];
  await readTopicToEnd(kafka, topic, (message) => void all.push(message), { groupPrefix: 'fixk-read', wholeOrNothing: true });
  return all;
}

/** The letter a consumer of `group` would write for `message` (read back from `topic`): a genuine one. */
const genuineLetter = (topic: string, message: KafkaMessage, group: string): ReturnType<typeof deadLetterRecord> =>
  deadLetterRecord({ topic, partition: 0, message, error: new OrbitError('ORBIT_ERR_STORE_UNAVAILABLE', 's3 timed out', { retriable: true }), attempts: 5, groupId: group });

describe('dlq:redrive against the real broker: a letter goes back only if it holds the message it names (found by a review: a forged letter was published as the operator)', () => {
  it('sets aside a forged letter, one naming no message and one with altered headers, re-drives the genuine one, and a list says why', async () => {
    // 1. One genuine message on the source topic, and a genuine letter of it; then letters anyone with WRITE on the DLQ can write.
    const { topic, dlq } = await topicPair('forged');
    await send(topic, [{ key: 'uid-1', value: 'TransferRequested to Development', headers: { 'orbit-event-type': 'TransferRequested', dup: [Buffer.from('a'), Buffer.from('b')] } }]);
    const [original] = await messagesOf(topic);
    if (!original) throw new Error('the original is not on its topic');
    const genuine = genuineLetter(topic, original, 'harbor-writer');
    const forged = { ...genuine, value: Buffer.from('TransferRequested to Production') };
    const nowhere = { ...genuine, headers: { ...genuine.headers, [HEADER.dlqOffset]: '7' } };
    const altered = { ...genuine, headers: { ...genuine.headers, 'orbit-event-type': 'ImageValidated' } };
    // The forged one first, for the same message and group: the genuine one behind it must not be taken for its duplicate.
    await send(dlq, [forged, nowhere, altered, genuine]);
    // 2. Re-drive: only the genuine letter goes, once.
    const outcome = await redriveDeadLetters(kafka, dlq);
    expect(outcome.redriven.map((letter) => letter.dlqOffset)).toEqual(['3']);
    expect(outcome.setAside.map(({ letter, reason }) => [letter.dlqOffset, reason])).toEqual([
      ['0', `letter does not match the message at ${topic} 0@0 (different value): forged or altered, not re-driven`],
      ['1', `no message at ${topic} 0@7: the letter cannot be checked against it`],
      ['2', `letter does not match the message at ${topic} 0@0 (different headers): forged or altered, not re-driven`],
    ]);
    const onTopic = await readAll(kafka, topic, 2);
    expect(onTopic.map(({ value }) => value?.toString())).toEqual(['TransferRequested to Development', 'TransferRequested to Development']);
    expect(onTopic[1]?.headers[HEADER.redriveGroup]).toBe('harbor-writer');
    // 3. A list shows the forged ones set aside, with why; a second re-drive sends nothing, named or not.
    const listed = await listDeadLetters(kafka, dlq);
    expect(listed.map(letterState)).toEqual(['set aside', 'set aside', 'set aside', 're-driven']);
    expect(whySetAside(listed[0]!)).toContain(`does not hold the message at ${topic} 0@0`);
    expect(await redriveDeadLetters(kafka, dlq)).toEqual({ redriven: [], setAside: [], stopped: false });
    const named = await redriveDeadLetters(kafka, dlq, { offsets: lettersAt('0') });
    expect(named.redriven).toEqual([]);
    expect(named.setAside.map(({ reason }) => reason)).toEqual([`letter does not match the message at ${topic} 0@0 (different value): forged or altered, not re-driven`]);
  }, 120_000);

  it('checks a lot of letters of several partitions with one read, seeking past what lies between', async () => {
    const { topic, dlq } = await topicPair('many', 2);
    for (const partition of [0, 1]) {
      await send(topic, Array.from({ length: 300 }, (_, n) => ({ key: `uid-${partition}-${n}`, value: `event ${n}`, partition })));
    }
    const originals = await messagesOf(topic);
    expect(originals).toHaveLength(600);
    // Every tenth message failed; the letters of partition 1 claim the partition they came from.
    const letters = originals.filter((_, n) => n % 10 === 0).map((message) => {
      const letter = genuineLetter(topic, message, 'projector');
      const partition = message.key?.toString().split('-')[1] ?? '0';
      return { ...letter, headers: { ...letter.headers, [HEADER.dlqPartition]: partition } };
    });
    await send(dlq, letters);
    const outcome = await redriveDeadLetters(kafka, dlq);
    expect(outcome.setAside).toEqual([]);
    expect(outcome.redriven).toHaveLength(60);
  }, 120_000);
});

/** The group prefix of the consumer that reads back the messages letters name (written out: the test holds the code to it). */
const CHECK_GROUP_PREFIX = 'orbit-dlq-redrive-check-';

/** `kafka`, counting the consumers made through it that read back originals, and the times they joined their group. */
function countingCheckReaders(): { kafka: Kafka; consumers: () => number; joins: () => number } {
  let consumers = 0;
  let joins = 0;
  const counting = new Proxy(kafka, {
    get(target, property) {
      if (property === 'consumer') {
        return (config: Parameters<Kafka['consumer']>[0]) => {
          const consumer = target.consumer(config);
          if (config.groupId.startsWith(CHECK_GROUP_PREFIX)) {
            consumers += 1;
            consumer.on(consumer.events.GROUP_JOIN, () => { joins += 1; });
          }
          return consumer;
        };
      }
      const value: unknown = Reflect.get(target, property);
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
  return { kafka: counting, consumers: () => consumers, joins: () => joins };
}

describe('dlq:list against the real broker: a forged letter shows set aside before any re-drive (found by a review: shown pending until a re-drive checked it)', () => {
  it('reads back the message each pending letter names and shows one that does not hold it set aside, with the reason a re-drive gives, sending nothing', async () => {
    // 1. One genuine message, its letter, and three letters that do not hold it (as in the re-drive's test above).
    const { topic, dlq } = await topicPair('listed');
    await send(topic, [{ key: 'uid-1', value: 'TransferRequested to Development', headers: { 'orbit-event-type': 'TransferRequested' } }]);
    const [original] = await messagesOf(topic);
    if (!original) throw new Error('the original is not on its topic');
    const genuine = genuineLetter(topic, original, 'harbor-writer');
    await send(dlq, [
      { ...genuine, value: Buffer.from('TransferRequested to Production') },
      { ...genuine, headers: { ...genuine.headers, [HEADER.dlqOffset]: '7' } },
      { ...genuine, headers: { ...genuine.headers, 'orbit-event-type': 'ImageValidated' } },
      genuine,
    ]);
    // 2. The list, before any re-drive: the three are set aside, each with why; the genuine one is pending.
    const listed = await listDeadLetters(kafka, dlq);
    expect(listed.map((letter) => [letter.dlqOffset, letterState(letter), whySetAside(letter) ?? null])).toEqual([
      ['0', 'set aside', `letter does not match the message at ${topic} 0@0 (different value): forged or altered, not re-driven`],
      ['1', 'set aside', `no message at ${topic} 0@7: the letter cannot be checked against it`],
      ['2', 'set aside', `letter does not match the message at ${topic} 0@0 (different headers): forged or altered, not re-driven`],
      ['3', 'pending', null],
    ]);
    // 3. It sent nothing, and the re-drive after it sets aside the same letters for the same reasons.
    expect(await messagesOf(topic)).toHaveLength(1);
    const outcome = await redriveDeadLetters(kafka, dlq);
    expect(outcome.redriven.map((letter) => letter.dlqOffset)).toEqual(['3']);
    expect(outcome.setAside.map(({ letter, reason }) => [letter.dlqOffset, 'set aside', reason])).toEqual(listed.slice(0, 3).map((letter) => [letter.dlqOffset, letterState(letter), whySetAside(letter)]));
  }, 120_000);

  it('leaves a letter pending, unchecked, when its topic is gone: a re-drive leaves it pending too', async () => {
    const topic = `fixk-gone-${uniqueSuffix()}`;
    const dlq = dlqTopicOf(topic);
    made.push(dlq);
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ waitForLeaders: true, topics: [{ topic: dlq, numPartitions: 1, replicationFactor: 1 }] });
    await admin.disconnect();
    const letter = deadLetterRecord({
      topic, partition: 0, attempts: 1, groupId: 'harbor-writer', error: new OrbitError('ORBIT_ERR_POISON', 'poison'),
      message: { key: Buffer.from('uid-1'), value: Buffer.from('v'), headers: {}, offset: '0', timestamp: '0', attributes: 0 },
    });
    await send(dlq, [letter]);
    expect((await listDeadLetters(kafka, dlq)).map(letterState)).toEqual(['pending']);
  }, 60_000);
});

/** A DLQ of 450 genuine letters (three lots), then a forged one, for another group, naming the message of letter 420; and why it is set aside. */
async function threeLotsAndAForgedLetter(): Promise<{ dlq: string; forged: string }> {
  const { topic, dlq } = await topicPair('lots');
  const letters = Array.from({ length: 450 }, (_, offset) => deadLetterRecord({
    topic, partition: 0, attempts: 1, groupId: 'harbor-writer', error: new OrbitError('ORBIT_ERR_POISON', 'poison'),
    message: { key: Buffer.from(`uid-${offset}`), value: Buffer.from(`value ${offset}`), headers: {}, offset: String(offset), timestamp: '0', attributes: 0 },
  }));
  await sendGenuineLetters(kafka, dlq, letters);
  const model = letters[420];
  if (!model) throw new Error('no letter 420');
  await send(dlq, [{ ...model, value: Buffer.from('value forged'), headers: { ...model.headers, [HEADER.dlqGroup]: 'projector' } }]);
  return { dlq, forged: `letter does not match the message at ${topic} 0@420 (different value): forged or altered, not re-driven` };
}

describe('the check of letters against their originals, over lots (found by a review: a consumer group joined per lot of 200, 3 s each on a broker with Kafka\'s default group.initial.rebalance.delay.ms)', () => {
  it('re-drives three lots of letters with one reader of the originals, joining its group once, and sets aside a forged letter in the last lot', async () => {
    const { dlq, forged } = await threeLotsAndAForgedLetter();
    const redriving = countingCheckReaders();
    const outcome = await redriveDeadLetters(redriving.kafka, dlq);
    expect(outcome.redriven).toHaveLength(450);
    expect(outcome.setAside.map(({ letter, reason }) => `${letter.dlqOffset}: ${reason}`)).toEqual([`450: ${forged}`]);
    expect({ consumers: redriving.consumers(), joins: redriving.joins() }).toEqual({ consumers: 1, joins: 1 });
  }, 180_000);

  it('lists three lots of letters with one reader of the originals, joining its group once, and shows the forged letter set aside', async () => {
    const { dlq, forged } = await threeLotsAndAForgedLetter();
    const listing = countingCheckReaders();
    const states = new Map<string, number>();
    const reasons: string[] = [];
    await forEachDeadLetter(listing.kafka, dlq, (letter) => {
      states.set(letterState(letter), (states.get(letterState(letter)) ?? 0) + 1);
      const why = whySetAside(letter);
      if (why !== undefined) reasons.push(`${letter.dlqOffset}: ${why}`);
    });
    expect(Object.fromEntries(states)).toEqual({ pending: 450, 'set aside': 1 });
    expect(reasons).toEqual([`450: ${forged}`]);
    expect({ consumers: listing.consumers(), joins: listing.joins() }).toEqual({ consumers: 1, joins: 1 });
  }, 180_000);
});
