import type { FastifyInstance, FastifyRequest } from 'fastify';
import { abortableSleep, IMAGE_UID_PATTERN, type Logger } from '@orbit/lib';
import type { Caller } from '../auth.js';
import { notFound } from '../errors.js';
import { errors, pathParams, REQUEST_LIST, REQUEST_VIEW } from '../openapi.js';
import { badCursor, cursorOrThrow, encodeCursor, filteredListing, pageQuery } from '../page-cursor.js';
import type { EventLogReader, ImageReader, RequestRecord, RequestStatus, RequestStore, TimelineEntry } from '../ports.js';
import type { TransferPolicy } from '../transfer-rules.js';
import { readableEnvironments, seesRequest, visibleImage, type RequestFacts } from '../read-access.js';
import { isFinished, onceEach, STEP_SETTLE_MS, stepsSettled } from '../request-steps.js';
import type { RequestWatch } from '../request-watch.js';
import { requestLogFields } from '../request-correlation.js';

export interface RequestRouteDeps {
  readonly requests: RequestStore;
  readonly events: EventLogReader;
  /**
   * Who besides its requester reads a request of any kind, an upload's as a promotion's (read-access.ts seesRequest,
   * the rule of an image's events): the image's owner, and a role holder who sees its version (handed a promotion's
   * id when asking for the same one, and shown the version's history in its events). Without it, only the requester.
   */
  readonly requestReaders?: { readonly images: Pick<ImageReader, 'overview' | 'getVersion'>; readonly policy: TransferPolicy };
  /** Long polls (`?wait=`); without it the route answers at once. */
  readonly watch?: RequestWatch;
  /** Where an event log that could not be read is told (the caller only sees `stepsUnavailable`). */
  readonly logger?: Logger;
}

/** Longest `?wait=` in seconds: below common proxy idle timeouts (60 s). */
export const MAX_WAIT_SECONDS = 50;

const REQUESTS_PAGE = { default: 50, max: 200, what: 'Requests' };

/**
 * Pauses between a long poll's looks at the event log while a finished
 * request's last steps are on their way, the last one repeated. Steps mostly
 * trail by milliseconds, so the first looks come soon; one that never comes
 * (a lagging event-logger, a dead-lettered row) read a request's every row
 * each 10 ms for the whole settle time: at 128 KiB of metadata, 100 MB per answer.
 */
export const STEP_LOOKS_MS = [10, 20, 50, 100, 250] as const;

/**
 * GET /v1/requests/{id}: status from ViewPort, steps from the event log (by
 * correlation id, in order). A caller reads the requests the image's events
 * show them (read-access.ts seesRequest): their own, every one about their
 * images, and with a role those about a version the role reads; anyone else's
 * answers 404 so request ids cannot be probed. `?wait=<seconds>` holds
 * the answer until the request has finished or the time is up, whichever
 * comes first; the answer has the same shape either way. A long poll that
 * sees the request finished also gives the event log a moment (up to
 * STEP_SETTLE_MS, within the wait) to hold every step that led to the end, so a portal
 * does not show "succeeded" above a timeline that stops short.
 */
