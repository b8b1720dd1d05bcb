import type { AddressInfo } from 'node:net';
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

export interface HealthServer {
  /** The port it listens on: HEALTH_PORT, or the one the system picked for 0. */
  readonly port: number;
  close(): Promise<void>;
}

/**
 * Builds the health server and listens where HEALTH_HOST and HEALTH_PORT say, taking the config itself so a
 * caller cannot leave the address out and fall back to loopback, where no kubelet or Prometheus reaches it.
 */
export async function serveHealth(
  checks: HealthChecks,
  metrics: Registry,
  config: { readonly HEALTH_HOST: string; readonly HEALTH_PORT: number },
): Promise<HealthServer> {
  const app = buildHealthServer(checks, metrics);
  await app.listen({ host: config.HEALTH_HOST, port: config.HEALTH_PORT });
  return { port: (app.server.address() as AddressInfo).port, close: () => app.close() };
}
