import { describe, expect, it } from 'vitest';
import { lettersAt } from '../../../test/helpers/dlq-letters.js';
import { createTestTopics, testKafka, uniqueSuffix } from '../../../test/helpers/index.js';
import { dlqTopicOf } from '../topics.js';
import type { Kafka } from './client.js';
import { HEADER } from './headers.js';
import { letterState, listDeadLetters, positionOf, redriveDeadLetters } from './dlq-ops.js';
import { readHistory } from './dlq-read.js';
import { readTopicToEnd } from './read-to-end.js';
import { putOriginals, sendGenuineLetters } from '../../../test/helpers/genuine-letters.js';
import { REDRIVEN_FROM_HEADER } from './redrive-copy.js';

/** A letter as a foreign or hand-made one could be: any original topic, any group, any time. */
function letter(originalTopic: string, originalOffset: number, options: { group?: string; errorCode?: string; key?: string; failedAt?: string } = {}): { key: string; value: Buffer; headers: Record<string, string> } {
  return {
    key: options.key ?? `uid-${originalOffset}`, value: Buffer.from(`value-${originalOffset}`),
    headers: {
      [HEADER.dlqError]: options.errorCode ?? 'ORBIT_ERR_POISON', [HEADER.dlqMessage]: 'poison', [HEADER.dlqAttempts]: '1',
      [HEADER.dlqTopic]: originalTopic, [HEADER.dlqPartition]: '0', [HEADER.dlqOffset]: String(originalOffset),
      [HEADER.dlqGroup]: options.group ?? 'group-a', [HEADER.dlqFailedAt]: options.failedAt ?? new Date().toISOString(),
    },
  };
}

/** Writes letters to `dlq`, the messages they name first on its source topic: a re-drive sends only letters it finds genuine. */
async function write(kafka: Kafka, dlq: string, messages: readonly { key: string; value: Buffer; headers: Record<string, string> }[]): Promise<void> {
  await sendGenuineLetters(kafka, dlq, messages);
}

/** The keys of the copies re-drives sent to `topic`: not of the originals the letters were checked against. */
async function keysOn(kafka: Kafka, topic: string): Promise<string[]> {
  const keys: string[] = [];
  await readTopicToEnd(kafka, topic, (message) => void (message.headers?.[REDRIVEN_FROM_HEADER] !== undefined && keys.push(message.key?.toString() ?? '')), { groupPrefix: 'test-dlq-choice', wholeOrNothing: true });
  return keys;
}

