import { spawn } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { createTestTopics, testConfig, testKafka, uniqueSuffix } from '../../../test/helpers/index.js';
import { dlqTopicOf } from '../topics.js';
import { deadLetterRecord } from './dead-letter.js';
import { forgetGroup, lettersAt } from '../../../test/helpers/dlq-letters.js';
import { DeadLetterNotFoundError, OffsetWithoutPartitionError } from './dlq-named.js';
import { letterState, listDeadLetters, redriveDeadLetters, redriveGroupOf, REDRIVE_RECORD_HEADER } from './dlq-ops.js';
import { GroupRunningError, holdGroup, setGroupOffsets } from './group-offsets.js';
import { readTopicToEnd, TopicReadIncompleteError } from './read-to-end.js';
import type { KafkaMessage } from './client.js';
import { DecodeError, OrbitError } from '../errors.js';
import { HEADER } from './headers.js';
import { oversizedDeadLetterRecord } from './dead-letter.js';
import { sendGenuineLetters } from '../../../test/helpers/genuine-letters.js';
import { REDRIVEN_FROM_HEADER } from './redrive-copy.js';

/** The copies re-drives sent to `topic`, in order: not the originals the letters were checked against. */
async function copiesOn(kafka: ReturnType<typeof testKafka>, topic: string): Promise<KafkaMessage[]> {
  const copies: KafkaMessage[] = [];
  await readTopicToEnd(kafka, topic, (message) => void (message.headers?.[REDRIVEN_FROM_HEADER] !== undefined && copies.push(message)), { groupPrefix: 'test-dlq-copies', timeoutMs: 30_000, wholeOrNothing: true });
  return copies;
}

/** A topic and its DLQ holding `count` poison letters (offsets 0…) that `groupId` wrote: keys uid-<n>, values [n]. */
async function poisonLetters(kafka: ReturnType<typeof testKafka>, name: string, count: number, groupId: string): Promise<{ topic: string; dlq: string }> {
  const topic = `test.dlq.${name}.${uniqueSuffix()}`;
  const dlq = dlqTopicOf(topic);
  await createTestTopics(kafka, [topic, dlq]);
  await sendGenuineLetters(kafka, dlq, Array.from({ length: count }, (_, offset) => deadLetterRecord({
    topic, partition: 0, attempts: 1, groupId, error: new OrbitError('ORBIT_ERR_POISON', 'poison'),
    message: { key: Buffer.from(`uid-${offset}`), value: Buffer.from([offset % 256]), headers: {}, offset: String(offset), timestamp: '0', attributes: 0 },
  })));
  return { topic, dlq };
}

