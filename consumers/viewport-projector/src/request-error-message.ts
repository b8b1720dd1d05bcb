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
