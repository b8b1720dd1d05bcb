import { describe, expect, it } from 'vitest';
import { TOPICS } from '@orbit/lib';
import { instantOf, rangesOf, REFILLED_TOPICS, refillOptionsOf, refillSummary, type RefillReport } from './refill.js';

const NOW = Date.parse('2026-12-07T23:00:00Z');

describe('instantOf', () => {
  it('takes ISO 8601 times with their zone, and dates as midnight UTC', () => {
    expect(instantOf('2026-12-07T21:30:00Z')).toBe(Date.parse('2026-12-07T21:30:00Z'));
    expect(instantOf('2026-12-07T22:30:00.250+01:00')).toBe(Date.parse('2026-12-07T21:30:00.250Z'));
    expect(instantOf('2026-12-07 21:30Z')).toBe(Date.parse('2026-12-07T21:30:00Z'));
    expect(instantOf('2026-12-07')).toBe(Date.parse('2026-12-07T00:00:00Z'));
  });

  it('refuses a time without its zone, and days or hours no calendar has, which Date.parse would roll over', () => {
    for (const text of ['2026-12-07T21:30:00', 'yesterday', '', '1765000000000', '2026-02-31', '2026-13-01', '2026-12-07T24:00Z', '2026-12-07T21:60Z', 'Dec 7 2026']) {
      expect(instantOf(text), text).toBeUndefined();
    }
  });
});

describe('refillOptionsOf', () => {
  it('reads --since, --until, --topic and --dry-run; every topic the event-logger reads by default', () => {
    expect(refillOptionsOf({ since: '2026-12-07T21:30:00Z' }, NOW)).toEqual({ since: Date.parse('2026-12-07T21:30:00Z'), until: undefined, topics: REFILLED_TOPICS, dryRun: false });
    expect(refillOptionsOf({ since: '2026-12-07', until: '2026-12-07T22:00:00Z', topic: [TOPICS.imageStored, TOPICS.imageStored], 'dry-run': true }, NOW))
      .toEqual({ since: Date.parse('2026-12-07T00:00:00Z'), until: Date.parse('2026-12-07T22:00:00Z'), topics: [TOPICS.imageStored], dryRun: true });
    expect(REFILLED_TOPICS).toContain(TOPICS.uploadRequested);
  });

  it('refuses a missing, unparseable or future --since, an --until before it, and a topic the event-logger does not read', () => {
    const refusal = (values: Parameters<typeof refillOptionsOf>[0]): string => {
      const answer = refillOptionsOf(values, NOW);
      return 'refused' in answer ? answer.refused : 'accepted';
    };
    expect(refusal({})).toMatch(/^--since is required/);
    expect(refusal({ since: 'last tuesday' })).toMatch(/^--since must be an ISO 8601 time with its zone .* got "last tuesday"$/);
    expect(refusal({ since: '2026-12-07T21:30:00' })).toMatch(/^--since must be/);
    expect(refusal({ since: '2026-12-08T00:00:00Z' })).toBe('--since 2026-12-08T00:00:00.000Z is in the future (it is 2026-12-07T23:00:00.000Z): give the time the log lost its rows from');
    expect(refusal({ since: '2026-12-07T21:30:00Z', until: 'soon' })).toMatch(/^--until must be/);
    expect(refusal({ since: '2026-12-07T21:30:00Z', until: '2026-12-07T21:00:00Z' })).toMatch(/^--until 2026-12-07T21:00:00.000Z is before --since/);
    expect(refusal({ since: '2026-12-07T21:30:00Z', topic: ['orbit.image.stored.dlq'] })).toMatch(/^not a topic the event-logger reads: orbit.image.stored.dlq/);
  });
});

describe('rangesOf', () => {
  const highs = [{ partition: 1, low: '0', high: '50' }, { partition: 0, low: '10', high: '100' }, { partition: 2, low: '0', high: '7' }];

  it('reads each partition from its first offset at --since to the end it had, leaving partitions with nothing that late', () => {
    // Kafka answers a partition's end for one with nothing at or after the time (kafkajs's high for its -1).
    expect(rangesOf([{ partition: 0, offset: '40' }, { partition: 1, offset: '50' }, { partition: 2, offset: '3' }], highs)).toEqual([
      { partition: 0, from: 40n, end: 100n },
      { partition: 2, from: 3n, end: 7n },
    ]);
  });

  it('starts no earlier than what the partition still holds, and ends at the first offset after --until', () => {
    expect(rangesOf([{ partition: 0, offset: '0' }, { partition: 1, offset: '5' }, { partition: 2, offset: '3' }], highs, [
      { partition: 0, offset: '60' }, { partition: 1, offset: '5' }, { partition: 2, offset: '-1' },
    ])).toEqual([
      { partition: 0, from: 10n, end: 60n },
      { partition: 2, from: 3n, end: 7n },
    ]);
  });

  it('keeps offsets past 2^53 exact', () => {
    expect(rangesOf([{ partition: 0, offset: '9007199254740993' }], [{ partition: 0, low: '0', high: '9007199254740995' }]))
      .toEqual([{ partition: 0, from: 9007199254740993n, end: 9007199254740995n }]);
  });
});

describe('refillSummary', () => {
  const report: RefillReport = { messages: 1200, rows: 1234, alreadyThere: 1200, partitions: 8, undecodable: [], passedOver: 0, missingTopics: [], dryRun: false, groupPrefix: 'orbit-events-refill-0' };

  it('says how many rows were written, from how many partitions, and how many were there already', () => {
    expect(refillSummary(report)).toBe('refilled 34 missing row(s) of 1234 read from 8 partition(s), 1200 already there (left as they are)');
    expect(refillSummary({ ...report, dryRun: true })).toBe('would refill 34 missing row(s) of 1234 read from 8 partition(s), 1200 already there (left as they are); a dry run writes nothing');
  });

  it('names what it passed over as the event-logger does', () => {
    const undecodable = Array.from({ length: 7 }, (_, offset) => `orbit.image.stored/0@${offset} (ORBIT_ERR_DECODE)`);
    expect(refillSummary({ ...report, undecodable, passedOver: 2 }).split('\n')).toEqual([
      'refilled 34 missing row(s) of 1234 read from 8 partition(s), 1200 already there (left as they are)',
      `7 undecodable message(s) passed over, as the event-logger dead-lettered them: ${undecodable.slice(0, 5).join(', ')}, and 2 more`,
      '2 dlq:redrive copy(ies) for another group passed over, as the event-logger does',
    ]);
  });
});
