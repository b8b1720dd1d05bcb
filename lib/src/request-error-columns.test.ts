import { describe, expect, it } from 'vitest';
import { ERROR_MESSAGE_MAX_BYTES, errorMessageColumnOf, MALFORMED_REASON_CODE, REASON_CODE_PATTERN, requestErrorColumnsOf } from './request-error-columns.js';

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

describe('requestErrorColumnsOf', () => {
  it('keeps a reason code as it is and fits the message to its column', () => {
    expect(requestErrorColumnsOf({ code: 'CHECKSUM_MISMATCH', message: 'copy differs' })).toEqual({ errorCode: 'CHECKSUM_MISMATCH', errorMessage: 'copy differs' });
  });

  it('writes a code that is not one as MALFORMED_REASON_CODE, quoting it before the message', () => {
    expect(requestErrorColumnsOf({ code: 'checksum_mismatch', message: 'copy differs' })).toEqual({
      errorCode: MALFORMED_REASON_CODE,
      errorMessage: `reason code "checksum_mismatch" (17 characters) is not a reason code (${REASON_CODE_PATTERN}); the failure's message: copy differs`,
    });
  });
});
