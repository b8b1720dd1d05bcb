import { describe, expect, it } from 'vitest';
import { listedJson, listedLine, ListTally } from './dlq-lines.js';
import type { LetterSummary } from './kafka/dlq-ops.js';

const letter: LetterSummary = {
  dlqTopic: 'orbit.transfer.requested.dlq', dlqPartition: 0, dlqOffset: '4', originalTopic: 'orbit.transfer.requested', originalPartition: '2', originalOffset: '17',
  errorCode: 'ORBIT_ERR_POISON', errorMessage: 'poison', attempts: '1', consumerGroup: 'harbor-writer', failedAt: '2026-12-07T06:00:00.000Z', key: Buffer.from('uid-1'),
  redriven: false, redrivenByOffset: false, redrivenFrom: null, omittedValueBytes: null, droppedHeaders: [], originalTimestamp: '', unmatched: false,
};
const why = 'letter does not match the message at orbit.transfer.requested 2@17 (different value): forged or altered, not re-driven';
const forged: LetterSummary = { ...letter, dlqOffset: '5', notTheOriginal: why };

describe('dlq:list lines (found by a review: a forged letter was listed pending until a re-drive checked it)', () => {
  it('shows a letter found not to hold the message it names set aside, with why, as a line and as JSON', () => {
    expect(listedLine(forged)).toMatch(new RegExp(`^set aside \\(letter does not match the message at orbit\\.transfer\\.requested 2@17 \\(different value\\): forged or altered, not re-driven\\)  orbit\\.transfer\\.requested\\.dlq/0@5  `));
    expect(JSON.parse(listedJson(forged))).toMatchObject({ state: 'set aside', setAsideBecause: why });
    expect(listedLine(letter)).toMatch(/^pending {2}orbit\.transfer\.requested\.dlq\/0@4 {2}/);
  });

  it('counts it apart from the pending letters', () => {
    const tally = new ListTally();
    for (const one of [letter, forged, { ...letter, redriven: true }]) tally.count(one);
    expect(tally.summary(1)).toBe('3 dead letter(s) in 1 DLQ topic(s), 1 pending (not re-driven yet), 1 set aside as not holding the message they name (forged or altered: a re-drive will not send them)');
    const gone = new ListTally();
    gone.count({ ...letter, notTheOriginal: 'no message at orbit.transfer.requested 2@17: the letter cannot be checked against it' });
    // Found by a reread: a genuine letter whose original was deleted was counted "forged or altered".
    expect(gone.summary(1)).toBe('1 dead letter(s) in 1 DLQ topic(s), 0 pending (not re-driven yet), 1 set aside as naming a position that holds no message (deleted, compacted or never written: they cannot be checked, and a re-drive will not send them)');
    const plain = new ListTally();
    plain.count(letter);
    expect(plain.summary(2)).toBe('1 dead letter(s) in 2 DLQ topic(s), 1 pending (not re-driven yet)');
  });
  it('counts the undecodable letters a re-drive sets aside, and names the flag that re-drives them (found by an upgrade review)', () => {
    const undecodable = { ...letter, errorCode: 'ORBIT_ERR_DECODE', errorMessage: 'message on orbit.transfer.requested could not be decoded' };
    const setAside = { ...undecodable, dlqOffset: '6', redriven: true };
    expect(listedLine(setAside)).toMatch(/^set aside \(it could not be decoded.*`--undecodable`/);
    const tally = new ListTally();
    for (const one of [undecodable, setAside, { ...setAside, redrivenByOffset: true }]) tally.count(one);
    expect(tally.summary(1)).toBe('3 dead letter(s) in 1 DLQ topic(s), 1 pending (not re-driven yet), 2 could not be decoded (ORBIT_ERR_DECODE: a re-drive sets them aside; once every consumer runs a release that decodes them, `dlq:redrive -- <topic> --undecodable` re-drives them)');
  });
  it('shows an undecodable letter a commit-only re-drive dealt with as maybe re-driven, with why, and counts it apart (found by a bug reread: listed set aside, --undecodable sent it again)', () => {
    const old = { ...letter, errorCode: 'ORBIT_ERR_DECODE', errorMessage: 'message on orbit.transfer.requested could not be decoded', redriven: true, dealtUnrecorded: true };
    expect(listedLine(old)).toMatch(/^maybe re-driven \(by a release before 2026-12-04\) \(a re-drive of a release before 2026-12-06 dealt with it .*`--offset <partition>@<offset>` sends it/);
    expect(JSON.parse(listedJson(old))).toMatchObject({ state: 'maybe re-driven (by a release before 2026-12-04)', setAsideBecause: null, maybeRedrivenBecause: expect.stringContaining('--undecodable` leaves it') });
    const tally = new ListTally();
    tally.count(old);
    expect(tally.summary(1)).toBe('1 dead letter(s) in 1 DLQ topic(s), 0 pending (not re-driven yet), 1 could not be decoded and may have been re-driven by a release before 2026-12-04 (listed `maybe re-driven`: `--undecodable` leaves them; `dlq:redrive -- <topic> --offset <partition>@<offset>` sends one once its consumer group is found not to have had the message)');
  });
});
