import { describe, expect, it } from 'vitest';
import { envelopeFor } from './envelope.js';

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
});
