import type { FastifyInstance, FastifyRequest } from 'fastify';
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

/** Counts one request answered outside Fastify's onResponse (a request the shutdown grace cut), as the status its client heard. */
export type CountAnswer = (request: FastifyRequest, status: number) => void;

/**
 * Requests by route template (never the raw URL: ids would make a series
 * each), method and status, and their duration; plus whether ViewPort is
 * lost, so an operator can alert on the one state that refuses everything.
 */
export function instrumentHttp(app: FastifyInstance, registry: Registry, projectionLost?: () => readonly string[]): CountAnswer {
  const requests = new Counter({ name: 'orbit_http_requests_total', help: 'HTTP requests answered', labelNames: ['method', 'route', 'status'], registers: [registry] });
  const duration = new Histogram({
    name: 'orbit_http_request_duration_seconds', help: 'Time from request to answer (uploads include streaming the image)', labelNames: ['method', 'route'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300], registers: [registry],
  });
  if (projectionLost) {
    new Gauge({
      name: 'orbit_gateway_projection_lost', help: '1 while ViewPort is lost and every request is refused (ORBIT_ERR_PROJECTION_LOST)', registers: [registry],
      collect() { this.set(projectionLost().length > 0 ? 1 : 0); },
    });
  }
  // A URL no route matched has no template; one label for all of them.
  const routeOf = (request: FastifyRequest): string => request.routeOptions.url ?? 'unmatched';
  app.addHook('onResponse', async (request, reply) => {
    requests.inc({ method: request.method, route: routeOf(request), status: String(reply.statusCode) });
    duration.observe({ method: request.method, route: routeOf(request) }, reply.elapsedTime / 1000);
  });
  return (request, status) => { requests.inc({ method: request.method, route: routeOf(request), status: String(status) }); };
}
