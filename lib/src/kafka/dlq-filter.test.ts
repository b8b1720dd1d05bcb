import { describe, expect, it } from 'vitest';
import { leavesGaps, letterMatches } from './dlq-filter.js';

const letter = { consumerGroup: 'harbor-writer', errorCode: 'ORBIT_ERR_POISON', key: Buffer.from('uid-1'), failedAt: '2026-12-03T12:00:00.000Z', redriven: false };

describe('letterMatches', () => {
  it('lets a letter through when every field given matches it', () => {
    expect(letterMatches(letter, {})).toBe(true);
    expect(letterMatches(letter, { group: 'harbor-writer', errorCode: 'ORBIT_ERR_POISON', key: 'uid-1', pending: true })).toBe(true);
    expect(letterMatches(letter, { group: 'chart-generator' })).toBe(false);
    expect(letterMatches(letter, { errorCode: 'ORBIT_ERR_DECODE' })).toBe(false);
    expect(letterMatches(letter, { key: 'uid-2' })).toBe(false);
    expect(letterMatches({ ...letter, redriven: true }, { pending: true })).toBe(false);
  });

  it('takes since as inclusive and until as exclusive, and a letter without a readable time as outside any bound', () => {
    const at = new Date(letter.failedAt);
    expect(letterMatches(letter, { since: at, until: new Date(at.getTime() + 1) })).toBe(true);
    expect(letterMatches(letter, { until: at })).toBe(false);
    expect(letterMatches({ ...letter, failedAt: '' }, { since: new Date(0) })).toBe(false);
  });

  it('tells filters that leave letters out in the middle of a partition from those that only cut its tail', () => {
    expect(leavesGaps({ pending: true, limit: 3 })).toBe(false);
    expect(leavesGaps({ group: 'harbor-writer' })).toBe(true);
    expect(leavesGaps({ since: new Date() })).toBe(true);
  });
});
