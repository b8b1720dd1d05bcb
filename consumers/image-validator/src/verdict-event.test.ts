import { envelopeFor, TOPICS } from '@orbit/lib';
import { sampleEvents } from '@orbit/schemas';
import { describe, expect, it } from 'vitest';
import { verdictEvent } from './verdict-event.js';

describe('verdictEvent', () => {
  const events = sampleEvents();
  const cause = { ...events['orbit.upload.requested'], occurredAt: Date.parse('2026-11-22T09:59:00Z') };
  const validated = events['orbit.image.validated'];
  const verdict = {
    kind: 'validated', requestId: cause.requestId, metadata: cause.metadata, staging: validated.staging, sizeBytes: validated.sizeBytes, sha256: validated.sha256,
    image: validated.image, chartVersion: '1.0.0', notes: [],
  } as const;

  it('carries when the gateway accepted the request, the same in every run of it, where its own occurredAt is each run\'s (found by a review: a re-run was a newer upload)', () => {
    const runs = [new Date('2026-11-22T10:00:00Z'), new Date('2026-11-22T12:00:00Z')].map((now) =>
      verdictEvent(cause, verdict, (step, context) => envelopeFor(step, context, now)));
    for (const run of runs) expect(run).toMatchObject({ topic: TOPICS.imageValidated, event: { requestedAt: cause.occurredAt } });
    expect(runs.map((run) => run.event.occurredAt)).toEqual([Date.parse('2026-11-22T10:00:00Z'), Date.parse('2026-11-22T12:00:00Z')]);
  });
});
