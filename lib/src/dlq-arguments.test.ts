import { describe, expect, it } from 'vitest';
import { dlqCommandOf } from './dlq-arguments.js';

describe('dlqCommandOf', () => {
  it('takes a topic by its name or its DLQ\'s, and offsets as whole numbers', () => {
    expect(dlqCommandOf(['redrive', 'orbit.image.stored'], undefined)).toEqual({ kind: 'redrive', dlqTopic: 'orbit.image.stored.dlq' });
    expect(dlqCommandOf(['redrive', 'orbit.image.stored.dlq'], ['7', '007'])).toEqual({ kind: 'redrive', dlqTopic: 'orbit.image.stored.dlq', offsets: ['7', '7'] });
    expect(dlqCommandOf(['list', 'orbit.chart.promoted'], undefined)).toEqual({ kind: 'list', dlqTopics: ['orbit.chart.promoted.dlq'] });
    expect(dlqCommandOf(['list'], undefined)).toMatchObject({ kind: 'list', dlqTopics: expect.arrayContaining(['orbit.upload.requested.dlq', 'orbit.pipeline.failed.dlq']) });
  });

  it('refuses an unknown topic, a malformed offset and a missing topic with what is wrong', () => {
    expect(dlqCommandOf(['redrive', 'orbit.nope'], undefined)).toEqual({ refused: expect.stringContaining('unknown topic "orbit.nope"; Orbit\'s topics are orbit.upload.requested') });
    expect(dlqCommandOf(['list', 'orbit.image.stored.dlq.dlq'], undefined)).toEqual({ refused: expect.stringContaining('unknown topic') });
    expect(dlqCommandOf(['redrive', 'orbit.image.stored'], ['x'])).toEqual({ refused: expect.stringContaining('a whole number, not "x"') });
    expect(dlqCommandOf(['redrive', 'orbit.image.stored'], ['-1'])).toEqual({ refused: expect.stringContaining('not "-1"') });
    expect(dlqCommandOf(['redrive'], undefined)).toEqual({ refused: expect.stringContaining('needs the topic') });
    expect(dlqCommandOf(['list', 'orbit.image.stored'], ['3'])).toEqual({ refused: expect.stringContaining('--offset goes with redrive only') });
    expect(dlqCommandOf(['redrive', 'orbit.image.stored', 'orbit.chart.generated'], undefined)).toEqual({ refused: expect.stringContaining('one topic at a time') });
    expect(dlqCommandOf(['purge'], undefined)).toEqual({ refused: expect.stringContaining('usage:') });
  });

  it('refuses a negative offset as an offset (found by a review)', () => {
    expect(dlqCommandOf(['redrive', 'orbit.image.stored'], ['-1'])).toEqual({ refused: expect.stringContaining('a whole number, not "-1"') });
  });
});
