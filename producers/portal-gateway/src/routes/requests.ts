import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Caller } from '../auth.js';
import { notFound } from '../errors.js';
import type { EventLogReader, RequestStore } from '../ports.js';

export interface RequestRouteDeps {
  readonly requests: RequestStore;
  readonly events: EventLogReader;
}

/**
 * GET /v1/requests/{id}: status from ViewPort, steps from the event log (by
 * correlation id, in order). A caller sees only their own requests; anyone
 * else's answers 404 so request ids cannot be probed.
 */
export function requestRoutes(deps: RequestRouteDeps) {
  return async function register(app: FastifyInstance, options: { caller: (request: FastifyRequest) => Promise<Caller> }): Promise<void> {
    app.get<{ Params: { id: string } }>('/v1/requests/:id', {
      schema: { summary: 'Status and steps of an upload or transfer request', tags: ['requests'] },
    }, async (request) => {
      const caller = await options.caller(request);
      const record = await deps.requests.get(request.params.id);
      if (!record || record.owner !== caller.actor.username) throw notFound(`request ${request.params.id}`);
      const steps = await deps.events.byCorrelationId(record.requestId);
      return {
        requestId: record.requestId,
        kind: record.kind,
        status: record.status,
        imageUID: record.imageUID,
        imageVersion: record.imageVersion,
        steps: steps.map((step) => ({ pid: step.pid, eventType: step.eventType, at: step.at })),
        ...(record.error ? { error: record.error } : {}),
      };
    });
  };
}
