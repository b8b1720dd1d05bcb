import { ALL_TOPICS } from '@orbit/lib';
import { describe, expect, it } from 'vitest';
import { followLine, followOptionsOf, wanted, type FollowOptions } from './follow.js';

describe('followOptionsOf', () => {
  it('follows every lifecycle topic from now on unless told otherwise', () => {
    expect(followOptionsOf([], {})).toEqual({ topics: ALL_TOPICS, fromBeginning: false, imageUID: undefined, requestId: undefined, count: undefined });
    expect(followOptionsOf(['orbit.chart.promoted', 'orbit.chart.promoted'], { 'from-beginning': true, image: 'U'.repeat(60), count: '2' }))
      .toEqual({ topics: ['orbit.chart.promoted'], fromBeginning: true, imageUID: 'U'.repeat(60), requestId: undefined, count: 2 });
  });

  it('refuses what is not an Orbit topic, a DLQ, and a count that is not a positive whole number', () => {
    expect(followOptionsOf(['orbit.chart.promotd'], {})).toMatchObject({ refused: expect.stringContaining('not an Orbit topic: orbit.chart.promotd') });
    expect(followOptionsOf(['orbit.image.stored.dlq'], {})).toMatchObject({ refused: expect.stringContaining('dlq:list') });
    for (const count of ['0', '-1', '2.5', 'x', '']) expect(followOptionsOf([], { count }), count).toHaveProperty('refused');
    // A filter no event can match followed an empty stream for ever (found by a probe).
    expect(followOptionsOf([], { image: 'bogus' })).toEqual({ refused: '--image must be an image UID (60 letters and digits), got "bogus"' });
    expect(followOptionsOf([], { request: 'not-a-uuid' })).toEqual({ refused: '--request must be a request id (a UUID), got "not-a-uuid"' });
  });

  it('follows a request whose id is given in upper case: events carry it in lower case (an exact match waited for ever)', () => {
    const options = followOptionsOf([], { image: 'A'.repeat(60), request: '6E4C5B48-0000-4000-8000-000000000001' });
    expect(options).not.toHaveProperty('refused');
    expect(wanted({ imageUID: 'A'.repeat(60), correlationId: '6e4c5b48-0000-4000-8000-000000000001' }, options as FollowOptions)).toBe(true);
  });
});

describe('wanted', () => {
  it('keeps the events of the image and request asked for', () => {
    const event = { imageUID: 'U1', correlationId: 'R1' };
    expect(wanted(event, { imageUID: undefined, requestId: undefined })).toBe(true);
    expect(wanted(event, { imageUID: 'U1', requestId: 'R1' })).toBe(true);
    expect(wanted(event, { imageUID: 'U2', requestId: undefined })).toBe(false);
    expect(wanted(event, { imageUID: undefined, requestId: 'R2' })).toBe(false);
  });
});

describe('followLine', () => {
  it('is one line of JSON with the position and the event, bytes and big numbers included', () => {
    const line = followLine({ topic: 't', partition: 1, offset: '7', key: 'U1', traceparent: null }, { size: 10n, raw: Buffer.from('hi'), nested: { a: 'b\nc' } });
    expect(line).not.toContain('\n');
    expect(JSON.parse(line)).toEqual({ topic: 't', partition: 1, offset: '7', key: 'U1', traceparent: null, event: { size: '10', raw: 'aGk=', nested: { a: 'b\nc' } } });
  });
});
