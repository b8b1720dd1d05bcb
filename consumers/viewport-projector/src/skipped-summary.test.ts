import { describe, expect, it } from 'vitest';
import { skippedSummary } from './skipped-summary.js';

describe('skippedSummary', () => {
  it('groups what a rebuild passed over by reason, the largest group first, and lists a few positions of each', () => {
    const garbage = Array.from({ length: 12 }, (_, offset) => ({ at: `orbit.image.stored/0@${offset}`, code: 'ORBIT_ERR_DECODE' }));
    const summary = skippedSummary([...garbage, { at: 'orbit.chart.generated/1@7', code: 'ORBIT_ERR_VERSION_SET_ASIDE' }], 3);
    expect(summary.split('\n')).toEqual([
      expect.stringMatching(/^passed over 13 message\(s\) that cannot be projected/),
      '  12 ORBIT_ERR_DECODE: orbit.image.stored/0@0, orbit.image.stored/0@1, orbit.image.stored/0@2, and 9 more',
      '  1 ORBIT_ERR_VERSION_SET_ASIDE: orbit.chart.generated/1@7',
      '',
    ]);
  });
});
