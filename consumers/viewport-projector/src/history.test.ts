import { describe, expect, it } from 'vitest';
import { describeReplaced, HistoryReplacedError, replacedPartitions } from './history.js';

describe('replacedPartitions', () => {
  const topics = new Set(['orbit.image.stored', 'orbit.chart.generated']);

  it('names a partition that ends before what ViewPort applied, and one the topic no longer has', () => {
    const applied = new Map([['orbit.image.stored/0', 3n], ['orbit.image.stored/1', 5n], ['orbit.chart.generated/0', 2n]]);
    const highs = new Map([['orbit.image.stored/0', 2n], ['orbit.chart.generated/0', 7n]]);
    expect(describeReplaced(replacedPartitions(applied, highs, topics))).toEqual([
      'orbit.image.stored/0 (ends at offset 2, ViewPort applied up to 3)',
      'orbit.image.stored/1 (ends at offset 0, ViewPort applied up to 5)',
    ]);
  });

  it('passes a partition that reaches what was applied, and topics not being read', () => {
    const applied = new Map([['orbit.image.stored/0', 3n], ['orbit.other/0', 9n]]);
    expect(replacedPartitions(applied, new Map([['orbit.image.stored/0', 3n]]), topics)).toEqual([]);
  });

  it('is retriable for the live projector only, whose partition waits for the operator', () => {
    expect(new HistoryReplacedError(['t/0'], 'projecting')).toMatchObject({ code: 'ORBIT_ERR_HISTORY_REPLACED', retriable: true });
    expect(new HistoryReplacedError(['t/0'], 'rebuilding')).toMatchObject({ code: 'ORBIT_ERR_HISTORY_REPLACED', retriable: false });
  });
});
