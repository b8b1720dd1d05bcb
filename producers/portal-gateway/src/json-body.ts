import type { FastifyInstance, FastifyRequest } from 'fastify';
import { badRequest, RequestRefusedError } from './errors.js';

/**
 * Why a JSON body was refused, in words that help: Fastify's own parser says
 * "Body is not valid JSON" both for broken JSON and for valid JSON that
 * holds a prototype-poisoning key, which it refuses on purpose.
 */
export function jsonRefusal(text: string): string {
  if (text.trim() === '') return 'the body is empty; send a JSON object';
  try {
    JSON.parse(text);
  } catch (error) {
    return `the body is not valid JSON: ${error instanceof Error ? error.message : String(error)}`;
  }
  return 'the body holds a "__proto__" key or "constructor" with "prototype", which are refused (prototype poisoning)';
}

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The body is optional: an empty `application/json` body is no body, as generated clients send one when none is given. */
    optionalJsonBody?: boolean;
  }
}

/** Route config of an operation whose body is optional. */
export const OPTIONAL_JSON_BODY = { optionalJsonBody: true };

/** RFC 6839 structured syntax: `application/vnd.api+json`, `application/merge-patch+json`, … are JSON too. */
const JSON_SUFFIXED = /^application\/[a-z0-9!#$&^_.-]+\+json$/i;

/**
 * The charset a JSON body declares, when it is not UTF-8: RFC 8259 §8.1 has JSON exchanged between systems in UTF-8
 * (application/json defines no charset parameter), and a UTF-16 body read as UTF-8 is refused as broken JSON, in mojibake.
 */
export function otherCharset(contentType: string | undefined): string | undefined {
  const charset = /;\s*charset\s*=\s*"?([^";\s]+)"?/i.exec(contentType ?? '')?.[1];
  return charset === undefined || /^utf-?8$/i.test(charset) ? undefined : charset;
}

/**
 * Decodes UTF-8 and throws on any byte sequence that is not UTF-8. A leading BOM is kept: the JSON readers after it
 * skip one (RFC 8259 §8.1 lets a reader ignore it), as they did before; dropped here as well, a second was lost too.
 */
const STRICT_UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * What is wrong with bytes sent as UTF-8 text, or undefined: Buffer#toString and `parseAs: 'string'` turn a stray
 * byte (FF, an overlong C0 AF, a surrogate's ED A0 BD, a sequence cut short) into U+FFFD, so the text stored was not
 * the one sent, where the same surrogate spelt as a JSON escape is refused (found by a review).
 */
export function notUtf8(bytes: Uint8Array): string | undefined {
  try {
    STRICT_UTF8.decode(bytes);
    return undefined;
  } catch {
    const at = firstInvalidByte(bytes);
    return `is not UTF-8 text: the byte${at.length > 1 ? 's' : ''} ${at.hex} at offset ${at.offset} do${at.length > 1 ? '' : 'es'} not form a UTF-8 character (no store can keep it as it was sent); send the text encoded in UTF-8`;
  }
}

/** The text of UTF-8 bytes, a leading BOM kept; throws (TypeError) when they are not UTF-8. */
export function strictUtf8(bytes: Uint8Array): string {
  return STRICT_UTF8.decode(bytes);
}

/** Where the first ill-formed sequence of `bytes` begins, and up to 4 of its bytes, to name in a refusal. */
function firstInvalidByte(bytes: Uint8Array): { offset: number; hex: string; length: number } {
  // Decoded prefix by prefix would be quadratic; Buffer's lossy decoder marks the first bad sequence with U+FFFD,
  // and the bytes before it re-encode to the same length (they are valid UTF-8, or a real U+FFFD sent, both 3 bytes).
  const lossy = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8');
  let offset = 0;
  for (const character of lossy) {
    const width = Buffer.byteLength(character);
    if (character === '\ufffd' && !isEncodedReplacement(bytes, offset)) break;
    offset += width;
  }
  const end = Math.min(bytes.length, offset + 4);
  let length = 1;
  while (offset + length < end && (bytes[offset + length] ?? 0) >= 0x80 && (bytes[offset + length] ?? 0) < 0xc0) length += 1;
  const hex = Array.from(bytes.subarray(offset, offset + length), (byte) => byte.toString(16).toUpperCase().padStart(2, '0')).join(' ');
  return { offset, hex, length };
}

/** True when U+FFFD itself (EF BF BD) was sent at `offset`. */
function isEncodedReplacement(bytes: Uint8Array, offset: number): boolean {
  return bytes[offset] === 0xef && bytes[offset + 1] === 0xbf && bytes[offset + 2] === 0xbd;
}

/** Fastify's JSON parser (prototype-poisoning keys refused), with a refusal that says which of its reasons it was. */
export function parseJsonWithReasons(app: FastifyInstance): void {
  const secureJson = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  const parser = (request: FastifyRequest, body: string | Buffer, done: (error: Error | null, value?: unknown) => void): void => {
    const charset = otherCharset(request.headers['content-type']);
    if (charset !== undefined) {
      return done(new RequestRefusedError(415, 'ORBIT_ERR_BAD_REQUEST', `a JSON body in charset ${charset} is not read here: send it in UTF-8 (RFC 8259), with charset=utf-8 or none`), undefined);
    }
    const bytes = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
    const undecodable = notUtf8(bytes);
    if (undecodable !== undefined) return done(badRequest(`the body ${undecodable}`, 'body'), undefined);
    const text = strictUtf8(bytes);
    if (text.trim() === '' && request.routeOptions.config.optionalJsonBody === true) return done(null, undefined);
    secureJson(request, text, (error, value) => (error ? done(badRequest(jsonRefusal(text), 'body'), undefined) : done(null, value)));
  };
  // As bytes: `parseAs: 'string'` decodes them lossily before the parser could refuse what is not UTF-8.
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, parser);
  app.addContentTypeParser(JSON_SUFFIXED, { parseAs: 'buffer' }, parser);
}
