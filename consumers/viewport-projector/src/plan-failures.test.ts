import { describe, expect, it } from 'vitest';
import { newImageUID, TOPICS } from '@orbit/lib';
import { sampleEvents, type OrbitEvent } from '@orbit/schemas';
import { planProjection, requestsEnded } from './plan.js';

const message = (topic: string, event: OrbitEvent) => ({ topic, event });

describe('a failed request as the projector counts it', () => {
  it('counts a refusal of the gateway once when its PipelineFailed is projected, though the gateway wrote its row failed already', () => {
    const events = sampleEvents(newImageUID(), 'req-x');
    const refusal = { ...events['orbit.pipeline.failed'], requestId: 'req-refused', flow: 'transfer', stage: 'request', reasonCode: 'ROLE_REQUIRED', targetEnvironment: 'Production' };
    const stored = { ...events['orbit.pipeline.failed'], requestId: 'req-store' };
    // As the database holds them before this batch: the refusal as the gateway recorded it; the other failure projected already.
    const before = new Map([['req-refused', { status: 'failed' as const, errorCode: 'ROLE_REQUIRED' }], ['req-store', { status: 'failed' as const, errorCode: 'CHECKSUM_MISMATCH' }]]);
    const { plan, applied } = planProjection([message(TOPICS.pipelineFailed, refusal), message(TOPICS.pipelineFailed, stored)], new Map(), before);
    const acceptedAt = new Map([['req-refused', new Date(refusal.occurredAt)]]);
    expect(requestsEnded(plan, applied, before, acceptedAt)).toEqual([{ requestId: 'req-refused', kind: 'transfer', status: 'failed', errorCode: 'ROLE_REQUIRED', seconds: 0 }]);
  });
});
