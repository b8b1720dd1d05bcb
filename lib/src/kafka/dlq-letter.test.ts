import { describe, expect, it } from 'vitest';
import { letterFactsOf, letterState, UNDECODABLE_REASON, waitsForUndecodable, whyNotRedriven, whySetAside } from './dlq-letter.js';
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
});
