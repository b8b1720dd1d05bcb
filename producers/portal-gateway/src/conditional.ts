import type { FastifyInstance, FastifyReply } from 'fastify';

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

/** 304 for a GET or HEAD answered 200 whose ETag If-None-Match names; registered after the ETag is set. */
export function answerNotModified(scope: FastifyInstance): void {
  scope.addHook('onSend', async (request, reply, payload) => {
    const etag = reply.getHeader('etag');
    if (!['GET', 'HEAD'].includes(request.method) || reply.statusCode !== 200 || typeof etag !== 'string') return payload;
    if (!noneMatchFails(request.headers['if-none-match'], etag)) return payload;
    void reply.code(304);
    return '';
  });
}
