import { DEAD_LETTERED } from '@orbit/schemas';
import { describe, expect, it } from 'vitest';
import { CHART_ERROR_CODES } from '../../../../consumers/chart-generator/src/errors.js';
import { FAILURES_THAT_MAY_STORE } from './chart-name-holders.js';

describe('the failures that may still store an image', () => {
  // Checked one way only, and in the integration tier: a code dropped from the chart generator stayed here unseen.
  it('are DEAD_LETTERED and exactly the chart generator\'s reason codes, each way: a code added there holds a name, one removed holds none', () => {
    const chartReasonCodes = CHART_ERROR_CODES.map((code) => code.replace(/^ORBIT_ERR_/, ''));
    expect(new Set(FAILURES_THAT_MAY_STORE)).toEqual(new Set([DEAD_LETTERED, ...chartReasonCodes]));
    expect(FAILURES_THAT_MAY_STORE).toHaveLength(new Set(FAILURES_THAT_MAY_STORE).size);
  });
});
