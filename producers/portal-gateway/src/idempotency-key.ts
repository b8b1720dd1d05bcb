import { badRequest } from './errors.js';

/** The header a client names a request with, to send it again safely (IETF draft-ietf-httpapi-idempotency-key-header). */
export const IDEMPOTENCY_KEY_HEADER = 'idempotency-key';

const MAX_KEY_LENGTH = 255;

/** The field a refused key is named by in `problems`, as every other header is (`header.<name>`). */
const KEY_FIELD = `header.${IDEMPOTENCY_KEY_HEADER}`;
const PRINTABLE_ASCII = /^[\x20-\x7e]+$/;

/**
 * What idempotencyKeyOf takes, as one pattern for the OpenAPI document (the
 * route checks in code, for a message a person can read): quoted without
 * `"` or a backslash inside and without a space at either end, or bare
 * printable ASCII that does not both start and end with `"`.
 */
export const IDEMPOTENCY_KEY_PATTERN = '^(?:"[!#-\\[\\]-~](?:[ !#-\\[\\]-~]{0,253}[!#-\\[\\]-~])?"|[!-~]|[!#-~][ -~]{0,253}[!-~]|"[ -~]{0,253}[!#-~])$';

/**
 * The Idempotency-Key header as a route's schema shows it in the API document, saying what the key names there (its
 * form is checked by idempotencyKeyOf, for a message a person can read; the document gets IDEMPOTENCY_KEY_PATTERN).
 */
export function idempotencyKeyHeaderSchema(description: string) {
  // No maxLength: the route's schema ran first, so a key of 258 characters or more got Ajv's "must NOT have more than
  // 257 characters", naming `headers.idempotency-key`, and one of 256 idempotencyKeyOf's 255 (found by a review).
  return { type: 'object', properties: { [IDEMPOTENCY_KEY_HEADER]: { type: 'string', description } } } as const;
}

/**
 * The Idempotency-Key values a request came with, from its raw headers: Node
 * joins two of them into one "A, B", which would read as a single key.
 */
export function idempotencyKeyHeaderOf(rawHeaders: readonly string[]): string | string[] | undefined {
  const values = rawHeaders.filter((_, index) => index % 2 === 1 && rawHeaders[index - 1]?.toLowerCase() === IDEMPOTENCY_KEY_HEADER);
  return values.length > 1 ? values : values[0];
}

/**
 * The Idempotency-Key of a request, or undefined when it has none. The draft
 * makes it a structured-field string (`"8e03978e-…"`); most clients (Stripe's
 * habit) send it bare. Both name the same key. Anything else is refused
 * rather than ignored: a client that sent a key counts on it.
 */
export function idempotencyKeyOf(header: string | string[] | undefined): string | undefined {
  if (header === undefined) return undefined;
  if (Array.isArray(header)) throw badRequest('send one Idempotency-Key header', KEY_FIELD);
  const trimmed = header.trim();
  const quoted = trimmed.length >= 2 && trimmed.startsWith('"') && trimmed.endsWith('"');
  const key = quoted ? trimmed.slice(1, -1) : trimmed;
  // A space at the end of a quoted key is refused, not kept: MySQL compares keys ignoring trailing spaces, so `"k "` would replay the request of `k`.
  if (key.length === 0 || key.length > MAX_KEY_LENGTH || !PRINTABLE_ASCII.test(key) || (quoted && /["\\]/.test(key)) || key.trim() !== key) {
    throw badRequest(`Idempotency-Key must be 1 to ${MAX_KEY_LENGTH} printable ASCII characters without a space at either end (a UUID, say)`, KEY_FIELD);
  }
  return key;
}
