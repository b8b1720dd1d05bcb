import type { FastifyReply, FastifyRequest } from 'fastify';
import { errorBody, sendError } from './errors.js';

/**
 * Which methods a path takes, from the routes the app registered: a request
 * with another method on a path that exists is a 405 naming them (RFC 9110
 * §15.5.6), not a 404 that reads as "no such thing".
 */
export class RouteMethods {
  private readonly routes: { readonly pattern: RegExp; readonly methods: Set<string> }[] = [];

  /** `url` in Fastify's syntax: `/v1/images/:uid`, `/v1/uploads/:id(^[0-9a-f-]{36}$)`, `/docs/*`. */
  add(methods: string | readonly string[], url: string): void {
    const source = url.split(/(:[A-Za-z0-9_]+(?:\((?:[^()]|\([^()]*\))*\))?|\*)/).map((part) => {
      if (part === '*') return '.*';
      // A parameter with a pattern of its own takes only what matches it, as the router does.
      const constrained = /^:[A-Za-z0-9_]+\((.*)\)$/.exec(part);
      if (constrained) return `(?:${(constrained[1] ?? '').replace(/^\^/, '').replace(/\$$/, '')})`;
      if (part.startsWith(':')) return '[^/]+';
      return part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    }).join('');
    const pattern = new RegExp(`^${source}$`);
    const known = this.routes.find((route) => route.pattern.source === pattern.source);
    const entry = known ?? { pattern, methods: new Set<string>() };
    if (!known) this.routes.push(entry);
    for (const method of typeof methods === 'string' ? [methods] : methods) entry.methods.add(method.toUpperCase());
  }

  /** The methods `path` (no query string) takes, sorted; empty when no route has that path. */
  of(path: string): string[] {
    // The router ignores one trailing slash (app.ts ignoreTrailingSlash): `DELETE /v1/images/` is the 405 of `/v1/images`.
    const forms = path.length > 1 && path.endsWith('/') ? [path, path.slice(0, -1)] : [path];
    const methods = new Set<string>();
    for (const route of this.routes) if (forms.some((form) => route.pattern.test(form))) for (const method of route.methods) methods.add(method);
    return [...methods].sort();
  }

  /** Every method some path takes, sorted. */
  all(): string[] {
    return [...new Set(this.routes.flatMap((route) => [...route.methods]))].sort();
  }
}

/** The answer to a request no route takes: 404, or 405 with `Allow` when the path takes other methods (OPTIONS: 204 with `Allow`). */
export function unroutedAnswer(routes: RouteMethods) {
  return (request: FastifyRequest, reply: FastifyReply): FastifyReply => {
    const path = request.url.split('?')[0] ?? '';
    const allowed = routes.of(path);
    if (allowed.length === 0) return sendError(reply, 404, errorBody('ORBIT_ERR_NOT_FOUND', `no route ${request.method} ${path}`));
    void reply.header('allow', allowed.join(', '));
    if (request.method === 'OPTIONS') return reply.code(204).send();
    return sendError(reply, 405, errorBody('ORBIT_ERR_METHOD_NOT_ALLOWED', `${path} takes ${allowed.join(', ')}, not ${request.method}`));
  };
}
