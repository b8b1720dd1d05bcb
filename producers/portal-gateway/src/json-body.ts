import type { FastifyInstance, FastifyRequest } from 'fastify';
import { badRequest, RequestRefusedError } from './errors.js';
import { utf8TextOf } from './utf8-text.js';

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
    const decoded = utf8TextOf(bytes);
    if ('problem' in decoded) return done(badRequest(`the body ${decoded.problem}`, 'body'), undefined);
    const { text } = decoded;
    if (text.trim() === '' && request.routeOptions.config.optionalJsonBody === true) return done(null, undefined);
    secureJson(request, text, (error, value) => (error ? done(badRequest(jsonRefusal(text), 'body'), undefined) : done(null, value)));
  };
  // As bytes: `parseAs: 'string'` decodes them lossily before the parser could refuse what is not UTF-8.
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, parser);
  app.addContentTypeParser(JSON_SUFFIXED, { parseAs: 'buffer' }, parser);
}
