import Fastify, { type FastifyInstance } from 'fastify';
import type { Registry } from 'prom-client';

export interface GatewayDeps {
  /** True when Kafka and the registry answer; the gateway cannot accept work otherwise. */
  readonly ready: () => Promise<boolean>;
  readonly metrics: Registry;
}

/** The HTTP application, without listening: route tests use `app.inject()`. */
export function buildApp(deps: GatewayDeps): FastifyInstance {
  const app = Fastify({ logger: false, disableRequestLogging: true });
  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async (_request, reply) => {
    const ready = await deps.ready();
    return reply.code(ready ? 200 : 503).send({ status: ready ? 'ready' : 'not-ready' });
  });
  app.get('/metrics', async (_request, reply) => reply.type(deps.metrics.contentType).send(await deps.metrics.metrics()));
  return app;
}
