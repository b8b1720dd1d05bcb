import type { FastifyInstance } from 'fastify';
import { badRequest } from './errors.js';

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

/** Fastify's JSON parser (prototype-poisoning keys refused), with a refusal that says which of its reasons it was. */
export function parseJsonWithReasons(app: FastifyInstance): void {
  const secureJson = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    const text = typeof body === 'string' ? body : body.toString('utf8');
    if (text.trim() === '' && request.routeOptions.config.optionalJsonBody === true) return done(null, undefined);
    secureJson(request, text, (error, value) => (error ? done(badRequest(jsonRefusal(text), 'body'), undefined) : done(null, value)));
  });
}
