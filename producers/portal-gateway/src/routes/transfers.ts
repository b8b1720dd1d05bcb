import { randomUUID } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { envelopeFor, parseEnvironmentName, pidOf, startTrace, type Actor, type Logger, type TraceContext } from '@orbit/lib';
import type { PipelineFailed, TransferRequested } from '@orbit/schemas';
import type { Caller } from '../auth.js';
import { errors, pathParams, TRANSFER_ANSWER, TRANSFER_DRY_RUN_ANSWER } from '../openapi.js';
import type { AcceptedRequest, HeldRequest, ImageReader, RequestStore } from '../ports.js';
import { decideTransfer, sourceOf, type TransferDecision, type TransferPolicy } from '../transfer-rules.js';
import { uploadUnderWay } from '../upload-under-way.js';

/** The request that holds a promotion, and its status (null: not projected yet). */
export type HeldTransfer = Pick<HeldRequest, 'requestId' | 'status'>;

/** Who is promoting an (image, version) into an environment: one request at a time. */
export interface TransferClaims {
  /**
   * Claims the promotion into `target` for `request`. When the claim is ours,
   * the request and its command are recorded with it, all or nothing (then
   * published). Answers the request that holds it: ours, or the one already
   * under way or done.
   */
  claim(target: string, request: AcceptedRequest, command: TransferRequested, trace: TraceContext): Promise<HeldTransfer>;
  /** The request that promoted (or is promoting) it, if any. */
  find(imageUID: string, imageVersion: string, target: string): Promise<HeldTransfer | undefined>;
}

/** As CommandPublisher: the request row and its refusal are committed together. */
export interface TransferPublisher {
  transferRefused(event: PipelineFailed, trace: TraceContext, request: AcceptedRequest): Promise<void>;
}

export interface TransferRouteDeps {
  readonly images: ImageReader;
  /** The caller's uploads, to tell a version still being uploaded from one that does not exist. */
  readonly requests: Pick<RequestStore, 'list'>;
  readonly claims: TransferClaims;
  readonly publish: TransferPublisher;
  readonly policy: TransferPolicy;
  statusUrl(requestId: string): string;
  /** Where refusals are logged, as every other route's are ('request refused'). */
  readonly logger?: Logger | undefined;
}

interface TransferBody {
  readonly imageVersion: string;
  readonly transferEnvironment: string;
  readonly notes?: string | null;
  readonly dryRun?: boolean;
}

/**
 * A dry run's answer: what the same request would do now (Artifactory's
 * promotion `dryRun`), for a pipeline to check a promotion before it asks.
 */
async function dryRunAnswer(
  decision: Exclude<TransferDecision, { kind: 'refused' }>, imageUID: string, imageVersion: string, claims: TransferClaims,
): Promise<Record<string, unknown>> {
  const held = await claims.find(imageUID, imageVersion, decision.target);
  const underWay = decision.kind === 'transfer' && held !== undefined && held.status !== 'failed';
  return {
    dryRun: true, outcome: decision.kind === 'done' ? 'done' : underWay ? 'under-way' : 'allowed', imageUID, imageVersion,
    sourceEnvironment: decision.kind === 'transfer' ? decision.source : null, targetEnvironment: decision.target,
    requestId: decision.kind === 'done' || underWay ? held?.requestId ?? null : null,
  };
}

/**
 * POST /v1/images/{uid}/transfers: promotes one version one step along the
 * environment chain. Refusals answer 4xx with a code and are also recorded as
 * a failed request (the c8bms18-c20bre24-911 row of the error log); a
 * promotion already done answers 200 with its request; concurrent requests
 * share one.
 */
