import { describe, expect, it } from 'vitest';
import { privateLifecycleTopics } from '../../../test/helpers/lifecycle-topics.js';
import { forgetGroup, lettersAt, messagesOn, sendMessages, undecodableLetter } from '../../../test/helpers/dlq-letters.js';
import type { KafkaMessage } from './client.js';
import { ListTally } from '../dlq-lines.js';
import { letterState, listDeadLetters, MAYBE_REDRIVEN, redriveDeadLetters, redriveGroupOf, whyMaybeRedriven } from './dlq-ops.js';
import { setGroupOffsets } from './group-offsets.js';
import { recordValueOf, REDRIVE_RECORD_HEADER } from './dlq-record.js';
import { REDRIVEN_FROM_HEADER } from './redrive-copy.js';

/** How many messages with `key` the topic holds: the original and the copies re-drives sent. */
const countOf = (messages: readonly KafkaMessage[], key: string): number => messages.filter((message) => message.key?.toString() === key).length;

const event = (key: string): { key: string; value: string; headers: Record<string, string> } => ({ key, value: `ImageValidated ${key}`, headers: { 'orbit-event-type': 'ImageValidated' } });

describe('dlq:redrive --undecodable after re-drives that kept only a committed offset (found by a bug reread: it sent again what a release before 2026-12-04 had sent)', () => {
  it('leaves the undecodable letters below a commit-only upTo, says how many, lists them maybe re-driven, and still takes those a recording run set aside', async () => {
    const { kafka, topics } = await privateLifecycleTopics('dlq-undecodable-old', ['orbit.image.validated']);
    const topic = topics[0]!;
    const dlq = `${topic}.dlq`;
    await sendMessages(kafka, topic, ['uid-a', 'uid-b'].map(event));
    const [a, b] = await messagesOn(kafka, topic);
    if (!a || !b) throw new Error('the originals are not on their topic');
    await sendMessages(kafka, dlq, [undecodableLetter(topic, a), undecodableLetter(topic, b)]);
    // 1. What a plain dlq:redrive of a release before 557655d did: send every letter back, undecodable too, then commit
    //    the re-drive group's offset past them (no record in the DLQ).
    await sendMessages(kafka, topic, [a, b].map((message, offset) => ({ key: message.key, value: message.value, headers: { 'orbit-event-type': 'ImageValidated', [REDRIVEN_FROM_HEADER]: `${dlq}/0/${offset}` } })));
    await setGroupOffsets(kafka, redriveGroupOf(dlq), [{ topic: dlq, partition: 0, offset: '2' }]);

    // 2. Rolled forward: a new event an old consumer could not decode, which a plain (recording) re-drive sets aside.
    await sendMessages(kafka, topic, [event('uid-c')]);
    const c = (await messagesOn(kafka, topic)).find((message) => message.key?.toString() === 'uid-c');
    if (!c) throw new Error('uid-c is not on its topic');
    await sendMessages(kafka, dlq, [undecodableLetter(topic, c)]);
    expect((await redriveDeadLetters(kafka, dlq)).setAside.map(({ letter }) => letter.key?.toString())).toEqual(['uid-c']);

    // 3. The list does not call the first two set aside, nor count them among what --undecodable takes.
    const listed = await listDeadLetters(kafka, dlq);
    expect(listed.map(letterState)).toEqual([MAYBE_REDRIVEN, MAYBE_REDRIVEN, 'set aside']);
    expect(whyMaybeRedriven(listed[0]!)).toContain('--offset <partition>@<offset>');
    const tally = new ListTally();
    for (const letter of listed) tally.count(letter);
    expect(tally.summary(1)).toMatch(/, 1 could not be decoded \(ORBIT_ERR_DECODE.*, 2 could not be decoded and may have been re-driven by a release before 2026-12-04/);

    // 4. --undecodable sends uid-c only, and says how many it left.
    const flagged = await redriveDeadLetters(kafka, dlq, { undecodable: true });
    expect(flagged.redriven.map((letter) => letter.key?.toString())).toEqual(['uid-c']);
    expect(flagged.setAside).toEqual([]);
    expect(flagged.maybeRedrivenLeft).toBe(2);
    const onTopic = await messagesOn(kafka, topic);
    expect(['uid-a', 'uid-b', 'uid-c'].map((key) => countOf(onTopic, key))).toEqual([2, 2, 2]);

    // 5. The broker deletes the group's offsets a week after its last run: the records kept what it had committed.
    await forgetGroup(kafka, redriveGroupOf(dlq), dlq);
    expect((await listDeadLetters(kafka, dlq)).map(letterState)).toEqual([MAYBE_REDRIVEN, MAYBE_REDRIVEN, 're-driven']);
    const again = await redriveDeadLetters(kafka, dlq, { undecodable: true });
    expect(again).toEqual({ redriven: [], setAside: [], stopped: false, maybeRedrivenLeft: 2 });

    // 6. Named on purpose (its consumer found not to have had it), one goes, and is re-driven from then on.
    expect((await redriveDeadLetters(kafka, dlq, { offsets: lettersAt('0@1') })).redriven.map((letter) => letter.key?.toString())).toEqual(['uid-b']);
    expect((await listDeadLetters(kafka, dlq)).map(letterState)).toEqual([MAYBE_REDRIVEN, 're-driven', 're-driven']);
    expect(countOf(await messagesOn(kafka, topic), 'uid-b')).toBe(3);
  }, 120_000);
  it('records the commit-only boundary under a record that lacks it, with nothing to send, before the broker deletes the group\'s offsets (found by a reread)', async () => {
    const { kafka, topics } = await privateLifecycleTopics('dlq-undecodable-bound', ['orbit.image.validated']);
    const topic = topics[0]!;
    const dlq = `${topic}.dlq`;
    await sendMessages(kafka, topic, [event('uid-a')]);
    const [a] = await messagesOn(kafka, topic);
    if (!a) throw new Error('the original is not on its topic');
    await sendMessages(kafka, dlq, [undecodableLetter(topic, a)]);
    // A re-drive before 557655d sent it and committed past it; one of 2026-12-06 then wrote a record without the boundary.
    await sendMessages(kafka, topic, [{ key: a.key, value: a.value, headers: { 'orbit-event-type': 'ImageValidated', [REDRIVEN_FROM_HEADER]: `${dlq}/0/0` } }]);
    await setGroupOffsets(kafka, redriveGroupOf(dlq), [{ topic: dlq, partition: 0, offset: '1' }]);
    await sendMessages(kafka, dlq, [{ key: null, value: recordValueOf({ upTo: 1n, byOffset: [] }), headers: { [REDRIVE_RECORD_HEADER]: '1' } }]);
    // A plain run with nothing to send records the boundary while the group's offsets still say it.
    expect(await redriveDeadLetters(kafka, dlq)).toMatchObject({ redriven: [], setAside: [] });
    await forgetGroup(kafka, redriveGroupOf(dlq), dlq);
    expect((await listDeadLetters(kafka, dlq)).map(letterState)).toEqual([MAYBE_REDRIVEN]);
    expect((await redriveDeadLetters(kafka, dlq, { undecodable: true })).redriven).toEqual([]);
    expect(countOf(await messagesOn(kafka, topic), 'uid-a')).toBe(2);
  }, 120_000);
});
