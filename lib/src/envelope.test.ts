import { describe, expect, it } from 'vitest';
import { isWellFormedText } from './code-point.js';
import { envelopeFor, envelopeProblem } from './envelope.js';

const actor = { username: 'dev1', firstName: null, lastName: null, email: null };

describe('envelopeFor', () => {
  it('gives an event made in answer to another the same id every time (a stage run again publishes the same event), and a command a random one', () => {
    const cause = { eventId: '7c0c9a4e-0000-4000-8000-000000000001', correlationId: 'req-1', imageUID: 'U'.repeat(60), actor };
    const first = envelopeFor('imageValidated', cause);
    const again = envelopeFor('imageValidated', cause, new Date(Date.now() + 30_000));
    expect(again.eventId).toBe(first.eventId);
    expect(first.eventId).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    // Another step, or another cause: another event.
    expect(envelopeFor('imageRejected', cause).eventId).not.toBe(first.eventId);
    expect(envelopeFor('imageValidated', { ...cause, eventId: '7c0c9a4e-0000-4000-8000-000000000002' }).eventId).not.toBe(first.eventId);
    const { eventId: _ignored, ...command } = cause;
    expect(envelopeFor('uploadRequested', command).eventId).not.toBe(envelopeFor('uploadRequested', command).eventId);
  });

  it('dates the event by the clock it is given', () => {
    const at = new Date('2026-11-22T10:00:00.123Z');
    expect(envelopeFor('uploadRequested', { correlationId: 'req-1', imageUID: 'U'.repeat(60), actor }, at).occurredAt).toBe(at.getTime());
  });
});

describe('envelopeProblem', () => {
  const requestId = '0f8fad5b-d9cb-469f-a165-70867728950e';
  const event = { ...envelopeFor('uploadRequested', { correlationId: requestId, imageUID: 'U'.repeat(60), actor }), requestId };

  it('passes an event Orbit made', () => {
    expect(envelopeProblem(event)).toBeUndefined();
    const { requestId: _none, ...withoutRequestId } = event;
    expect(envelopeProblem(withoutRequestId)).toBeUndefined();
  });

  it('names what makes a decoded event unusable: an empty id, a blank one, an unknown PID', () => {
    expect(envelopeProblem({ ...event, eventId: '' })).toBe('eventId is empty');
    expect(envelopeProblem({ ...event, correlationId: '  ' })).toBe('correlationId is empty');
    expect(envelopeProblem({ ...event, imageUID: '' })).toBe('imageUID is empty');
    expect(envelopeProblem({ ...event, requestId: '' })).toBe('requestId is empty');
    expect(envelopeProblem({ ...event, pid: 'x1-y2-z3' })).toBe('pid "x1-y2-z3" is not one of Orbit\'s steps');
    expect(envelopeProblem(null)).toBe('not a record');
  });

  it('quotes a long imageUID cut before an emoji, never inside it (half of one made the DLQ reason ill-formed text)', () => {
    const problem = envelopeProblem({ ...event, imageUID: `${'a'.repeat(79)}\u{1F433}${'b'.repeat(40)}` }) ?? '';
    expect(problem).toContain(`"${'a'.repeat(79)}…"`);
    expect(isWellFormedText(problem)).toBe(true);
  });

  it('passes a request id in upper case, as the API takes it', () => {
    expect(envelopeProblem({ ...event, requestId: requestId.toUpperCase() })).toBeUndefined();
  });

  it('names an imageUID that is no Orbit UID: the chart-generator tried to write frn/../../x-v1-0-00/ to S3 (found by a review)', () => {
    expect(envelopeProblem({ ...event, imageUID: 'frn/../../x' })).toBe('imageUID "frn/../../x" is not an Orbit image UID (^[A-Za-z0-9]{60}$)');
    expect(envelopeProblem({ ...event, imageUID: 'U'.repeat(59) })).toMatch(/^imageUID "U{59}" is not an Orbit image UID/);
    expect(envelopeProblem({ ...event, imageUID: `${'U'.repeat(59)}-` })).toMatch(/is not an Orbit image UID/);
    expect(envelopeProblem({ ...event, imageUID: ` ${'U'.repeat(60)}` })).toMatch(/is not an Orbit image UID/);
  });

  it('takes an image UID with trailing spaces, as transfers of `<uid>%20` before 2026-12-02 wrote them: a rebuild of older topics keeps them (found by a review)', () => {
    expect(envelopeProblem({ ...event, imageUID: `${'U'.repeat(60)} ` })).toBeUndefined();
    expect(envelopeProblem({ ...event, imageUID: `${'U'.repeat(60)}   ` })).toBeUndefined();
    // A megabyte of junk is named by its start only: the reason goes into a DLQ header.
    expect(envelopeProblem({ ...event, imageUID: '/'.repeat(1_000_000) })?.length).toBeLessThan(200);
  });

  it('names a request id that is not a UUID: its request row could not be read through the API (found by a review)', () => {
    expect(envelopeProblem({ ...event, requestId: 'frnmxbogzwg-evolved' })).toBe('requestId "frnmxbogzwg-evolved" is not a UUID, as every request id the gateway makes is');
    expect(envelopeProblem({ ...event, requestId: `urn:uuid:${requestId}` })).toMatch(/is not a UUID/);
    expect(envelopeProblem({ ...event, requestId: 7 })).toBe('requestId is empty');
  });

  it('names a time that MySQL DATETIME or a JS Date cannot hold, instead of the projector failing with a bare MySQL error (found by a review)', () => {
    expect(envelopeProblem({ ...event, occurredAt: 8.64e15 + 5 })).toBe('occurredAt 8640000000000005 is outside years 1000 to 9999 (1000-01-01T00:00:00.000Z to 9999-12-31T23:59:59.999Z)');
    // Year 0: MySQL refused it with ER_TRUNCATED_WRONG_VALUE.
    expect(envelopeProblem({ ...event, occurredAt: new Date('0000-06-01T00:00:00Z').getTime() })).toBe('occurredAt -62154086400000 is outside years 1000 to 9999 (1000-01-01T00:00:00.000Z to 9999-12-31T23:59:59.999Z)');
    expect(envelopeProblem({ ...event, occurredAt: Date.UTC(999, 11, 31, 23, 59, 59, 999) })).toMatch(/is outside years 1000 to 9999/);
    expect(envelopeProblem({ ...event, occurredAt: Date.UTC(10_000, 0, 1) })).toMatch(/is outside years 1000 to 9999/);
    expect(envelopeProblem({ ...event, occurredAt: Date.UTC(1000, 0, 1) })).toBeUndefined();
    expect(envelopeProblem({ ...event, occurredAt: Date.UTC(9999, 11, 31, 23, 59, 59, 999) })).toBeUndefined();
    expect(envelopeProblem({ ...event, occurredAt: Number.NaN })).toBe('occurredAt NaN is not a time in ms');
  });
});