export function requestRoutes(deps: RequestRouteDeps) {
  return async function register(app: FastifyInstance, options: { caller: (request: FastifyRequest) => Promise<Caller> }): Promise<void> {
    app.get<{ Querystring: { kind?: 'upload' | 'transfer'; status?: RequestStatus; imageUID?: string; limit?: number; cursor?: string } }>('/v1/requests', {
      schema: {
        operationId: 'listRequests', summary: 'Your uploads and transfers, newest first, a page at a time', tags: ['requests'],
        querystring: pageQuery(REQUESTS_PAGE, {
          kind: { type: 'string', enum: ['upload', 'transfer'] }, status: { type: 'string', enum: ['accepted', 'running', 'succeeded', 'failed'] },
          imageUID: { type: 'string', pattern: IMAGE_UID_PATTERN, description: 'Only the requests about this image' },
        }),
        response: { 200: REQUEST_LIST, ...errors(400, 401) },
      },
    }, async (request) => {
      const caller = await options.caller(request);
      const { kind, status, imageUID, limit = REQUESTS_PAGE.default, cursor } = request.query;
      const listing = filteredListing('requests', { kind, status, imageUID });
      const after = cursorOrThrow(cursor, listing);
      const createdAt = after ? new Date(after[0]) : undefined;
      if (createdAt && Number.isNaN(createdAt.getTime())) throw badCursor();
      const page = await deps.requests.list({ owner: caller.actor.username, kind, status, imageUID, limit, after: after && createdAt && { createdAt, requestId: after[1] } });
      return {
        requests: page.requests.map((record) => summary(record)),
        nextCursor: page.next ? encodeCursor(listing, [page.next.createdAt.toISOString(), page.next.requestId]) : null,
      };
    });
    app.get<{ Params: { id: string }; Querystring: { wait?: number } }>('/v1/requests/:id', {
      schema: {
        operationId: 'getRequest', summary: 'Status and steps of an upload or transfer request',
        tags: ['requests'], params: pathParams('id'),
        querystring: {
          type: 'object', additionalProperties: false,
          properties: { wait: { type: 'number', minimum: 0, maximum: MAX_WAIT_SECONDS, description: 'Seconds to wait for the request to finish before answering' } },
        },
        response: { 200: { ...REQUEST_VIEW, description: 'The request now, or when it finished within ?wait=' }, ...errors(400, 401, 404) },
      },
    }, async (request, reply) => {
      const caller = await options.caller(request);
      // Request ids are given out in lower case; a UUID is the same in either case (RFC 9562), and the path pattern takes both.
      const id = request.params.id.toLowerCase();
      const waitMs = (request.query.wait ?? 0) * 1000;
      // Timed by the monotonic clock, as RequestWatch is: a wall clock set back during the wait held the answer as long
      // past it (found by a review); one set forward cut it short.
      const deadline = performance.now() + waitMs;
      const watch = waitMs > 0 ? deps.watch : undefined;
      const mine = async <T extends RequestRecord>(record: T | undefined): Promise<T> => {
        if (!record || !(await readsRequest(record, caller, deps.requestReaders))) throw notFound(`request ${id}`);
        return record;
      };
      // The status is ViewPort's: an event log that cannot be read leaves the steps out, not the answer.
      const stepsOf = (requestId: string): Promise<TimelineEntry[] | undefined> => deps.events.byCorrelationId(requestId).catch((error: unknown) => {
        deps.logger?.warn({ err: error, requestId, ...requestLogFields(request) }, 'could not read a request\'s steps from the event log; answered its status without them');
        return undefined;
      });
      if (!watch) {
        // Status and steps read together; someone else's steps are simply dropped.
        const [record, steps] = await Promise.all([deps.requests.get(id), stepsOf(id)]);
        return view(await mine(record), steps);
      }
      let record = await mine(await deps.requests.get(id));
      const gone = new AbortController();
      const abandon = (): void => gone.abort();
      reply.raw.once('close', abandon);
      try {
        if (!isFinished(record)) {
          await watch.until(record.requestId, waitMs, gone.signal);
          record = (await deps.requests.get(record.requestId)) ?? record;
        }
        let steps = await stepsOf(record.requestId);
        const settleBy = Math.min(deadline, performance.now() + STEP_SETTLE_MS);
        for (let look = 0; steps && !stepsSettled(record, steps); look++) {
          // The last look comes at the settle time, not up to a pause before it.
          const pause = Math.min(STEP_LOOKS_MS[Math.min(look, STEP_LOOKS_MS.length - 1)] ?? STEP_LOOKS_MS[0], settleBy - performance.now());
          if (pause < STEP_LOOKS_MS[0] || gone.signal.aborted) break;
          await abortableSleep(pause, gone.signal);
          if (gone.signal.aborted) break;
          const again = await stepsOf(record.requestId);
          // A look that fails ends the wait with the steps read before, as the settle time running out does.
          if (!again) break;
          steps = again;
        }
        return view(record, steps);
      } finally {
        reply.raw.off('close', abandon);
      }
    });
  };
}

/** A request's facts as its record gives them: who asked for it and the version it names. */
function factsOf(record: RequestRecord): RequestFacts {
  return { requester: record.owner, versions: record.imageVersion === null ? [] : [record.imageVersion] };
}

/**
 * Whether `caller` reads `record`: read-access's rule of requests (seesRequest), the one the image's events are shown
 * by, given the image as the caller sees it with the request's version alone.
 */
async function readsRequest(record: RequestRecord, caller: Caller, readers: RequestRouteDeps['requestReaders']): Promise<boolean> {
  const username = caller.actor.username;
  const facts = factsOf(record);
  // Who asked reads it whatever they see of the image: nothing of ViewPort is read for them.
  if (seesRequest(undefined, username, facts)) return true;
  if (readers === undefined) return false;
  // The version alone, as every route about one version reads it; one naming none is the owner's only, so whose image it is will do.
  const found = record.imageVersion === null
    ? await readers.images.overview(record.imageUID, { viewer: username, readable: [], newest: 0 })
    : await readers.images.getVersion(record.imageUID, record.imageVersion);
  return seesRequest(visibleImage(found, username, readableEnvironments(caller.roles, readers.policy)), username, facts);
}

/** `steps` undefined: the event log could not be read, which the answer says instead of passing for a request with no steps. */
function view(record: RequestRecord, steps: readonly TimelineEntry[] | undefined) {
  const { error, ...rest } = summary(record);
  return {
    ...rest, steps: onceEach(steps ?? []).map((step) => ({ pid: step.pid, eventType: step.eventType, at: step.at })),
    ...(steps ? {} : { stepsUnavailable: true }), ...(error ? { error } : {}),
  };
}

/** A request as a listing shows it: everything but its steps. */
function summary(record: RequestRecord) {
  return {
    requestId: record.requestId,
    kind: record.kind,
    status: record.status,
    imageUID: record.imageUID,
    imageVersion: record.imageVersion,
    targetEnvironment: record.targetEnvironment ?? null,
    notes: record.notes ?? null,
    ...(record.createdAt ? { createdAt: record.createdAt.toISOString() } : {}),
    ...(record.updatedAt ? { updatedAt: record.updatedAt.toISOString() } : {}),
    ...(record.error ? { error: record.error } : {}),
  };
}
