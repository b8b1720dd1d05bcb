import Fastify, { type FastifyInstance } from 'fastify';
import type { Registry } from 'prom-client';

export interface HealthChecks {
  /** Readiness: every dependency answers and the service can do its work. */
  readonly ready: () => boolean | Promise<boolean>;
}

/**
 * /healthz (alive: the process answers), /readyz (ready: consuming, stores
 * reachable) and /metrics for consumers, which have no other HTTP surface.
 */
export function buildHealthServer(checks: HealthChecks, metrics: Registry): FastifyInstance {
  const app = Fastify({ logger: false });
  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async (_request, reply) => {
    const ready = await checks.ready();
    return reply.code(ready ? 200 : 503).send({ status: ready ? 'ready' : 'not-ready' });
  });
  app.get('/metrics', async (_request, reply) => reply.type(metrics.contentType).send(await metrics.metrics()));
  return app;
}
