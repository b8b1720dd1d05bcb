import { describe, expect, it } from 'vitest';
import { newImageUID, TOPICS } from '@orbit/lib';
import { sampleEvents } from '@orbit/schemas';
import { planProjection } from './plan.js';
import { ERROR_MESSAGE_MAX_BYTES, errorMessageColumnOf } from './request-error-message.js';

describe('errorMessageColumnOf', () => {
  it('keeps a message that fits viewport_requests.error_message as it is', () => {
    expect(errorMessageColumnOf('registry refused the push')).toBe('registry refused the push');
    expect(errorMessageColumnOf('x'.repeat(ERROR_MESSAGE_MAX_BYTES))).toHaveLength(ERROR_MESSAGE_MAX_BYTES);
  });

  it('cuts a longer one to the column at a character boundary and says how long it was', () => {
    // 4-byte characters, so a cut by bytes would split one.
    const message = '\u{1F600}'.repeat(20_000);
    const kept = errorMessageColumnOf(message);
    expect(Buffer.byteLength(kept, 'utf8')).toBeLessThanOrEqual(ERROR_MESSAGE_MAX_BYTES);
    expect(kept).toMatch(/^(\u{1F600})+ … \(cut: 80000 bytes in all; the event holds it whole\)$/u);
  });
});

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
