import { describe, expect, it } from 'vitest';
import { envelopeFor, ERROR_MESSAGE_MAX_BYTES, MALFORMED_REASON_CODE, TOPICS } from '@orbit/lib';
import type { PipelineFailed } from '@orbit/schemas';
import { planProjection } from '../../../../consumers/viewport-projector/src/plan.js';
import { requestRowStatusOf } from './request-row.js';

/** A refusal the gateway records, with the code and message under test. */
function refusal(reasonCode: string, message: string): PipelineFailed {
  const requestId = 'req-row';
  const actor = { username: 'dev', firstName: null, lastName: null, email: null };
  return {
    ...envelopeFor('transferFailed', { correlationId: requestId, imageUID: 'img-row', actor }), requestId, flow: 'transfer', stage: 'request',
    reasonCode, message, failedEventId: null, imageVersion: 'v1-0-00', targetEnvironment: 'Production',
  };
}

/** The columns the viewport-projector writes for the same event. */
function projected(event: PipelineFailed): { errorCode: string | null; errorMessage: string | null } {
  const request = planProjection([{ topic: TOPICS.pipelineFailed, event }], new Map()).plan.requests.get(event.requestId);
  return { errorCode: request?.errorCode ?? null, errorMessage: request?.errorMessage ?? null };
}

describe('requestRowStatusOf', () => {
  it('writes a refusal failed with the columns the projector writes for it', () => {
    const event = refusal('ROLE_REQUIRED', 'promoting into Production needs the release-manager role');
    expect(requestRowStatusOf(TOPICS.pipelineFailed, event)).toEqual({
      status: 'failed', ...projected(event), errorPid: event.pid, at: new Date(event.occurredAt),
    });
  });

  it('writes a malformed code as the projector does (MALFORMED_REASON_CODE, the code quoted), not accepted', () => {
    const event = refusal('checksum_mismatch', 'copy differs');
    const row = requestRowStatusOf(TOPICS.pipelineFailed, event);
    expect(row).toMatchObject({ status: 'failed', errorCode: MALFORMED_REASON_CODE });
    expect({ errorCode: row.errorCode, errorMessage: row.errorMessage }).toEqual(projected(event));
  });

  it('cuts a message over 64 KiB as the projector does, not accepted', () => {
    const event = refusal('ROLE_REQUIRED', 'm'.repeat(70 * 1024));
    const row = requestRowStatusOf(TOPICS.pipelineFailed, event);
    expect(row.status).toBe('failed');
    expect(Buffer.byteLength(row.errorMessage ?? '', 'utf8')).toBeLessThanOrEqual(ERROR_MESSAGE_MAX_BYTES);
    expect({ errorCode: row.errorCode, errorMessage: row.errorMessage }).toEqual(projected(event));
  });

  it('leaves a command that starts a request accepted', () => {
    expect(requestRowStatusOf(TOPICS.transferRequested, refusal('ROLE_REQUIRED', 'x'))).toMatchObject({ status: 'accepted', errorCode: null });
  });

  it('dates an accepted request by its command, as the projector and its first step do, not by the database\'s clock at the commit (found by a review: it came after its own first step)', () => {
    const command = envelopeFor('uploadRequested', { correlationId: 'req-row', imageUID: 'img-row', actor: { username: 'dev', firstName: null, lastName: null, email: null } }, new Date('2026-12-07T10:00:00.123Z'));
    expect(requestRowStatusOf(TOPICS.uploadRequested, command).at).toEqual(new Date('2026-12-07T10:00:00.123Z'));
  });
});
