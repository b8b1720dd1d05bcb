import { describe, expect, it } from 'vitest';
import { lostPartitions } from './projection-state.js';

describe('lostPartitions', () => {
  const committed = [
    { topic: 'orbit.image.stored', partitions: [{ partition: 0, offset: '12' }, { partition: 1, offset: '-1' }, { partition: 2, offset: '0' }] },
    { topic: 'orbit.chart.generated', partitions: [{ partition: 0, offset: '7' }] },
  ];

  it('names the partitions Kafka is past while the projection holds no offset for them', () => {
    expect(lostPartitions(committed, new Set())).toEqual(['orbit.image.stored/0', 'orbit.chart.generated/0']);
    expect(lostPartitions(committed, new Set(['orbit.image.stored/0']))).toEqual(['orbit.chart.generated/0']);
  });

  it('finds nothing lost on an intact projection, or on a new one that Kafka has not moved past', () => {
    expect(lostPartitions(committed, new Set(['orbit.image.stored/0', 'orbit.chart.generated/0']))).toEqual([]);
    expect(lostPartitions([{ topic: 'orbit.image.stored', partitions: [{ partition: 0, offset: '-1' }, { partition: 1, offset: '0' }] }], new Set())).toEqual([]);
  });
});
