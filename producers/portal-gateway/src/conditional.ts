import { Readable } from 'node:stream';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { RequestRefusedError } from './errors.js';

/**
 * `reply`'s Vary with `field` added. A header set outright replaced the
 * `Vary: Origin` CORS puts on answers that differ by origin (several origins
 * listed), and a shared cache then served one portal another's answer.
 */
export function varyOn(reply: FastifyReply, field: string): FastifyReply {
  return reply.header('vary', withVary(reply.getHeader('vary'), field));
}

/** A Vary value naming `field` as well as what `present` names, each once; `*` already names everything. */
export function withVary(present: string | number | readonly string[] | undefined, field: string): string {
  const fields = (Array.isArray(present) ? present.join(',') : String(present ?? '')).split(',').map((name) => name.trim()).filter(Boolean);
  if (fields.includes('*')) return '*';
  return fields.some((name) => name.toLowerCase() === field.toLowerCase()) ? fields.join(', ') : [...fields, field].join(', ');
}

/**
 * Whether If-None-Match names `etag` (weak comparison, RFC 9110 §13.1.2): a list of entity tags, or `*` for any
 * current representation. @fastify/etag compares the header as one string, so a client sending two tags (a cache
 * holding two views) or `*` was sent the whole body again.
 */
export function noneMatchFails(ifNoneMatch: string | undefined, etag: string): boolean {
  if (ifNoneMatch === undefined) return false;
  if (ifNoneMatch.trim() === '*') return true;
  const opaque = (tag: string): string => tag.replace(/^W\//, '');
  const wanted = opaque(etag.trim());
  return (ifNoneMatch.match(/(?:W\/)?"[^"]*"/g) ?? []).some((tag) => opaque(tag) === wanted);
}

/**
 * Whether If-Match names no current representation (strong comparison, RFC 9110 §13.1.1): a weak tag never matches,
 * `*` matches whatever is there. `etag` undefined: the representation is there but has no tag, so only `*` names it.
 */
export function matchFails(ifMatch: string | undefined, etag: string | undefined): boolean {
  if (ifMatch === undefined || ifMatch.trim() === '*') return false;
  if (etag === undefined || etag.startsWith('W/')) return true;
  const wanted = etag.trim();
  return !(ifMatch.match(/(?:W\/)?"[^"]*"/g) ?? []).some((tag) => tag === wanted);
}

/** The status and code of a GET whose If-Match names no current representation (RFC 9110 §15.5.13). */
export const preconditionFailed = (): RequestRefusedError => new RequestRefusedError(412, 'ORBIT_ERR_BAD_REQUEST',
  'If-Match names none of the entity tags this resource has now (compared strongly; * names any): read it again for its ETag, or ask without If-Match',
  [{ field: 'header.if-match', message: 'names no current entity tag' }]);

/**
 * Headers about a body, which a 304 has none of: RFC 9110 §8.6 allows no Content-Length but the 200's, and §15.4.5
 * keeps it to Cache-Control, Content-Location, Date, ETag, Expires and Vary. (Fastify gave `''` Content-Length: 0,
 * and the gzip'd index's 304 said Content-Encoding: gzip.)
 */
const BODY_HEADERS = ['content-length', 'content-type', 'content-encoding', 'content-disposition'] as const;

const isRead = (request: FastifyRequest): boolean => request.method === 'GET' || request.method === 'HEAD';

/**
 * Conditional reads for a scope where @fastify/etag was registered first (it tags every string and Buffer body): a
 * GET or HEAD answered 200 keeps its strong ETag, said with `cacheControl` when the route set none, and answers 412
 * when If-Match names another tag (evaluated first, RFC 9110 §13.2.2), 304 when If-None-Match names it. Every other
 * answer loses the tag: an error's body is no representation of the resource (a 401 and a 404 carried one), a
 * write's is not either, and an answer not to be stored (presigned URLs, `no-store`) is not to be revalidated.
 */
export function conditionalReads(scope: FastifyInstance, cacheControl?: string): void {
  scope.addHook('onSend', async (request, reply, payload) => {
    const etag = reply.getHeader('etag');
    const tagged = isRead(request) && (reply.statusCode === 200 || reply.statusCode === 304) && typeof etag === 'string' && !storedNowhere(reply);
    if (!tagged) reply.removeHeader('etag');
    if (tagged && reply.statusCode === 200) {
      if (cacheControl !== undefined && !reply.hasHeader('cache-control')) reply.header('cache-control', cacheControl);
      if (matchFails(request.headers['if-match'], etag)) {
        // The error handler answers it, on these headers: none of the body refused may stay.
        for (const name of ['etag', ...BODY_HEADERS]) reply.removeHeader(name);
        throw preconditionFailed();
      }
      if (noneMatchFails(request.headers['if-none-match'], etag)) void reply.code(304);
    }
    return reply.statusCode === 304 ? notModified(request, reply, payload) : payload;
  });
}

const storedNowhere = (reply: FastifyReply): boolean => /(^|,)\s*no-store\s*(,|$)/i.test(String(reply.getHeader('cache-control') ?? ''));

/**
 * A 304's payload: none, and none of the body's headers. A stream the route opened is closed unread. A HEAD's is an
 * empty stream, not null: Fastify's HEAD handling runs after this hook, sizes a string or Buffer as Content-Length,
 * and cannot take null; a stream it drains without sizing.
 */
function notModified(request: FastifyRequest, reply: FastifyReply, payload: unknown): Readable | null {
  if (payload instanceof Readable) payload.destroy();
  for (const name of BODY_HEADERS) reply.removeHeader(name);
  return request.method === 'HEAD' ? Readable.from([]) : null;
}