describe('which letters a re-drive takes, against a real broker (found by a review)', () => {
  it('sets aside a letter naming a topic that does not exist, none, or another than the DLQ\'s source, and still delivers the good ones behind it', async () => {
    const kafka = testKafka();
    const topic = `test.dlq.target.${uniqueSuffix()}`;
    const other = `test.dlq.target-other.${uniqueSuffix()}`;
    const dlq = dlqTopicOf(topic);
    await createTestTopics(kafka, [topic, dlq, other]);
    // A deleted or renamed topic, the source, no topic at all, another topic that exists: only the source may be written.
    await write(kafka, dlq, [letter(`${topic}-gone`, 1), letter(topic, 2), letter('', 3), letter(other, 4)]);

    for (const run of [1, 2]) {
      const outcome = await redriveDeadLetters(kafka, dlq);
      if (run === 1) {
        expect(outcome.redriven.map((entry) => entry.dlqOffset)).toEqual(['1']);
        expect(outcome.setAside.map(({ letter: entry, reason }) => [entry.dlqOffset, reason])).toEqual([
          ['0', `it names topic "${topic}-gone" as its own; ${dlq} re-drives into ${topic} only`],
          ['2', `it names no topic as its own; ${dlq} re-drives into ${topic} only`],
          ['3', `it names topic "${other}" as its own; ${dlq} re-drives into ${topic} only`],
        ]);
      } else {
        expect(outcome).toEqual({ redriven: [], setAside: [], stopped: false });
      }
    }
    expect(await keysOn(kafka, topic)).toEqual(['uid-2']);
    expect(await keysOn(kafka, other)).toEqual([]);
    expect((await listDeadLetters(kafka, dlq)).map(letterState)).toEqual(['set aside', 're-driven', 'set aside', 'set aside']);
    // Named on purpose, a letter for another topic is still not sent there.
    const named = await redriveDeadLetters(kafka, dlq, { offsets: lettersAt('3') });
    expect([named.redriven.length, named.setAside.length]).toEqual([0, 1]);
    expect(await keysOn(kafka, other)).toEqual([]);
  }, 60_000);

  it('counts as sent before, for a later run\'s duplicates, the letters the list shows re-driven and no other: not one naming another topic (found by a review: counted sent, shown set aside)', async () => {
    const kafka = testKafka();
    const topic = `test.dlq.sent.${uniqueSuffix()}`;
    const other = `test.dlq.sent-other.${uniqueSuffix()}`;
    const dlq = dlqTopicOf(topic);
    await createTestTopics(kafka, [topic, dlq, other]);
    await write(kafka, dlq, [letter(other, 1), letter(topic, 2), letter(topic, 3, { errorCode: 'ORBIT_ERR_DECODE' }), letter(other, 4)]);
    // A plain run sends 1 and passes over the rest; named, the undecodable 2 goes, and 3, for another topic, is set aside again.
    expect((await redriveDeadLetters(kafka, dlq)).redriven.map((entry) => entry.dlqOffset)).toEqual(['1']);
    const named = await redriveDeadLetters(kafka, dlq, { offsets: lettersAt('2', '3') });
    expect([named.redriven.map((entry) => entry.dlqOffset), named.setAside.map(({ letter: entry }) => entry.dlqOffset)]).toEqual([['2'], ['3']]);

    const listed = await listDeadLetters(kafka, dlq);
    expect(listed.map(letterState)).toEqual(['set aside', 're-driven', 're-driven', 'set aside']);
    const { sentBefore } = await readHistory(kafka, dlq, { sentBefore: true });
    expect([...sentBefore.values()].map((at) => `${dlq}/${at}`)).toEqual(listed.filter((entry) => letterState(entry) === 're-driven').map(positionOf));
  }, 60_000);

  it('sets every letter aside, pending, when the DLQ\'s source topic is gone, instead of failing the whole re-drive', async () => {
    const kafka = testKafka();
    const topic = `test.dlq.gone.${uniqueSuffix()}`;
    const dlq = dlqTopicOf(topic);
    await createTestTopics(kafka, [dlq]);
    const letters = [letter(topic, 1), letter(topic, 2)];
    await write(kafka, dlq, letters);
    const outcome = await redriveDeadLetters(kafka, dlq);
    expect(outcome.redriven).toEqual([]);
    expect(outcome.setAside.map(({ reason }) => reason)).toEqual([expect.stringContaining(`its topic ${topic} does not exist`), expect.stringContaining('does not exist')]);
    // None can be sent, so --limit bounds what is read: it went on through the whole DLQ.
    expect((await redriveDeadLetters(kafka, dlq, { filter: { limit: 1 } })).setAside.map(({ letter: { dlqOffset } }) => dlqOffset)).toEqual(['0']);
    // Nothing was recorded: once the topic is back, the letters go.
    expect((await listDeadLetters(kafka, dlq)).map(letterState)).toEqual(['pending', 'pending']);
    await createTestTopics(kafka, [topic]);
    await putOriginals(kafka, dlq, letters);
    expect((await redriveDeadLetters(kafka, dlq)).redriven.map((entry) => entry.dlqOffset)).toEqual(['0', '1']);
  }, 60_000);

  it('does not send a message to a group again in a later run: two letters for it (a crash before the commit), one re-driven by offset, then a plain run', async () => {
    const kafka = testKafka();
    const topic = `test.dlq.twice.${uniqueSuffix()}`;
    const dlq = dlqTopicOf(topic);
    await createTestTopics(kafka, [topic, dlq]);
    await write(kafka, dlq, [letter(topic, 42, { key: 'same-image' }), letter(topic, 42, { key: 'same-image' }), letter(topic, 42, { key: 'same-image', group: 'group-b' })]);
    expect((await redriveDeadLetters(kafka, dlq, { offsets: lettersAt('0') })).redriven.map((entry) => entry.dlqOffset)).toEqual(['0']);
    const plain = await redriveDeadLetters(kafka, dlq);
    // group-b's letter is its own: it goes.
    expect(plain.redriven.map((entry) => [entry.dlqOffset, entry.consumerGroup])).toEqual([['2', 'group-b']]);
    expect(plain.setAside.map(({ letter: entry, reason }) => [entry.dlqOffset, reason])).toEqual([['1', `a duplicate: the same message for group-a went with ${dlq}/0@0`]]);
    const groups: string[] = [];
    await readTopicToEnd(kafka, topic, (message) => void (message.headers?.[REDRIVEN_FROM_HEADER] !== undefined && groups.push(message.headers[HEADER.redriveGroup]?.toString() ?? '')), { groupPrefix: 'test-dlq-choice', wholeOrNothing: true });
    expect(groups).toEqual(['group-a', 'group-b']);
    // A later plain run, after the records of both, still sends nothing.
    expect(await redriveDeadLetters(kafka, dlq)).toEqual({ redriven: [], setAside: [], stopped: false });
    expect(await keysOn(kafka, topic)).toHaveLength(2);
  }, 60_000);

  it('lists and re-drives by group, reason code, key, time, state and count, and a narrowed re-drive leaves the rest pending', async () => {
    const kafka = testKafka();
    const topic = `test.dlq.narrow.${uniqueSuffix()}`;
    const dlq = dlqTopicOf(topic);
    await createTestTopics(kafka, [topic, dlq]);
    await write(kafka, dlq, [
      letter(topic, 0, { group: 'group-a', failedAt: '2026-12-01T00:00:00.000Z' }),
      letter(topic, 1, { group: 'group-b', failedAt: '2026-12-02T00:00:00.000Z' }),
      letter(topic, 2, { group: 'group-a', errorCode: 'ORBIT_ERR_OTHER', failedAt: '2026-12-03T00:00:00.000Z' }),
      letter(topic, 3, { group: 'group-b', key: 'wanted', failedAt: '2026-12-04T00:00:00.000Z' }),
      letter(topic, 4, { group: 'group-a', failedAt: '2026-12-05T00:00:00.000Z' }),
    ]);
    const offsetsOf = async (filter: Parameters<typeof listDeadLetters>[2]): Promise<string[]> => (await listDeadLetters(kafka, dlq, filter)).map((entry) => entry.dlqOffset);
    expect(await offsetsOf({ filter: { group: 'group-a' } })).toEqual(['0', '2', '4']);
    expect(await offsetsOf({ filter: { errorCode: 'ORBIT_ERR_OTHER' } })).toEqual(['2']);
    expect(await offsetsOf({ filter: { key: 'wanted' } })).toEqual(['3']);
    expect(await offsetsOf({ filter: { since: new Date('2026-12-02'), until: new Date('2026-12-04') } })).toEqual(['1', '2']);
    expect(await offsetsOf({ filter: { limit: 2 } })).toEqual(['0', '1']);

    const groupB = await redriveDeadLetters(kafka, dlq, { filter: { group: 'group-b' } });
    expect(groupB.redriven.map((entry) => entry.dlqOffset)).toEqual(['1', '3']);
    expect(await offsetsOf({ filter: { pending: true } })).toEqual(['0', '2', '4']);
    // Named offsets narrowed too: of 0 and 2, only group-a's reason code ORBIT_ERR_OTHER.
    expect((await redriveDeadLetters(kafka, dlq, { offsets: lettersAt('0', '2'), filter: { errorCode: 'ORBIT_ERR_OTHER' } })).redriven.map((entry) => entry.dlqOffset)).toEqual(['2']);
    expect((await redriveDeadLetters(kafka, dlq, { filter: { limit: 1 } })).redriven.map((entry) => entry.dlqOffset)).toEqual(['0']);
    expect(await offsetsOf({ filter: { pending: true } })).toEqual(['4']);
    expect((await redriveDeadLetters(kafka, dlq)).redriven.map((entry) => entry.dlqOffset)).toEqual(['4']);
    expect((await keysOn(kafka, topic)).sort()).toEqual(['uid-0', 'uid-1', 'uid-2', 'uid-4', 'wanted']);
  }, 90_000);

  it('re-drives up to --limit letters, those it sets aside not counted toward it (found by a review: --limit 2 sent none while letters were pending)', async () => {
    const kafka = testKafka();
    const topic = `test.dlq.limit.${uniqueSuffix()}`;
    const other = `test.dlq.limit-other.${uniqueSuffix()}`;
    const dlq = dlqTopicOf(topic);
    await createTestTopics(kafka, [topic, dlq, other]);
    // Three letters no re-drive sends come first, then a message a group failed on twice (the second letter a duplicate), then two more.
    await write(kafka, dlq, [
      letter(other, 1), letter(topic, 2, { errorCode: 'ORBIT_ERR_DECODE' }), letter('', 3),
      letter(topic, 4, { key: 'twice' }), letter(topic, 4, { key: 'twice' }), letter(topic, 5), letter(topic, 6),
    ]);
    const first = await redriveDeadLetters(kafka, dlq, { filter: { limit: 2 } });
    expect(first.redriven.map((entry) => entry.dlqOffset)).toEqual(['3', '5']);
    expect(first.setAside.map(({ letter: entry }) => entry.dlqOffset)).toEqual(['0', '1', '2', '4']);
    // The letter after the second one sent stays pending, for the next run (the duplicate's message went: it shows re-driven).
    expect((await listDeadLetters(kafka, dlq)).map(letterState)).toEqual(['set aside', 'set aside', 'set aside', 're-driven', 're-driven', 're-driven', 'pending']);
    const second = await redriveDeadLetters(kafka, dlq, { filter: { limit: 2 } });
    expect([second.redriven.map((entry) => entry.dlqOffset), second.setAside]).toEqual([['6'], []]);
    expect(await keysOn(kafka, topic)).toEqual(['twice', 'uid-5', 'uid-6']);
  }, 60_000);

  it('re-drives 10 000 letters named by offset among 20 000 in seconds (found by a review: 30 s, two nested scans)', async () => {
    const kafka = testKafka();
    const topic = `test.dlq.many.${uniqueSuffix()}`;
    const dlq = dlqTopicOf(topic);
    await createTestTopics(kafka, [topic, dlq]);
    await write(kafka, dlq, Array.from({ length: 20_000 }, (_, n) => letter(topic, n, { group: n % 2 ? 'group-a' : 'group-b' })));
    const offsets = Array.from({ length: 10_000 }, (_, n) => String(2 * n + 1));
    const started = Date.now();
    const outcome = await redriveDeadLetters(kafka, dlq, { offsets: lettersAt(...offsets) });
    expect(outcome.redriven).toHaveLength(10_000);
    expect(Date.now() - started).toBeLessThan(20_000);
  }, 120_000);
});