export function transferRoutes(deps: TransferRouteDeps) {
  return async function register(app: FastifyInstance, options: { caller: (request: FastifyRequest) => Promise<Caller> }): Promise<void> {
    app.post<{ Params: { uid: string }; Body: TransferBody }>('/v1/images/:uid/transfers', {
      schema: {
        operationId: 'transferImage', summary: 'Promote an image version to the next environment', tags: ['transfers'],
        params: pathParams('uid'),
        body: {
          type: 'object', required: ['imageVersion', 'transferEnvironment'], additionalProperties: false,
          properties: {
            imageVersion: { type: 'string', minLength: 1, maxLength: 128 }, transferEnvironment: { type: 'string', minLength: 1, maxLength: 32, description: 'The next environment of the chain (default Testing, Staging, Production), any letter case; another is refused 400 UNKNOWN_ENVIRONMENT and recorded as a failed request' }, notes: { type: 'string', nullable: true, maxLength: 4096 },
            dryRun: { type: 'boolean', nullable: true, description: 'Only answer what the request would do: the same refusals, or 200 with its outcome; nothing is recorded or started' },
          },
        },
        response: {
          200: { anyOf: [TRANSFER_ANSWER, TRANSFER_DRY_RUN_ANSWER], description: 'Already done: the earlier request, no work repeated; or the answer to a dry run' },
          202: { ...TRANSFER_ANSWER, description: 'Accepted, or already under way (concurrent requests share one)' },
          ...errors(400, 401, 403, 404, 409),
        },
      },
    }, async (request, reply) => {
      const caller = await options.caller(request);
      const actor: Actor = caller.actor;
      const image = await deps.images.get(request.params.uid);
      const who = { username: actor.username, roles: caller.roles };
      let decision = decideTransfer(image, who, request.body, deps.policy);
      if (decision.kind === 'refused' && decision.status === 404) {
        // Only on the way to a 404: the one answer an upload still under way would change.
        const uploading = await uploadUnderWay(deps.requests, actor.username, request.params.uid, request.body.imageVersion);
        if (uploading) decision = decideTransfer(image, who, request.body, deps.policy, uploading);
      }
      if (decision.kind === 'refused' && (decision.code === 'SKIPS_ENVIRONMENT' || decision.code === 'NOT_IN_SOURCE_ENVIRONMENT')) {
        // Only on the way to those 409s: a promotion into the source still under way turns them into "not yet, follow it".
        const source = sourceOf(request.body.transferEnvironment, deps.policy);
        const held = source === undefined ? undefined : await deps.claims.find(request.params.uid, request.body.imageVersion, source);
        if (source !== undefined && held !== undefined && held.status !== 'succeeded' && held.status !== 'failed') {
          decision = decideTransfer(image, who, request.body, deps.policy, undefined, { requestId: held.requestId, environment: source });
        }
      }
      const requestId = randomUUID();
      const trace = startTrace();
      const context = { correlationId: requestId, imageUID: request.params.uid, actor };
      // A refused request keeps the target it asked for too, when that names an environment: a list of failed requests shows what was tried.
      const asked = parseEnvironmentName(request.body.transferEnvironment);
      const target = decision.kind === 'refused' ? (asked && deps.policy.chain.includes(asked) ? asked : undefined) : decision.target;
      const accepted: AcceptedRequest = {
        requestId, kind: 'transfer', imageUID: request.params.uid, imageVersion: request.body.imageVersion, owner: actor.username, notes: request.body.notes ?? null,
        ...(target ? { targetEnvironment: target } : {}),
      };

      if (request.body.dryRun === true) {
        if (decision.kind === 'refused') return reply.code(decision.status).send({ code: decision.code, message: decision.message });
        return reply.code(200).send(await dryRunAnswer(decision, request.params.uid, request.body.imageVersion, deps.claims));
      }
      if (decision.kind === 'refused') {
        // Logged as every route's refusals are: an operator sees a 404 here too, though it leaves no error-log row.
        deps.logger?.info({
          status: decision.status, code: decision.code, method: request.method, url: request.url, reason: decision.message,
          imageUID: request.params.uid, user: actor.username, ...(decision.status === 404 && decision.code !== 'VERSION_NOT_FOUND' ? {} : { correlationId: requestId }),
        }, 'request refused');
        // An unknown or foreign image leaves no record under its UID: nothing to log against, and no request id to hand out.
        if (decision.status === 404 && decision.code !== 'VERSION_NOT_FOUND') return reply.code(404).send({ code: decision.code, message: decision.message });
        await deps.publish.transferRefused({
          ...envelopeFor('transferFailed', context), requestId, flow: 'transfer', stage: 'request', reasonCode: decision.code, message: decision.message, failedEventId: null,
          imageVersion: request.body.imageVersion, targetEnvironment: target ?? null,
        }, trace, accepted);
        return reply.code(decision.status).send({ code: decision.code, message: decision.message, requestId });
      }
      const answer = (held: HeldTransfer, done: boolean) => reply.code(done ? 200 : 202).send({
        requestId: held.requestId, pid: pidOf('transferRequested'), status: done ? 'succeeded' : held.status ?? 'accepted', statusUrl: deps.statusUrl(held.requestId),
      });
      if (decision.kind === 'done') {
        const earlier = await deps.claims.find(request.params.uid, request.body.imageVersion, decision.target);
        // Present in the target without a recorded transfer (promoted before claims were kept): nothing to do, nothing to point at.
        return earlier ? answer(earlier, true) : reply.code(200).send({ requestId: null, pid: pidOf('transferRequested'), status: 'succeeded', statusUrl: null });
      }
      const command: TransferRequested = {
        ...envelopeFor('transferRequested', context), requestId, imageVersion: request.body.imageVersion,
        sourceEnvironment: decision.source, targetEnvironment: decision.target, notes: request.body.notes ?? null,
      };
      const held = await deps.claims.claim(decision.target, accepted, command, trace);
      if (held.requestId !== requestId) return answer(held, held.status === 'succeeded');
      return reply.code(202).send({ requestId, pid: pidOf('transferRequested'), status: 'accepted', statusUrl: deps.statusUrl(requestId) });
    });
  };
}
