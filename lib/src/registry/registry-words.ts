import { offSurrogatePair, wellFormed } from '../code-point.js';

/**
 * What a registry (or the storage it redirects to) wrote into a refusal,
 * made fit to quote in a message a person reads: the words end up in
 * rejection messages, logs and terminals, so a hostile or broken registry
 * must not be able to put escape sequences or a megabyte there.
 */

/** Past this, a quote is cut: Harbor's policy refusals run to about 350 characters and are worth keeping whole. */
const MAX_QUOTE_CHARS = 500;
/** An error body is a few hundred bytes; what goes past this is not read. */
const MAX_ERROR_BODY_BYTES = 16 * 1024;

/** What an answer said and whether it said it in a known error format (the spec's JSON, S3's XML), not as a page of text. */
export interface Words {
  readonly text: string;
  readonly structured: boolean;
}

/**
 * `text` with its runs of white space (line separators among them) as one
 * space and every other control character (C0, DEL, C1) and bidirectional
 * override written as `\uXXXX`, cut to `max` characters (never inside an emoji).
 */
export function quotable(text: string, max = MAX_QUOTE_CHARS): string {
  // Half a surrogate pair (a registry's JSON may spell "\ud800") as U+FFFD: an event quoting it cannot be encoded (the
  // codec refuses ill-formed text), and the push's REGISTRY_PUSH_REFUSED ended DEAD_LETTERED instead (found by a reread).
  const printable = wellFormed(text).replace(/\s+/g, ' ').trim()
    // eslint-disable-next-line no-control-regex -- these are the characters to escape
    .replace(/[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g, (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`);
  return printable.length <= max ? printable : `${printable.slice(0, offSurrogatePair(printable, max - 1))}…`;
}

const asText = (value: unknown): string => (typeof value === 'string' ? value : value === undefined || value === null ? '' : JSON.stringify(value));

/** One error an answer names: its code (`DENIED`, `invalid_grant`, `AccessDenied`) and message, each '' when it gives none. */
export interface NamedError {
  readonly code: string;
  readonly message: string;
}

/**
 * The OCI distribution spec's `{"errors":[{code,message}]}`, or a token service's OAuth2
 * `{"error","error_description"}`; undefined when the body is neither.
 */
function jsonErrors(body: string): NamedError[] | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return undefined;
  }
  const { errors, error, error_description: description } = (parsed ?? {}) as { errors?: unknown; error?: unknown; error_description?: unknown };
  if (typeof error === 'string') return [{ code: error, message: asText(description) }];
  if (!Array.isArray(errors) || errors.length === 0) return undefined;
  return (errors as ({ code?: unknown; message?: unknown } | null)[]).map((one) => ({ code: asText(one?.code), message: asText(one?.message) }));
}

/** S3's (and GCS's, Azure's) XML error, `<Error><Code>AccessDenied</Code><Message>Request has expired</Message>`; undefined when the body is none. */
function storageError(body: string): NamedError[] | undefined {
  if (!/<Error>/.test(body)) return undefined;
  const code = /<Code>([^<]*)<\/Code>/.exec(body)?.[1] ?? '';
  const message = /<Message>([^<]*)<\/Message>/.exec(body)?.[1] ?? '';
  return code === '' && message === '' ? undefined : [{ code, message }];
}

/**
 * The errors a body names in a known error format (the spec's JSON, OAuth2's, storage's XML); undefined when
 * it is in none (a web page, plain text). The one reading of these formats: quoted whole from the registry
 * itself (wordsIn), by code alone from a place it named (errorCodesIn).
 */
export function errorsIn(body: string): NamedError[] | undefined {
  return jsonErrors(body) ?? storageError(body);
}

const said = ({ code, message }: NamedError): string => [code, message].filter((part) => part !== '').join(': ');

/** A page of text is quoted this far: its start says what it is (a proxy's "403 Forbidden", a login page's title). */
const MAX_TEXT_QUOTE_CHARS = 200;

/** The words of a read body: a known error format, else a web page's title (or its text without the markup), else the text itself. */
export function wordsIn(body: string): Words {
  const known = errorsIn(body);
  if (known !== undefined) return { text: quotable(known.map(said).filter((one) => one !== '').join('; ')), structured: true };
  if (/^\s*</.test(body)) {
    const page = /<title[^>]*>([^<]*)<\/title>/i.exec(body)?.[1] ?? body.replace(/<[^>]*>/g, ' ');
    return { text: quotable(page, MAX_TEXT_QUOTE_CHARS), structured: false };
  }
  return { text: quotable(body, MAX_TEXT_QUOTE_CHARS), structured: false };
}

/**
 * Reads at most MAX_ERROR_BODY_BYTES of an answer's body within `timeoutMs`, cut there (its start says what
 * the error is); empty when there is none or it does not come. The one reader of error bodies, for quotes and codes alike.
 */
export async function errorBody(response: Response, timeoutMs: number): Promise<string> {
  if (!response.body) return '';
  const signal = AbortSignal.timeout(timeoutMs);
  const reader = response.body.getReader();
  const stop = (): void => { reader.cancel(signal.reason).catch(() => undefined); };
  signal.addEventListener('abort', stop, { once: true });
  const chunks: Uint8Array[] = [];
  let length = 0;
  try {
    while (length < MAX_ERROR_BODY_BYTES) {
      const { done, value } = await reader.read();
      if (done || signal.aborted) break;
      chunks.push(value);
      length += value.length;
    }
    if (length >= MAX_ERROR_BODY_BYTES) await reader.cancel().catch(() => undefined);
  } catch {
    // What came before the body broke off is still worth quoting.
  } finally {
    signal.removeEventListener('abort', stop);
  }
  return Buffer.concat(chunks, length).subarray(0, MAX_ERROR_BODY_BYTES).toString('utf8');
}

/** What an answer's body says, read for at most `timeoutMs`. */
export async function wordsOf(response: Response, timeoutMs = 5_000): Promise<Words> {
  return wordsIn(await errorBody(response, timeoutMs));
}

/**
 * The errors a registry wrote into its answer (the spec's `{"errors":[{code,message}]}`,
 * storage's XML `<Error>`, else its text), as `: CODE: message` to end a message;
 * empty when it wrote nothing. Bounded and with control characters escaped.
 */
export async function registrySays(response: Response, timeoutMs = 5_000): Promise<string> {
  const { text } = await wordsOf(response, timeoutMs);
  return text === '' ? '' : `: ${text}`;
}
