import { describe, expect, it } from 'vitest';
import { ERROR_MESSAGE_MAX_BYTES, MALFORMED_REASON_CODE, newImageUID, REASON_CODE_PATTERN, TOPICS } from '@orbit/lib';
import { sampleEvents } from '@orbit/schemas';
import { planProjection } from './plan.js';

describe('a failed request\'s error message', () => {
  it('is planned to fit its column, so a 1 MB message fails the request instead of dead-lettering the event with ER_DATA_TOO_LONG (found by a review)', () => {
    const uid = newImageUID();
    const failed = { ...sampleEvents(uid, 'req-long')[TOPICS.pipelineFailed], message: 'm'.repeat(1024 * 1024) };
    const { plan } = planProjection([{ topic: TOPICS.pipelineFailed, event: failed }], new Map());
    const request = plan.requests.get('req-long');
    expect(request?.status).toBe('failed');
    expect(Buffer.byteLength(request?.errorMessage ?? '', 'utf8')).toBeLessThanOrEqual(ERROR_MESSAGE_MAX_BYTES);
    expect(request?.errorMessage).toMatch(/^m+ … \(cut: 1048576 bytes in all; the event holds it whole\)$/);
  });
});

describe('a failed request\'s reason code', () => {
  const planned = (topic: typeof TOPICS.pipelineFailed | typeof TOPICS.imageRejected, reasonCode: string, message = 'copy differs') => {
    const event = { ...sampleEvents(newImageUID(), 'req-code')[topic], reasonCode, message };
    return planProjection([{ topic, event }], new Map()).plan.requests.get('req-code');
  };

  it('is kept whole when it is one: upper-case letters, digits and _, up to the 64 characters of error_code', () => {
    expect(planned(TOPICS.pipelineFailed, 'CHECKSUM_MISMATCH')).toMatchObject({ status: 'failed', errorCode: 'CHECKSUM_MISMATCH', errorMessage: 'copy differs' });
    expect(planned(TOPICS.imageRejected, `C${'_9'.repeat(31)}X`)).toMatchObject({ errorCode: `C${'_9'.repeat(31)}X`, errorMessage: 'copy differs' });
  });

  it('fails the request MALFORMED_REASON_CODE when it is not one, quoting it whole and escaped before the message, instead of an ER_DATA_TOO_LONG that left the request running (found by a review)', () => {
    for (const topic of [TOPICS.pipelineFailed, TOPICS.imageRejected] as const) {
      expect(planned(topic, 'A'.repeat(65))).toEqual(expect.objectContaining({
        status: 'failed', errorCode: MALFORMED_REASON_CODE,
        errorMessage: `reason code "${'A'.repeat(65)}" (65 characters) is not a reason code (${REASON_CODE_PATTERN}); the failure's message: copy differs`,
      }));
      expect(planned(topic, 'B'.repeat(10_000))?.errorMessage).toContain(`"${'B'.repeat(10_000)}" (10000 characters)`);
    }
    expect(planned(TOPICS.pipelineFailed, 'BAD\u0000\n\u0007CODE')).toMatchObject({ errorCode: MALFORMED_REASON_CODE });
    expect(planned(TOPICS.pipelineFailed, 'BAD\u0000\n\u0007CODE')?.errorMessage).toMatch(/^reason code "BAD\\u0000\\n\\u0007CODE" \(10 characters\)/);
    expect(planned(TOPICS.pipelineFailed, 'ÜBERGRÖSSE')?.errorCode).toBe(MALFORMED_REASON_CODE);
    expect(planned(TOPICS.pipelineFailed, 'checksum_mismatch')?.errorCode).toBe(MALFORMED_REASON_CODE);
    // An empty code failed the request with no error the gateway would show.
    expect(planned(TOPICS.pipelineFailed, '')).toMatchObject({ errorCode: MALFORMED_REASON_CODE, errorMessage: `reason code "" (0 characters) is not a reason code (${REASON_CODE_PATTERN}); the failure's message: copy differs` });
  });

  it('still fits error_message when both the code and the message are huge', () => {
    const request = planned(TOPICS.pipelineFailed, '\u{1F600}'.repeat(50_000), 'm'.repeat(1024 * 1024));
    expect(request?.errorCode).toBe(MALFORMED_REASON_CODE);
    expect(Buffer.byteLength(request?.errorMessage ?? '', 'utf8')).toBeLessThanOrEqual(ERROR_MESSAGE_MAX_BYTES);
    expect(request?.errorMessage).toMatch(/^reason code "(\u{1F600})+ … \(cut: \d+ bytes in all; the event holds it whole\)$/u);
  });
});
