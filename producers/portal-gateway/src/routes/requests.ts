import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Caller } from '../auth.js';
import { notFound } from '../errors.js';
import { errors, REQUEST_VIEW } from '../openapi.js';
import type { EventLogReader, RequestRecord, RequestStore } from '../ports.js';
import type { RequestWatch } from '../request-watch.js';

export interface RequestRouteDeps {
  readonly requests: RequestStore;
  readonly events: EventLogReader;
  /** Long polls (`?wait=`); without it the route answers at once. */
  readonly watch?: RequestWatch;
}

/** Longest `?wait=` in seconds: below common proxy idle timeouts (60 s). */
export const MAX_WAIT_SECONDS = 50;

const finished = (record: RequestRecord): boolean => record.status === 'succeeded' || record.status === 'failed';

/**
 * GET /v1/requests/{id}: status from ViewPort, steps from the event log (by
 * correlation id, in order). A caller sees only their own requests; anyone
 * else's answers 404 so request ids cannot be probed. `?wait=<seconds>` holds
 * the answer until the request has finished or the time is up, whichever
 * comes first; the answer has the same shape either way.
 */
export function requestRoutes(deps: RequestRouteDeps) {
  return async function register(app: FastifyInstance, options: { caller: (request: FastifyRequest) => Promise<Caller> }): Promise<void> {
    app.get<{ Params: { id: string }; Querystring: { wait?: number } }>('/v1/requests/:id', {
      schema: {
        operationId: 'getRequest', summary: 'Status and steps of an upload or transfer request',
        tags: ['requests'],
        querystring: {
          type: 'object',
          properties: { wait: { type: 'number', minimum: 0, maximum: MAX_WAIT_SECONDS, description: 'Seconds to wait for the request to finish before answering' } },
          additionalProperties: false,
        },
        response: { 200: { ...REQUEST_VIEW, description: 'The request now, or when it finished within ?wait=' }, ...errors(400, 401, 404) },
      },
    }, async (request, reply) => {
      const caller = await options.caller(request);
      const waitMs = (request.query.wait ?? 0) * 1000;
      const watch = waitMs > 0 ? deps.watch : undefined;
      // Status and steps are read together (someone else's steps are simply dropped); a long poll reads the steps once, when it answers.
      const read = (id: string) => Promise.all([deps.requests.get(id), deps.events.byCorrelationId(id)]);
      let [record, steps] = watch ? [await deps.requests.get(request.params.id), undefined] : await read(request.params.id);
      if (!record || record.owner !== caller.actor.username) throw notFound(`request ${request.params.id}`);
      if (watch && !finished(record)) {
        const gone = new AbortController();
        const abandon = (): void => gone.abort();
        reply.raw.once('close', abandon);
        try {
          await watch.until(record.requestId, waitMs, gone.signal);
          const [latest, latestSteps] = await read(record.requestId);
          record = latest ?? record;
          steps = latestSteps;
        } finally {
          reply.raw.off('close', abandon);
        }
      }
      steps ??= await deps.events.byCorrelationId(record.requestId);
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