describe('dead letters: list and re-drive against a real broker', () => {
  it('lists why each letter failed, re-drives the original bytes and headers, and never re-drives one twice', async () => {
    const kafka = testKafka();
    const topic = `test.dlq.${uniqueSuffix()}`;
    await createTestTopics(kafka, [topic, dlqTopicOf(topic)]);
    const letters = [0, 1].map((offset) => deadLetterRecord({
      topic, partition: 0, attempts: 1, groupId: 'harbor-writer',
      error: new OrbitError('ORBIT_ERR_POISON', `cannot handle message ${offset}`),
      message: { key: Buffer.from(`uid-${offset}`), value: Buffer.from([0, 0, 0, 0, 1, offset]), headers: { traceparent: `00-${'a'.repeat(32)}-${'b'.repeat(16)}-01` }, offset: String(offset), timestamp: '0', attributes: 0 },
    }));
    await sendGenuineLetters(kafka, dlqTopicOf(topic), letters);

    const listed = await listDeadLetters(kafka, dlqTopicOf(topic));
    expect(listed.map((letter) => [letter.originalTopic, letter.originalOffset, letter.errorCode, letter.consumerGroup])).toEqual([
      [topic, '0', 'ORBIT_ERR_POISON', 'harbor-writer'], [topic, '1', 'ORBIT_ERR_POISON', 'harbor-writer'],
    ]);
    expect(listed[1]?.errorMessage).toContain('cannot handle message 1');
    // Listing commits nothing: a second look sees the same letters.
    expect(await listDeadLetters(kafka, dlqTopicOf(topic))).toHaveLength(2);

    expect(listed.map((letter) => [letter.redriven, letter.redrivenFrom])).toEqual([[false, null], [false, null]]);
    expect((await redriveDeadLetters(kafka, dlqTopicOf(topic))).redriven).toHaveLength(2);
    expect((await redriveDeadLetters(kafka, dlqTopicOf(topic))).redriven).toHaveLength(0);
    // A list tells re-driven letters from pending ones (found by a probe: they looked the same).
    expect((await listDeadLetters(kafka, dlqTopicOf(topic))).map((letter) => letter.redriven)).toEqual([true, true]);
    const back = await copiesOn(kafka, topic);
    expect(back.map((message) => message.key?.toString())).toEqual(['uid-0', 'uid-1']);
    expect(back[0]?.value).toEqual(Buffer.from([0, 0, 0, 0, 1, 0]));
    expect(back[0]?.headers?.['traceparent']?.toString()).toBe(`00-${'a'.repeat(32)}-${'b'.repeat(16)}-01`);
    expect(Object.keys(back[0]?.headers ?? {}).some((name) => name.startsWith('orbit-dlq-'))).toBe(false);
    // For the group that failed on it alone: the topic's other groups handled the original already.
    expect(back[0]?.headers?.[HEADER.redriveGroup]?.toString()).toBe('harbor-writer');
    // Failing again, the letter says which it was re-driven from.
    const again = deadLetterRecord({
      topic, partition: 0, attempts: 1, groupId: 'harbor-writer', error: new OrbitError('ORBIT_ERR_POISON', 'still'),
      message: { key: back[0]?.key ?? null, value: back[0]?.value ?? null, headers: back[0]?.headers ?? {}, offset: back[0]?.offset ?? '?', timestamp: '0', attributes: 0 },
    });
    const resend = kafka.producer();
    await resend.connect();
    await resend.send({ topic: dlqTopicOf(topic), messages: [again] });
    await resend.disconnect();
    expect((await listDeadLetters(kafka, dlqTopicOf(topic))).at(-1)).toMatchObject({ redriven: false, redrivenFrom: `${dlqTopicOf(topic)}/0@0` });
    // One chosen letter can be sent again on purpose.
    expect((await redriveDeadLetters(kafka, dlqTopicOf(topic), { offsets: lettersAt('1') })).redriven).toHaveLength(1);
  }, 60_000);

  it('records a re-drive by offset: the list shows the letter re-driven, one without offsets never sends it again, naming it again does (found by a review)', async () => {
    const kafka = testKafka();
    const topic = `test.dlq.named.${uniqueSuffix()}`;
    const dlq = dlqTopicOf(topic);
    await createTestTopics(kafka, [topic, dlq]);
    const message = (offset: number): { key: Buffer; value: Buffer; headers: Record<string, string>; offset: string; timestamp: string; attributes: number } =>
      ({ key: Buffer.from(`uid-${offset}`), value: Buffer.from([offset]), headers: {}, offset: String(offset), timestamp: '0', attributes: 0 });
    await sendGenuineLetters(kafka, dlq, [
      // 0: undecodable (a re-drive without offsets sets it aside); 1, 2: poison.
      deadLetterRecord({ topic, partition: 0, attempts: 1, groupId: 'group-a', error: new DecodeError(topic, new Error('bad magic')), message: message(0) }),
      ...[1, 2].map((offset) => deadLetterRecord({ topic, partition: 0, attempts: 1, groupId: 'group-a', error: new OrbitError('ORBIT_ERR_POISON', 'poison'), message: message(offset) })),
    ]);
    const states = async (): Promise<string[]> => (await listDeadLetters(kafka, dlq)).map(letterState);

    // A pending letter named: re-driven, and left alone by the next re-drive without offsets.
    expect((await redriveDeadLetters(kafka, dlq, { offsets: lettersAt('2') })).redriven.map((letter) => letter.dlqOffset)).toEqual(['2']);
    expect(await states()).toEqual(['pending', 'pending', 're-driven']);
    const plain = await redriveDeadLetters(kafka, dlq);
    expect(plain.redriven.map((letter) => letter.dlqOffset)).toEqual(['1']);
    expect(plain.setAside.map(({ letter }) => letter.dlqOffset)).toEqual(['0']);
    expect(await states()).toEqual(['set aside', 're-driven', 're-driven']);
    // A letter set aside, then named: listed as re-driven, not set aside.
    expect((await redriveDeadLetters(kafka, dlq, { offsets: lettersAt('0') })).redriven.map((letter) => letter.dlqOffset)).toEqual(['0']);
    expect(await states()).toEqual(['re-driven', 're-driven', 're-driven']);
    expect(await redriveDeadLetters(kafka, dlq)).toEqual({ redriven: [], setAside: [], stopped: false });
    // The record is in the DLQ itself, beside the letters: a broker that deleted the re-drive group's offsets (it does
    // after offsets.retention.minutes, 7 days, without a member) takes nothing of it (found by a review: every letter went again).
    await forgetGroup(kafka, redriveGroupOf(dlq), dlq);
    expect(await states()).toEqual(['re-driven', 're-driven', 're-driven']);
    expect(await redriveDeadLetters(kafka, dlq)).toEqual({ redriven: [], setAside: [], stopped: false });
    const records: KafkaMessage[] = [];
    await readTopicToEnd(kafka, dlq, (entry) => void (entry.headers?.[REDRIVE_RECORD_HEADER] !== undefined && records.push(entry)), { groupPrefix: 'test-dlq-records', timeoutMs: 30_000 });
    expect(JSON.parse(records.at(-1)?.value?.toString() ?? '')).toEqual({ v: 1, upTo: '2', byOffset: [['0', '0'], ['2', '2']] });
    // Named again on purpose, it goes again; an offset no letter has sends nothing at all, the others named with it included.
    expect((await redriveDeadLetters(kafka, dlq, { offsets: lettersAt('2') })).redriven.map((letter) => letter.dlqOffset)).toEqual(['2']);
    await expect(redriveDeadLetters(kafka, dlq, { offsets: lettersAt('1', '99') })).rejects.toThrow(DeadLetterNotFoundError);
    await expect(redriveDeadLetters(kafka, dlq, { offsets: lettersAt('99') })).rejects.toThrow(`no dead letter at offset 99 of ${dlq}`);
    const onTopic = await copiesOn(kafka, topic);
    expect(onTopic.map((back) => [back.key?.toString(), back.headers?.['orbit-redriven-from']?.toString()])).toEqual([
      ['uid-2', `${dlq}/0@2`], ['uid-1', `${dlq}/0@1`], ['uid-0', `${dlq}/0@0`], ['uid-2', `${dlq}/0@2`],
    ]);
  }, 90_000);

  it('names a letter of a DLQ of several partitions by <partition>@<offset>, and refuses an offset alone there, naming the letters at it (found by a review: --offset 0 sent offset 0 of every partition)', async () => {
    const kafka = testKafka();
    const topic = `test.dlq.positions.${uniqueSuffix()}`;
    const dlq = dlqTopicOf(topic);
    await createTestTopics(kafka, [topic, dlq], 3);
    // Offset 0 of partitions 0 and 1 (keys uid-p0, uid-p1), offset 1 of partition 1 only; partition 2 stays empty.
    await sendGenuineLetters(kafka, dlq, [[0, 0], [1, 0], [1, 1]].map(([partition = 0, offset = 0]) => ({
      ...deadLetterRecord({
        topic, partition, attempts: 1, groupId: 'group-a', error: new OrbitError('ORBIT_ERR_POISON', 'poison'),
        message: { key: Buffer.from(`uid-p${partition}-${offset}`), value: Buffer.from([offset]), headers: {}, offset: String(offset), timestamp: '0', attributes: 0 },
      }),
      partition,
    })));
    expect((await listDeadLetters(kafka, dlq)).map((letter) => `${letter.dlqPartition}@${letter.dlqOffset}`).sort()).toEqual(['0@0', '1@0', '1@1']);

    // An offset alone names no one letter here, even where one partition alone has it: nothing is sent.
    const alone = redriveDeadLetters(kafka, dlq, { offsets: lettersAt('0') });
    await expect(alone).rejects.toThrow(OffsetWithoutPartitionError);
    await expect(redriveDeadLetters(kafka, dlq, { offsets: lettersAt('0') })).rejects.toThrow(`${dlq} has 3 partitions, each counting its offsets from 0: name a letter by <partition>@<offset> (offset 0 is ${dlq}/0@0, ${dlq}/1@0); nothing was re-driven`);
    await expect(redriveDeadLetters(kafka, dlq, { offsets: lettersAt('1') })).rejects.toThrow(`(offset 1 is ${dlq}/1@1)`);
    expect((await listDeadLetters(kafka, dlq)).map(letterState)).toEqual(['pending', 'pending', 'pending']);

    // By position: that letter alone, recorded in its own partition; the letter at the same offset of another stays pending.
    expect((await redriveDeadLetters(kafka, dlq, { offsets: lettersAt('1@0') })).redriven.map((letter) => letter.key?.toString())).toEqual(['uid-p1-0']);
    const states = new Map((await listDeadLetters(kafka, dlq)).map((letter) => [`${letter.dlqPartition}@${letter.dlqOffset}`, letterState(letter)]));
    expect(Object.fromEntries(states)).toEqual({ '0@0': 'pending', '1@0': 're-driven', '1@1': 'pending' });
    await expect(redriveDeadLetters(kafka, dlq, { offsets: lettersAt('2@0') })).rejects.toThrow(`no dead letter at 2@0 of ${dlq}`);
    const onTopic = await copiesOn(kafka, topic);
    expect(onTopic.map((back) => back.headers?.['orbit-redriven-from']?.toString())).toEqual([`${dlq}/1@0`]);
  }, 90_000);

  it('records the progress older re-drives committed to the group the first time it runs, letters to send or not, so the broker deleting the group forgets nothing (found by a review)', async () => {
    const kafka = testKafka();
    const { topic, dlq } = await poisonLetters(kafka, 'legacy', 2, 'group-a');
    // A re-drive before records committed both letters as dealt with.
    await setGroupOffsets(kafka, redriveGroupOf(dlq), [{ topic: dlq, partition: 0, offset: '2' }]);
    expect(await redriveDeadLetters(kafka, dlq)).toEqual({ redriven: [], setAside: [], stopped: false });
    await forgetGroup(kafka, redriveGroupOf(dlq), dlq);
    expect((await listDeadLetters(kafka, dlq)).map(letterState)).toEqual(['re-driven', 're-driven']);
    expect(await redriveDeadLetters(kafka, dlq)).toEqual({ redriven: [], setAside: [], stopped: false });
    // Nothing went back to the topic: it holds the originals alone.
    expect(await copiesOn(kafka, topic)).toHaveLength(0);
  }, 90_000);

  it('decides nothing from part of a DLQ: a read that does not reach the end in time is refused, not taken for the whole', async () => {
    const kafka = testKafka();
    const topic = `test.dlq.slow.${uniqueSuffix()}`;
    await createTestTopics(kafka, [topic]);
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({ topic, messages: [{ value: 'a' }, { value: 'b' }] });
    await producer.disconnect();
    await expect(readTopicToEnd(kafka, topic, () => undefined, { groupPrefix: 'test-slow', timeoutMs: 1, wholeOrNothing: true })).rejects.toThrow(TopicReadIncompleteError);
    const seen: string[] = [];
    await readTopicToEnd(kafka, topic, (message) => void seen.push(String(message.value)), { groupPrefix: 'test-slow', timeoutMs: 30_000, wholeOrNothing: true });
    expect(seen).toEqual(['a', 'b']);
  }, 60_000);

  it('sends nothing twice when a re-drive is killed half way, nor when it is stopped: each lot goes with its record in one transaction (found by a review: 137 of 600 sent twice)', async () => {
    const kafka = testKafka();
    const { topic, dlq } = await poisonLetters(kafka, 'killed', 600, 'harbor-writer');
    // Stopped before its first lot: nothing sent, everything still pending.
    const stopped = new AbortController();
    stopped.abort();
    expect(await redriveDeadLetters(kafka, dlq, { signal: stopped.signal })).toEqual({ redriven: [], setAside: [], stopped: true });
    expect((await listDeadLetters(kafka, dlq)).filter((letter) => !letter.redriven)).toHaveLength(600);

    // A process of its own, to be killed outright: the re-drive the CLI runs, on the test topics (the CLI takes Orbit's alone).
    // The sources under test, as the other CLI tests run them, not whatever dist was last built.
    const source = (path: string): string => JSON.stringify(new URL(`../${path}`, import.meta.url).href);
    const script = `import { redriveDeadLetters } from ${source('kafka/dlq-ops.ts')};
      import { createKafka } from ${source('kafka/client.ts')};
      import { GroupRunningError } from ${source('kafka/group-offsets.ts')};
      import { createLogger } from ${source('logger.ts')};
      const kafka = createKafka({ clientId: 'test-dlq-killed', brokers: ${JSON.stringify(testConfig.KAFKA_BROKERS)}, logger: createLogger({ service: 'test', level: 'fatal' }) });
      try {
        const { redriven } = await redriveDeadLetters(kafka, ${JSON.stringify(dlq)});
        process.stdout.write(redriven.length + ' dead letter(s) re-driven');
      } catch (error) {
        if (!(error instanceof GroupRunningError)) throw error;
        process.stderr.write('another dlq:redrive is running');
        process.exit(1);
      }`;
    const run = () => spawn(process.execPath, ['--conditions=@orbit/source', '--import', 'tsx', '--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'pipe'], env: process.env });
    const killed = run();
    const exited = new Promise((resolve) => killed.on('exit', resolve));
    const admin = kafka.admin();
    await admin.connect();
    try {
      // SIGKILL as soon as its first letters are written (committed or not: the high watermark moves past the 600 originals either way).
      for (let tries = 0; tries < 600; tries += 1) {
        const [partition] = await admin.fetchTopicOffsets(topic);
        if (partition !== undefined && BigInt(partition.high) > 600n) break;
        await sleep(10);
      }
    } finally {
      await admin.disconnect();
    }
    killed.kill('SIGKILL');
    await exited;
    // The killed one is a member of the re-drive group until its session ends; then the next run takes over.
    let output = '';
    for (let tries = 0; tries < 10; tries += 1) {
      const again = run();
      let stderr = '';
      again.stdout.on('data', (chunk: Buffer) => { output += chunk.toString(); });
      again.stderr.on('data', (chunk: Buffer) => { stderr += chunk.toString(); });
      const code = await new Promise((resolve) => again.on('exit', resolve));
      if (code === 0) break;
      expect(stderr).toContain('another dlq:redrive is running');
      await sleep(3_000);
    }
    expect(output).toMatch(/dead letter\(s\) re-driven/);
    const onTopic = (await copiesOn(kafka, topic)).map((message) => message.key?.toString() ?? '');
    expect(onTopic).toHaveLength(600);
    expect(new Set(onTopic).size).toBe(600);
    expect((await listDeadLetters(kafka, dlq)).filter((letter) => !letter.redriven)).toHaveLength(0);
    expect((await redriveDeadLetters(kafka, dlq)).redriven).toHaveLength(0);
  }, 120_000);

  it('refuses a re-drive while another holds the topic, before sending anything, and two at once never send a letter twice', async () => {
    const kafka = testKafka();
    const { topic, dlq } = await poisonLetters(kafka, 'race', 3, 'harbor-writer');

    const running = await holdGroup(kafka, redriveGroupOf(dlq), [dlq]);
    try {
      await expect(redriveDeadLetters(kafka, dlq)).rejects.toBeInstanceOf(GroupRunningError);
    } finally {
      await running.release();
    }
    const raced = await Promise.allSettled([redriveDeadLetters(kafka, dlq), redriveDeadLetters(kafka, dlq)]);
    for (const outcome of raced) if (outcome.status === 'rejected') expect(outcome.reason).toBeInstanceOf(GroupRunningError);
    const sent = raced.flatMap((outcome) => (outcome.status === 'fulfilled' ? outcome.value.redriven : []));
    // Both may refuse when they join at the same instant; a later run finishes the work, and nothing goes out twice.
    const rest = (await redriveDeadLetters(kafka, dlq)).redriven;
    expect([...sent, ...rest].map((letter) => letter.dlqOffset).sort()).toEqual(['0', '1', '2']);
    const onTopic = (await copiesOn(kafka, topic)).map((message) => message.key?.toString() ?? '');
    expect(onTopic.sort()).toEqual(['uid-0', 'uid-1', 'uid-2']);
    // A re-drive of another topic is not held up by this one's group.
    const other = `test.dlq.other.${uniqueSuffix()}`;
    await createTestTopics(kafka, [other, dlqTopicOf(other)]);
    const held = await holdGroup(kafka, redriveGroupOf(dlq), [dlq]);
    try {
      expect(await redriveDeadLetters(kafka, dlqTopicOf(other))).toEqual({ redriven: [], setAside: [], stopped: false });
    } finally {
      await held.release();
    }
  }, 90_000);

  it('sends a message again once per failing group, and sets aside what cannot help: undecodable bytes (unless named) and letters that kept no message (found by a probe: 3 → 9 → 27 copies)', async () => {
    const kafka = testKafka();
    const topic = `test.dlq.groups.${uniqueSuffix()}`;
    const dlq = dlqTopicOf(topic);
    await createTestTopics(kafka, [topic, dlq]);
    const message = (offset: number, value: Buffer): { key: Buffer; value: Buffer; headers: Record<string, string>; offset: string; timestamp: string; attributes: number } =>
      ({ key: Buffer.from(`uid-${offset}`), value, headers: {}, offset: String(offset), timestamp: '0', attributes: 0 });
    const poison = new OrbitError('ORBIT_ERR_POISON', 'poison');
    await sendGenuineLetters(kafka, dlq, [
      // dlq offsets 0-2: one message three groups failed on; 3: group-a's letter for it again (a crash before its commit).
      ...['group-a', 'group-b', 'group-c', 'group-a'].map((groupId) => deadLetterRecord({ topic, partition: 0, attempts: 1, groupId, error: poison, message: message(0, Buffer.from('zero')) })),
      // 4: undecodable; 5: a letter that could not keep its message.
      deadLetterRecord({ topic, partition: 0, attempts: 1, groupId: 'group-a', error: new DecodeError(topic, new Error('bad magic')), message: message(1, Buffer.from('junk')) }),
      oversizedDeadLetterRecord({ topic, partition: 0, attempts: 1, groupId: 'group-a', error: new DecodeError(topic, new Error('bad magic')), message: message(2, Buffer.alloc(2048)) }),
    ]);

    const first = await redriveDeadLetters(kafka, dlq);
    expect(first.redriven.map((letter) => [letter.dlqOffset, letter.consumerGroup])).toEqual([['0', 'group-a'], ['1', 'group-b'], ['2', 'group-c']]);
    expect(first.setAside.map(({ letter, reason }) => [letter.dlqOffset, reason])).toEqual([
      ['3', expect.stringContaining(`${dlq}/0@0`)],
      ['4', expect.stringContaining('could not be decoded')],
      ['5', expect.stringContaining(`2048 bytes) was too large to keep in the letter; it is on ${topic}/0@2`)],
    ]);
    const back = await copiesOn(kafka, topic);
    expect(back.map((entry) => [entry.value?.toString(), entry.headers?.[HEADER.redriveGroup]?.toString()])).toEqual([['zero', 'group-a'], ['zero', 'group-b'], ['zero', 'group-c']]);
    const listed = await listDeadLetters(kafka, dlq);
    expect(listed[5]).toMatchObject({ omittedValueBytes: 2048, value: null, originalHeaders: {} });
    // Named, the undecodable letter goes (its schema may have been registered since); the empty one never can.
    const named = await redriveDeadLetters(kafka, dlq, { offsets: lettersAt('4', '5') });
    expect(named.redriven.map((letter) => letter.dlqOffset)).toEqual(['4']);
    expect(named.setAside.map(({ letter }) => letter.dlqOffset)).toEqual(['5']);
  }, 60_000);

  it('lists and re-drives a letter larger than one fetch brings by default (1 MiB), as the DLQs take up to 2 MiB', async () => {
    const kafka = testKafka();
    const topic = `test.dlq.large.${uniqueSuffix()}`;
    const admin = kafka.admin();
    await admin.connect();
    try {
      // As deploy/kafka/topics.yaml provisions them: the DLQ takes more than its topic.
      await admin.createTopics({ waitForLeaders: true, topics: [
        { topic, numPartitions: 1, replicationFactor: 1, configEntries: [{ name: 'max.message.bytes', value: '2097152' }] },
        { topic: dlqTopicOf(topic), numPartitions: 1, replicationFactor: 1, configEntries: [{ name: 'max.message.bytes', value: '2097152' }] },
      ] });
    } finally {
      await admin.disconnect();
    }
    const value = Buffer.alloc(1_500_000, 0x62);
    await sendGenuineLetters(kafka, dlqTopicOf(topic), [deadLetterRecord({
      topic, partition: 0, attempts: 1, groupId: 'harbor-writer', error: new OrbitError('ORBIT_ERR_POISON', 'poison'),
      message: { key: Buffer.from('uid-large'), value, headers: {}, offset: '0', timestamp: '0', attributes: 0 },
    })]);
    const [letter] = await listDeadLetters(kafka, dlqTopicOf(topic));
    expect(letter?.value?.length).toBe(value.length);
    expect((await redriveDeadLetters(kafka, dlqTopicOf(topic))).redriven).toHaveLength(1);
    const [back] = await copiesOn(kafka, topic);
    expect(back?.value?.equals(value)).toBe(true);
  }, 60_000);

  it('re-drives letters that fit their topic one by one but not together: a lot is cut by bytes too (found by a review: 3 × 400 KB for one partition failed every run)', async () => {
    const kafka = testKafka();
    const topic = `test.dlq.lots.${uniqueSuffix()}`;
    await createTestTopics(kafka, [topic, dlqTopicOf(topic)]);
    const value = (n: number): Buffer => Buffer.alloc(400_000, 0x61 + n);
    await sendGenuineLetters(kafka, dlqTopicOf(topic), [0, 1, 2].map((n) => deadLetterRecord({
      topic, partition: 0, attempts: 1, groupId: 'harbor-writer', error: new OrbitError('ORBIT_ERR_POISON', 'poison'),
      message: { key: Buffer.from(`uid-${n}`), value: value(n), headers: {}, offset: String(n), timestamp: '0', attributes: 0 },
    })));
    expect((await redriveDeadLetters(kafka, dlqTopicOf(topic))).redriven).toHaveLength(3);
    const back = await copiesOn(kafka, topic);
    expect(back.map((message) => message.key?.toString())).toEqual(['uid-0', 'uid-1', 'uid-2']);
    expect(back.every((message, n) => message.value?.equals(value(n)))).toBe(true);
  }, 60_000);

  it('re-drives a letter\'s headers as the bytes they were written with, every value of a repeated one', async () => {
    const kafka = testKafka();
    const topic = `test.dlq.headers.${uniqueSuffix()}`;
    await createTestTopics(kafka, [topic, dlqTopicOf(topic)]);
    const binary = Buffer.from([0xff, 0xfe, 0x00, 0x80]);
    await sendGenuineLetters(kafka, dlqTopicOf(topic), [deadLetterRecord({
      topic, partition: 0, attempts: 1, groupId: 'harbor-writer', error: new DecodeError(topic, new Error('bad magic')),
      message: { key: Buffer.from('uid-h'), value: Buffer.from('junk'), headers: { 'x-bin': binary, dup: [Buffer.from('first'), Buffer.from('second')] }, offset: '0', timestamp: '0', attributes: 0 },
    })]);
    const [letter] = await listDeadLetters(kafka, dlqTopicOf(topic));
    expect(letter?.originalHeaders).toEqual({ 'x-bin': [binary], dup: [Buffer.from('first'), Buffer.from('second')] });
    expect((await redriveDeadLetters(kafka, dlqTopicOf(topic), { offsets: lettersAt('0') })).redriven).toHaveLength(1);
    const back = await copiesOn(kafka, topic);
    expect(back).toHaveLength(1);
    expect(back[0]?.headers?.['x-bin']).toEqual(binary);
    expect(back[0]?.headers?.['dup']).toEqual([Buffer.from('first'), Buffer.from('second')]);
  }, 60_000);
});
