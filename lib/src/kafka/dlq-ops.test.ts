import { describe, expect, it } from 'vitest';
import { dlqTopicOf, isDlqTopic, sourceTopicOf } from '../topics.js';
import { inRanges, lotsOf, mergedRanges, recordOf, recordValueOf, redrivenFromOf, whyNotRedriven } from './dlq-ops.js';

describe('the record a re-drive leaves in its DLQ', () => {
  it('keeps the letters re-driven by offset as ranges, whatever order they were named in', () => {
    expect(mergedRanges([], [5n, 1n, 2n, 3n, 5n, 9n])).toEqual([[1n, 3n], [5n, 5n], [9n, 9n]]);
    expect(mergedRanges([[1n, 3n], [9n, 9n]], [4n, 8n])).toEqual([[1n, 4n], [8n, 9n]]);
  });

  it('reads back what it wrote, offsets past 2^53 included, and takes any other value for no record', () => {
    const record = { upTo: 2n ** 60n, byOffset: [[0n, 2n], [7n, 7n]] as const };
    expect(recordOf(Buffer.from(recordValueOf(record)))).toEqual(record);
    const withUnmatched = { ...record, unmatched: [[3n, 4n]] as const };
    expect(recordOf(Buffer.from(recordValueOf(withUnmatched)))).toEqual(withUnmatched);
    expect(recordOf(Buffer.from('{"v":1,"upTo":"1","byOffset":[],"unmatched":"x"}'))).toBeUndefined();
    for (const other of [null, '', 'junk', '[]', '{"v":2,"upTo":"1","byOffset":[]}', '{"v":1,"upTo":1,"byOffset":[]}', '{"v":1,"upTo":"1","byOffset":[["1"]]}', '{"v":1,"upTo":"-1","byOffset":[]}']) {
      expect(recordOf(other === null ? null : Buffer.from(other)), String(other)).toBeUndefined();
    }
  });

  it('prints where a letter was re-driven from as <dlq>/<partition>@<offset>, reading the older /<offset> form too', () => {
    expect(redrivenFromOf('orbit.image.stored.dlq/0/5')).toBe('orbit.image.stored.dlq/0@5');
    expect(redrivenFromOf('orbit.image.stored.dlq/0@5')).toBe('orbit.image.stored.dlq/0@5');
    expect(redrivenFromOf(undefined)).toBeNull();
  });
});

describe('lotsOf', () => {
  it('cuts letters into lots of at most 200 and 768 KiB, in order, a letter larger than that alone in its lot', () => {
    expect(lotsOf(Array.from({ length: 450 }, (_, n) => n), () => 10).map((lot) => lot.length)).toEqual([200, 200, 50]);
    const sizes = [400_000, 400_000, 400_000, 2_000_000, 10];
    expect(lotsOf(sizes, (size) => size)).toEqual([[400_000], [400_000], [400_000], [2_000_000], [10]]);
    expect(lotsOf([300_000, 300_000, 10, 300_000], (size) => size)).toEqual([[300_000, 300_000, 10], [300_000]]);
    expect(lotsOf([], () => 1)).toEqual([]);
  });
});

describe('inRanges', () => {
  it('finds an offset in long range lists, at their edges and between them', () => {
    const ranges = mergedRanges([], Array.from({ length: 1000 }, (_, n) => BigInt(2 * n)));
    expect([0n, 998n, 1998n].map((offset) => inRanges(ranges, offset))).toEqual([true, true, true]);
    expect([1n, 999n, 1999n, 2000n].map((offset) => inRanges(ranges, offset))).toEqual([false, false, false, false]);
    expect(inRanges([[3n, 7n]], 5n)).toBe(true);
    expect(inRanges([], 0n)).toBe(false);
  });
});

describe('where a letter may go back to', () => {
  const letter = { dlqTopic: 'orbit.image.stored.dlq', originalTopic: 'orbit.image.stored', originalPartition: '0', originalOffset: '1', errorCode: 'ORBIT_ERR_POISON', omittedValueBytes: null };
  it('is its DLQ\'s source topic only, whatever topic the letter names', () => {
    expect(sourceTopicOf('orbit.image.stored.dlq')).toBe('orbit.image.stored');
    expect(sourceTopicOf('orbit.image.stored')).toBeUndefined();
    expect(sourceTopicOf(dlqTopicOf('orbit.image.stored'))).toBe('orbit.image.stored');
    expect(['orbit.image.stored.dlq', 'orbit.image.stored', '.dlq'].map(isDlqTopic)).toEqual([true, false, false]);
    expect(whyNotRedriven(letter, false)).toBeUndefined();
    expect(whyNotRedriven({ ...letter, originalTopic: 'orbit.chart.promoted' }, true)).toBe('it names topic "orbit.chart.promoted" as its own; orbit.image.stored.dlq re-drives into orbit.image.stored only');
    expect(whyNotRedriven({ ...letter, originalTopic: '' }, true)).toContain('it names no topic');
    expect(whyNotRedriven({ ...letter, originalOffset: '-1' }, true)).toContain('it names no message of orbit.image.stored');
    expect(whyNotRedriven({ ...letter, originalPartition: '' }, true)).toContain('it names no message of orbit.image.stored');
  });
});
