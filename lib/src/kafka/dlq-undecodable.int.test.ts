import { describe, expect, it } from 'vitest';
import { messagesOn, sendMessages, undecodableLetter } from '../../../test/helpers/dlq-letters.js';
import { privateLifecycleTopics } from '../../../test/helpers/lifecycle-topics.js';
import { DecodeError, OrbitError } from '../errors.js';
import { deadLetterRecord } from './dead-letter.js';
import { letterState, listDeadLetters, redriveDeadLetters, whySetAside } from './dlq-ops.js';
import { HEADER } from './headers.js';
import { REDRIVEN_FROM_HEADER } from './redrive-copy.js';

describe('dlq:redrive --undecodable against the real broker (found by an upgrade review: after an upgrade in another order, only --offset per letter re-drove the ORBIT_ERR_DECODE letters)', () => {
  it('re-drives the undecodable letters a plain re-drive set aside, and those still pending, but not a forged one, nor any twice', async () => {
    const { kafka, topics } = await privateLifecycleTopics('dlq-undecodable', ['orbit.image.validated']);
    const topic = topics[0]!;
    const dlq = `${topic}.dlq`;
    // 1. Three new events on the topic; an old consumer dead-letters two as undecodable, and someone forges a third letter.
    await sendMessages(kafka, topic, ['uid-a', 'uid-b', 'uid-c'].map((key) => ({ key, value: `ImageValidated ${key}`, headers: { 'orbit-event-type': 'ImageValidated' } })));
    const [a, b, c] = await messagesOn(kafka, topic);
    if (!a || !b || !c) throw new Error('the originals are not on their topic');
    const poison = deadLetterRecord({ topic, partition: 0, message: c, error: new OrbitError('ORBIT_ERR_POISON', 'poison'), attempts: 1, groupId: 'chart-generator' });
    const forged = { ...undecodableLetter(topic, b), value: Buffer.from('ImageValidated uid-b, but to another bucket') };
    await sendMessages(kafka, dlq, [undecodableLetter(topic, a), forged, poison]);

    // 2. A plain re-drive (the default, while old consumers may still run) sets both undecodable letters aside, naming the flag.
    const plain = await redriveDeadLetters(kafka, dlq);
    expect(plain.redriven.map((letter) => letter.dlqOffset)).toEqual(['2']);
    expect(plain.setAside.map(({ letter, reason }) => [letter.dlqOffset, reason])).toEqual([['0', expect.stringContaining('--undecodable')], ['1', expect.stringContaining('--undecodable')]]);
    const listed = await listDeadLetters(kafka, dlq);
    expect(listed.map(letterState)).toEqual(['set aside', 'set aside', 're-driven']);
    expect(whySetAside(listed[0]!)).toContain('could not be decoded');
    expect(whySetAside(listed[0]!)).toContain('--undecodable');

    // 3. Another letter comes meanwhile, pending; once every consumer decodes the events, one run takes them all back.
    await sendMessages(kafka, topic, [{ key: 'uid-d', value: 'ImageValidated uid-d', headers: { 'orbit-event-type': 'ImageValidated' } }]);
    const d = (await messagesOn(kafka, topic)).find((message) => message.key?.toString() === 'uid-d');
    if (!d) throw new Error('uid-d is not on its topic');
    await sendMessages(kafka, dlq, [undecodableLetter(topic, d)]);
    const flagged = await redriveDeadLetters(kafka, dlq, { undecodable: true });
    // By key: the DLQ's offsets count the record and the transaction marker of the run before too.
    expect(flagged.redriven.map((letter) => [letter.dlqOffset, letter.key?.toString()])).toEqual([['0', 'uid-a'], [expect.any(String), 'uid-d']]);
    // The forged one still goes through every other check: it does not hold the message it names.
    expect(flagged.setAside.map(({ letter, reason }) => [letter.dlqOffset, reason])).toEqual([['1', `letter does not match the message at ${topic} 0@1 (different value): forged or altered, not re-driven`]]);
    const copies = (await messagesOn(kafka, topic)).filter((message) => message.headers?.[REDRIVEN_FROM_HEADER] !== undefined);
    expect(copies.map((message) => [message.key?.toString(), message.value?.toString(), message.headers?.[HEADER.redriveGroup]?.toString()])).toEqual([
      ['uid-c', 'ImageValidated uid-c', 'chart-generator'],
      ['uid-a', 'ImageValidated uid-a', 'harbor-writer'],
      ['uid-d', 'ImageValidated uid-d', 'harbor-writer'],
    ]);

    // 4. The record says what went: a list shows them re-driven, and no later run, flagged or not, sends one again.
    const after = await listDeadLetters(kafka, dlq);
    expect(after.map(letterState)).toEqual(['re-driven', 'set aside', 're-driven', 're-driven']);
    expect(whySetAside(after[1]!)).toContain('does not hold the message at');
    expect(await redriveDeadLetters(kafka, dlq, { undecodable: true })).toEqual({ redriven: [], setAside: [], stopped: false });
    expect(await redriveDeadLetters(kafka, dlq)).toEqual({ redriven: [], setAside: [], stopped: false });
  }, 120_000);

  it('takes them narrowed by the filters the command has: --group leaves another group\'s undecodable letters set aside', async () => {
    const { kafka, topics } = await privateLifecycleTopics('dlq-undecodable-group', ['orbit.image.stored']);
    const topic = topics[0]!;
    const dlq = `${topic}.dlq`;
    await sendMessages(kafka, topic, [{ key: 'uid-a', value: 'ImageStored uid-a' }]);
    const [a] = await messagesOn(kafka, topic);
    if (!a) throw new Error('the original is not on its topic');
    const ofGroup = (groupId: string): ReturnType<typeof deadLetterRecord> =>
      deadLetterRecord({ topic, partition: 0, message: a, error: new DecodeError(topic, new Error('no enum symbol ZSTD')), attempts: 1, groupId });
    await sendMessages(kafka, dlq, [ofGroup('harbor-writer'), ofGroup('chart-generator')]);
    expect((await redriveDeadLetters(kafka, dlq)).setAside).toHaveLength(2);

    const narrowed = await redriveDeadLetters(kafka, dlq, { undecodable: true, filter: { group: 'chart-generator' } });
    expect(narrowed.redriven.map((letter) => [letter.dlqOffset, letter.consumerGroup])).toEqual([['1', 'chart-generator']]);
    expect(narrowed.setAside).toEqual([]);
    expect((await listDeadLetters(kafka, dlq)).map(letterState)).toEqual(['set aside', 're-driven']);
    const rest = await redriveDeadLetters(kafka, dlq, { undecodable: true });
    expect(rest.redriven.map((letter) => [letter.dlqOffset, letter.consumerGroup])).toEqual([['0', 'harbor-writer']]);
    expect((await listDeadLetters(kafka, dlq)).map(letterState)).toEqual(['re-driven', 're-driven']);
  }, 120_000);
});
