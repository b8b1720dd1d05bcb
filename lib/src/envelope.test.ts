import { describe, expect, it } from 'vitest';
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
  const event = { ...envelopeFor('uploadRequested', { correlationId: 'req-1', imageUID: 'U'.repeat(60), actor }), requestId: 'req-1' };

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
});
