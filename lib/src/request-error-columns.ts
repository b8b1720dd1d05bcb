/**
 * How a failure's reason code and message are written to viewport_requests:
 * one definition for the viewport-projector, which writes them from a failure
 * event, and the gateway, which writes a refusal's row failed from the start
 * and must write what the projector would, column for column.
 */

/** viewport_requests.error_message is TEXT (migration 0001): 65,535 bytes, utf8mb4. */
export const ERROR_MESSAGE_MAX_BYTES = 65_535;

/**
 * `message` as viewport_requests.error_message holds it: whole when it fits,
 * else cut at a character boundary and ended by a note of its full size. The
 * schema takes any length, and a 1 MB message from a foreign producer failed
 * the write with a raw ER_DATA_TOO_LONG and dead-lettered the event, so the
 * request never showed its failure (found by a review). The event itself, on
 * its topic and in the event log, keeps the message whole.
 */
export function errorMessageColumnOf(message: string): string {
  const bytes = Buffer.byteLength(message, 'utf8');
  if (bytes <= ERROR_MESSAGE_MAX_BYTES) return message;
  const note = ` … (cut: ${bytes} bytes in all; the event holds it whole)`;
  const room = ERROR_MESSAGE_MAX_BYTES - Buffer.byteLength(note, 'utf8');
  let kept = '';
  let keptBytes = 0;
  // By code point, so no surrogate pair or multi-byte character is split.
  for (const character of message) {
    const size = Buffer.byteLength(character, 'utf8');
    if (keptBytes + size > room) break;
    kept += character;
    keptBytes += size;
  }
  return `${kept}${note}`;
}

/**
 * What a reason code looks like: every code Orbit fails a request with
 * (docs/errors.md) is upper-case letters, digits and `_`, and
 * viewport_requests.error_code (migration 0001) holds 64 characters.
 */
export const REASON_CODE_PATTERN = '^[A-Z][A-Z0-9_]{0,63}$';

/** The code a request fails with when its failure event's reasonCode is not one (REASON_CODE_PATTERN). */
export const MALFORMED_REASON_CODE = 'MALFORMED_REASON_CODE';

const reasonCodeForm = new RegExp(REASON_CODE_PATTERN);

/** viewport_requests.error_code and error_message of a failed request. */
export interface RequestErrorColumns {
  readonly errorCode: string;
  readonly errorMessage: string;
}

/**
 * A failure's code and message as viewport_requests holds them. The schema
 * takes any string as reasonCode, so a producer outside Orbit can write one
 * of 10 000 characters: its write failed with a raw ER_DATA_TOO_LONG, the
 * event was dead-lettered, and as a failure is never answered with another
 * failure the request stayed `running` for ever (found by a review). An empty
 * code left the request failed with no error at all (the gateway reads an
 * empty error_code as none), and control characters went into the column as
 * they were. Such a code is not dropped: the request fails with
 * MALFORMED_REASON_CODE and the message starts with the code, quoted with its
 * control characters escaped. Not refused by envelopeProblem as a malformed
 * imageUID is: that check is of the fields saying which request, image, step
 * and time an event is, and a refused failure would again be dead-lettered
 * with no failure told.
 */
export function requestErrorColumnsOf(failure: { readonly code: string; readonly message: string }): RequestErrorColumns {
  if (reasonCodeForm.test(failure.code)) return { errorCode: failure.code, errorMessage: errorMessageColumnOf(failure.message) };
  const said = `reason code ${JSON.stringify(failure.code)} (${[...failure.code].length} characters) is not a reason code (${REASON_CODE_PATTERN})`;
  return { errorCode: MALFORMED_REASON_CODE, errorMessage: errorMessageColumnOf(`${said}; the failure's message: ${failure.message}`) };
}
