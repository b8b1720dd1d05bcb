import { describe, expect, it } from 'vitest';
import { DLQ_HELP, DLQ_USAGE, dlqCommandOf } from './dlq-arguments.js';

/** A letter as dlqCommandOf names it: at `offset` of `partition`, or of any partition. */
const letter = (offset: number, partition?: number) => ({ asked: partition === undefined ? `${offset}` : `${partition}@${offset}`, partition, offset: BigInt(offset) });

describe('dlqCommandOf', () => {
  it('takes a topic by its name or its DLQ\'s, and offsets as whole numbers', () => {
    expect(dlqCommandOf(['redrive', 'orbit.image.stored'], undefined)).toEqual({ kind: 'redrive', dlqTopic: 'orbit.image.stored.dlq', filter: {} });
    expect(dlqCommandOf(['redrive', 'orbit.image.stored.dlq'], { offset: ['7', '007'] })).toEqual({ kind: 'redrive', dlqTopic: 'orbit.image.stored.dlq', offsets: [letter(7), letter(7)], filter: {} });
    expect(dlqCommandOf(['list', 'orbit.chart.promoted'], undefined)).toEqual({ kind: 'list', dlqTopics: ['orbit.chart.promoted.dlq'], json: false, filter: {} });
    expect(dlqCommandOf(['list'], undefined)).toMatchObject({ kind: 'list', dlqTopics: expect.arrayContaining(['orbit.upload.requested.dlq', 'orbit.pipeline.failed.dlq']) });
  });

  it('refuses an unknown topic, a malformed offset and a missing topic with what is wrong', () => {
    expect(dlqCommandOf(['redrive', 'orbit.nope'], undefined)).toEqual({ refused: expect.stringContaining('unknown topic "orbit.nope"; Orbit\'s topics are orbit.upload.requested') });
    expect(dlqCommandOf(['list', 'orbit.image.stored.dlq.dlq'], undefined)).toEqual({ refused: expect.stringContaining('unknown topic') });
    expect(dlqCommandOf(['redrive', 'orbit.image.stored'], { offset: ['x'] })).toEqual({ refused: expect.stringContaining('whole numbers, not "x"') });
    expect(dlqCommandOf(['redrive', 'orbit.image.stored'], { offset: ['-1'] })).toEqual({ refused: expect.stringContaining('not "-1"') });
    expect(dlqCommandOf(['redrive'], undefined)).toEqual({ refused: expect.stringContaining('needs the topic') });
    expect(dlqCommandOf(['list', 'orbit.image.stored'], { offset: ['3'] })).toEqual({ refused: expect.stringContaining('--offset goes with redrive only') });
    expect(dlqCommandOf(['redrive', 'orbit.image.stored', 'orbit.chart.generated'], undefined)).toEqual({ refused: expect.stringContaining('one topic at a time') });
    expect(dlqCommandOf(['purge'], undefined)).toEqual({ refused: expect.stringContaining('usage:') });
  });

  it('refuses a negative offset as an offset (found by a review)', () => {
    expect(dlqCommandOf(['redrive', 'orbit.image.stored'], { offset: ['-1'] })).toEqual({ refused: expect.stringContaining('whole numbers, not "-1"') });
  });

  it('takes a letter by its position as dlq:list prints it, <partition>@<offset>, its DLQ before it or not (found by a review: an offset alone matched it in every partition)', () => {
    const redrive = (...offset: string[]) => dlqCommandOf(['redrive', 'orbit.image.stored'], { offset });
    expect(redrive('2@7', 'orbit.image.stored.dlq/0@007', '7')).toEqual({ kind: 'redrive', dlqTopic: 'orbit.image.stored.dlq', offsets: [letter(7, 2), letter(7, 0), letter(7)], filter: {} });
    expect(redrive('orbit.chart.generated.dlq/0@7')).toEqual({ refused: '--offset orbit.chart.generated.dlq/0@7 is a letter of orbit.chart.generated.dlq, not of orbit.image.stored.dlq' });
    for (const malformed of ['0@', '@7', '0@7@1', '0/7', 'a@7']) {
      expect(redrive(malformed)).toEqual({ refused: expect.stringContaining(`<partition>@<offset>`) });
    }
  });

  it('reads a time without an offset as UTC, as the letters\' times are, in any zone the machine is in (found by a review: 10:15 meant 09:15Z in Berlin)', () => {
    const zone = process.env['TZ'];
    process.env['TZ'] = 'Europe/Berlin';
    try {
      expect(dlqCommandOf(['list'], { since: '2026-12-06T10:15:00' })).toMatchObject({ filter: { since: new Date('2026-12-06T10:15:00Z') } });
      expect(dlqCommandOf(['list'], { until: '2026-12-06 10:15' })).toMatchObject({ filter: { until: new Date('2026-12-06T10:15:00Z') } });
      expect(dlqCommandOf(['list'], { since: '2026-12-06T10:15:00+01:00' })).toMatchObject({ filter: { since: new Date('2026-12-06T09:15:00Z') } });
    } finally {
      if (zone === undefined) delete process.env['TZ'];
      else process.env['TZ'] = zone;
    }
  });

  it('narrows both commands by group, reason code, key, time, state and count, and lists as JSON on request (found by a review: a topic was the only narrowing)', () => {
    const options = { group: 'harbor-writer', 'error-code': 'ORBIT_ERR_POISON', key: 'uid-1', since: '2026-12-01', until: '2026-12-06T10:00:00Z', pending: true, limit: '50', timeout: '90' };
    const filter = {
      group: 'harbor-writer', errorCode: 'ORBIT_ERR_POISON', key: 'uid-1', since: new Date('2026-12-01'), until: new Date('2026-12-06T10:00:00Z'), pending: true, limit: 50,
    };
    expect(dlqCommandOf(['list', 'orbit.image.stored'], { ...options, json: true })).toEqual({ kind: 'list', dlqTopics: ['orbit.image.stored.dlq'], json: true, filter, timeoutMs: 90_000 });
    expect(dlqCommandOf(['redrive', 'orbit.image.stored'], { ...options, offset: ['3'] })).toEqual({ kind: 'redrive', dlqTopic: 'orbit.image.stored.dlq', offsets: [letter(3)], filter, timeoutMs: 90_000 });
    expect(dlqCommandOf(['list'], { since: 'yesterday' })).toEqual({ refused: expect.stringContaining('--since takes a time such as 2026-12-06') });
    expect(dlqCommandOf(['list'], { until: '2026-13-45' })).toEqual({ refused: expect.stringContaining('--until takes a time') });
    // A day the month does not have is refused, not rolled over into the next month (2026-03-02).
    expect(dlqCommandOf(['list'], { since: '2026-02-30' })).toEqual({ refused: expect.stringContaining('not "2026-02-30"') });
    expect(dlqCommandOf(['list'], { until: '2026-04-31T10:00:00Z' })).toEqual({ refused: expect.stringContaining('--until takes a time') });
    expect(dlqCommandOf(['list'], { since: '2026-02-29' })).toEqual({ refused: expect.stringContaining('--since takes a time') });
    expect(dlqCommandOf(['list'], { since: '2028-02-29' })).toMatchObject({ filter: { since: new Date('2028-02-29T00:00:00Z') } });
    expect(dlqCommandOf(['list'], { limit: '0' })).toEqual({ refused: expect.stringContaining('--limit takes a number of letters, 1 or more, not "0"') });
    expect(dlqCommandOf(['list'], { timeout: 'soon' })).toEqual({ refused: expect.stringContaining('--timeout takes the seconds') });
    expect(dlqCommandOf(['list'], { group: '' })).toEqual({ refused: '--group needs a value' });
    expect(dlqCommandOf(['redrive', 'orbit.image.stored'], { json: true })).toEqual({ refused: expect.stringContaining('--json goes with list only') });
  });
  it('takes --undecodable with a re-drive without offsets only, and keeps the default without it (found by an upgrade review: only --offset per letter re-drove ORBIT_ERR_DECODE letters)', () => {
    expect(dlqCommandOf(['redrive', 'orbit.image.stored'], { undecodable: true, group: 'harbor-writer' })).toEqual({ kind: 'redrive', dlqTopic: 'orbit.image.stored.dlq', undecodable: true, filter: { group: 'harbor-writer' } });
    expect(dlqCommandOf(['redrive', 'orbit.image.stored'], { undecodable: false })).toEqual({ kind: 'redrive', dlqTopic: 'orbit.image.stored.dlq', filter: {} });
    expect(dlqCommandOf(['redrive', 'orbit.image.stored'], { undecodable: true, offset: ['0@7'] })).toEqual({ refused: expect.stringContaining('--undecodable goes with a re-drive without --offset') });
    expect(dlqCommandOf(['list', 'orbit.image.stored'], { undecodable: true })).toEqual({ refused: expect.stringContaining('--undecodable goes with redrive only') });
  });

  it('names --undecodable in the usage and the help', () => {
    expect(DLQ_USAGE).toContain('[--undecodable]');
    expect(DLQ_HELP).toContain('--undecodable also re-drives the letters that could not be decoded (ORBIT_ERR_DECODE)');
  });
});
