import { describe, expect, it } from 'vitest';
import { letterFactsOf, letterOf, letterState, MAYBE_REDRIVEN, MAYBE_REDRIVEN_REASON, UNDECODABLE_REASON, waitsForUndecodable, whyMaybeRedriven, whyNotRedriven, whySetAside } from './dlq-letter.js';
import { HEADER } from './headers.js';
import { REDRIVEN_FROM_HEADER } from './redrive-copy.js';

const dlqTopic = 'orbit.image.stored.dlq';
const headers = {
  [HEADER.dlqTopic]: 'orbit.image.stored', [HEADER.dlqPartition]: '1', [HEADER.dlqOffset]: Buffer.from('17'),
  [HEADER.dlqError]: 'ORBIT_ERR_DECODE', [HEADER.dlqMessage]: 'message on orbit.image.stored could not be decoded', [HEADER.dlqAttempts]: '1',
  [HEADER.dlqGroup]: 'harbor-writer', [HEADER.dlqFailedAt]: '2026-12-06T10:00:00.000Z',
};

describe('letterFactsOf', () => {
  it('reads what a letter\'s headers say of it, a header missing as an empty field', () => {
    expect(letterFactsOf(headers)).toEqual({
      originalTopic: 'orbit.image.stored', originalPartition: '1', originalOffset: '17', errorCode: 'ORBIT_ERR_DECODE',
      errorMessage: 'message on orbit.image.stored could not be decoded', attempts: '1', consumerGroup: 'harbor-writer', failedAt: '2026-12-06T10:00:00.000Z',
      omittedValueBytes: null, redrivenFrom: null, droppedHeaders: [], originalTimestamp: '',
    });
    expect(letterFactsOf(undefined)).toMatchObject({ originalTopic: '', errorCode: '', consumerGroup: '', omittedValueBytes: null, redrivenFrom: null });
  });

  it('reads the size of a message the letter could not keep, and where an earlier re-drive took it from in either form', () => {
    expect(letterFactsOf({ ...headers, [HEADER.dlqOmitted]: '3000000' }).omittedValueBytes).toBe(3_000_000);
    expect(letterFactsOf({ ...headers, [REDRIVEN_FROM_HEADER]: `${dlqTopic}/0/5` }).redrivenFrom).toBe(`${dlqTopic}/0@5`);
  });

  it('gives whyNotRedriven and letterState what they decide by: an undecodable letter goes only when named', () => {
    const letter = { dlqTopic, ...letterFactsOf(headers) };
    expect(whyNotRedriven(letter, false)).toContain('could not be decoded');
    expect(whyNotRedriven(letter, true)).toBeUndefined();
    expect([false, true].map((redrivenByOffset) => letterState({ ...letter, redriven: true, redrivenByOffset }))).toEqual(['set aside', 're-driven']);
  });
  it('names --undecodable as the bulk way to re-drive an undecodable letter, and tells which letters it takes (found by an upgrade review: the reason named --offset only)', () => {
    const letter = { dlqTopic, ...letterFactsOf(headers) };
    expect(whyNotRedriven(letter, false)).toBe(UNDECODABLE_REASON);
    expect(UNDECODABLE_REASON).toContain('`--undecodable`');
    const pending = { ...letter, redriven: false, redrivenByOffset: false };
    const setAside = { ...letter, redriven: true, redrivenByOffset: false };
    expect([pending, setAside].map(waitsForUndecodable)).toEqual([true, true]);
    expect(whySetAside(setAside)).toBe(UNDECODABLE_REASON);
    // Sent already (named, or by --undecodable: both recorded by offset), found forged, or kept back by another rule: not taken.
    expect(waitsForUndecodable({ ...letter, redriven: true, redrivenByOffset: true })).toBe(false);
    expect(waitsForUndecodable({ ...setAside, unmatched: true })).toBe(false);
    expect(waitsForUndecodable({ ...pending, notTheOriginal: 'letter does not match the message' })).toBe(false);
    expect(waitsForUndecodable({ ...setAside, omittedValueBytes: 3_000_000 })).toBe(false);
    expect(waitsForUndecodable({ ...setAside, originalTopic: 'orbit.chart.promoted' })).toBe(false);
    expect(waitsForUndecodable({ ...setAside, errorCode: 'ORBIT_ERR_POISON' })).toBe(false);
  });

  it('does not call an undecodable letter a commit-only re-drive dealt with set aside, nor wait with it for --undecodable (found by a bug reread: a release before 2026-12-04 had sent it)', () => {
    const letter = { dlqTopic, ...letterFactsOf(headers) };
    const old = { ...letter, redriven: true, redrivenByOffset: false, dealtUnrecorded: true };
    expect(letterState(old)).toBe(MAYBE_REDRIVEN);
    expect(MAYBE_REDRIVEN).toBe('maybe re-driven (by a release before 2026-12-04)');
    expect(waitsForUndecodable(old)).toBe(false);
    expect(whySetAside(old)).toBeUndefined();
    expect(whyMaybeRedriven(old)).toBe(MAYBE_REDRIVEN_REASON);
    expect(MAYBE_REDRIVEN_REASON).toContain('`--offset <partition>@<offset>`');
    // Named since, it went; any other reason keeps it set aside as before; a decodable one went either way.
    expect(letterState({ ...old, redrivenByOffset: true })).toBe('re-driven');
    expect(letterState({ ...old, omittedValueBytes: 3_000_000 })).toBe('set aside');
    expect(letterState({ ...old, errorCode: 'ORBIT_ERR_POISON' })).toBe('re-driven');
    expect(whyMaybeRedriven({ ...old, dealtUnrecorded: false })).toBeUndefined();
  });

  it('tells from the partition state which letters a commit-only re-drive dealt with: below its committed offset, not recorded by offset', () => {
    const message = (offset: string): Parameters<typeof letterOf>[2] => ({ key: null, value: null, headers, offset, timestamp: '0', attributes: 0 }) as Parameters<typeof letterOf>[2];
    const state = { upTo: 5n, byOffset: [[1n, 1n]] as const, commitOnlyUpTo: 3n };
    expect(['0', '1', '2', '3', '4'].map((offset) => letterOf(dlqTopic, 0, message(offset), state)).map(letterState))
      .toEqual([MAYBE_REDRIVEN, 're-driven', MAYBE_REDRIVEN, 'set aside', 'set aside']);
    expect(letterState(letterOf(dlqTopic, 0, message('0'), { upTo: 5n, byOffset: [] }))).toBe('set aside');
  });
});
