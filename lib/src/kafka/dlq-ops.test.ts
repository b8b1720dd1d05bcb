import { describe, expect, it } from 'vitest';
import { lotsOf, mergedRanges, recordOf, recordValueOf, redrivenFromOf } from './dlq-ops.js';

describe('the record a re-drive leaves in its DLQ', () => {
  it('keeps the letters re-driven by offset as ranges, whatever order they were named in', () => {
    expect(mergedRanges([], [5n, 1n, 2n, 3n, 5n, 9n])).toEqual([[1n, 3n], [5n, 5n], [9n, 9n]]);
    expect(mergedRanges([[1n, 3n], [9n, 9n]], [4n, 8n])).toEqual([[1n, 4n], [8n, 9n]]);
  });

  it('reads back what it wrote, offsets past 2^53 included, and takes any other value for no record', () => {
    const record = { upTo: 2n ** 60n, byOffset: [[0n, 2n], [7n, 7n]] as const };
    expect(recordOf(Buffer.from(recordValueOf(record)))).toEqual(record);
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
