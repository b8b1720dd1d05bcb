import { readCapped } from './bounded-body.js';
import { RegistryUnavailableError, retryAfterMs } from './registry-errors.js';

/**
 * What a host other than the registry itself (a token service or storage
 * the registry named) said, by its error code alone. The registry chooses
 * those places; were their words quoted, a registry of the user's could
 * name a service inside Orbit's network and read its answer back in the
 * upload's error (found by a review: MinIO's AccessDenied, the schema
 * registry's "Subject not found" and the gateway's own refusal were quoted).
 */

/** An error answer is a few hundred bytes; past this nothing is read. */
const MAX_ERROR_BODY_BYTES = 16 * 1024;
/** An error code as its formats write one (the spec's DENIED, OAuth2's invalid_grant, S3's AccessDenied): a word, never a sentence. */
const CODE = /^[A-Za-z][A-Za-z0-9_.-]{0,63}$/;
const MAX_CODES = 3;

/** The codes a body names: the spec's `{"errors":[{"code"}]}`, OAuth2's `{"error"}`, storage's XML `<Code>`. */
export function errorCodesIn(body: string): string[] {
  const codes: unknown[] = [];
  try {
    const { errors, error } = (JSON.parse(body) ?? {}) as { errors?: unknown; error?: unknown };
    if (Array.isArray(errors)) codes.push(...errors.map((one: unknown) => (one as { code?: unknown } | null)?.code));
    codes.push(error);
  } catch {
    codes.push(/<Error>[\s\S]*?<Code>([^<]*)<\/Code>/.exec(body)?.[1]);
  }
  const words = codes.filter((code): code is string => typeof code === 'string' && CODE.test(code));
  return [...new Set(words)].slice(0, MAX_CODES);
}

/** The error codes of an answer, as `: DENIED` to go after its status; empty when it names none (or does not come within `timeoutMs`). */
export async function errorCodesOf(response: Response, timeoutMs = 5_000): Promise<string> {
  const body = await readCapped(response, MAX_ERROR_BODY_BYTES, AbortSignal.timeout(timeoutMs)).catch(() => null);
  const codes = body === null ? [] : errorCodesIn(body.toString('utf8'));
  return codes.length === 0 ? '' : `: ${codes.join('; ')}`;
}

/** A 5xx or 429 from such a host: an outage, waited out as the registry's own would be, said by its status and code alone. */
export async function unavailableElsewhere(registry: string, response: Response, what: string): Promise<RegistryUnavailableError> {
  const codes = await errorCodesOf(response);
  const limited = response.status === 429 ? { retryAfterMs: retryAfterMs(response.headers.get('retry-after')) } : undefined;
  return new RegistryUnavailableError(registry, new Error(`${what}: HTTP ${response.status}${codes}`), true, limited);
}
