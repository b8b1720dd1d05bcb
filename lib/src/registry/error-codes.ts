import { unavailableAnswer, type RegistryUnavailableError } from './registry-errors.js';
import { errorBody, errorsIn } from './registry-words.js';

/**
 * What a host other than the registry itself (a token service or storage
 * the registry named) said, by its error code alone. The registry chooses
 * those places; were their words quoted, a registry of the user's could
 * name a service inside Orbit's network and read its answer back in the
 * upload's error (found by a review: MinIO's AccessDenied, the schema
 * registry's "Subject not found" and the gateway's own refusal were quoted).
 */

/** An error code as its formats write one (the spec's DENIED, OAuth2's invalid_grant, S3's AccessDenied): a word, never a sentence. */
const CODE = /^[A-Za-z][A-Za-z0-9_.-]{0,63}$/;
const MAX_CODES = 3;

/** The codes a body names: the spec's `{"errors":[{"code"}]}`, OAuth2's `{"error"}`, storage's XML `<Code>`; their messages are dropped. */
export function errorCodesIn(body: string): string[] {
  const words = (errorsIn(body) ?? []).map(({ code }) => code).filter((code) => CODE.test(code));
  return [...new Set(words)].slice(0, MAX_CODES);
}

/** The error codes of an answer, as `: DENIED` to go after its status; empty when it names none (or does not come within `timeoutMs`). */
export async function errorCodesOf(response: Response, timeoutMs = 5_000): Promise<string> {
  const codes = errorCodesIn(await errorBody(response, timeoutMs));
  return codes.length === 0 ? '' : `: ${codes.join('; ')}`;
}

/** A 5xx or 429 from such a host: an outage, waited out as the registry's own would be, said by its status and code alone. */
export function unavailableElsewhere(registry: string, response: Response, what: string): Promise<RegistryUnavailableError> {
  return unavailableAnswer(registry, response, what, errorCodesOf);
}
