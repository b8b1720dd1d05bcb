import { randomUUID } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { controlCharacterProblem, envelopeFor, IMAGE_VERSION_PATTERN, type EnvironmentName, parseEnvironmentName, pidOf, type Actor, type Logger, type TraceContext } from '@orbit/lib';
import type { PipelineFailed, TransferRequested } from '@orbit/schemas';
import type { Caller } from '../auth.js';
import { badRequest, errorBody, RequestRefusedError, sendError } from '../errors.js';
import { idempotencyKeyHeaderOf, idempotencyKeyHeaderSchema, idempotencyKeyOf } from '../idempotency-key.js';
import { ERROR_BODY, errors, pathParams, TRANSFER_ANSWER, TRANSFER_OUTCOME } from '../openapi.js';
import { TransferKeyTaken, type AcceptedRequest, type HeldRequest, type ImageReader, type ImageView, type KeyedTransfer, type RequestStore, type TransferAsked, type TransferKey } from '../ports.js';
import { loggedUrl, requestLogFields, traceOf } from '../request-correlation.js';
import { decideTransfer, differingAsk, promotionAwaited, sourceOf, type PromotionUnderWay, type TransferDecision, type TransferPolicy } from '../transfer-rules.js';
import { acceptedAt } from '../accepted-at.js';
import { uploadUnderWay } from '../upload-under-way.js';
import { readableEnvironments } from '../read-access.js';

/** The request that holds a promotion, and its status (null: not projected yet). */
export type HeldTransfer = Pick<HeldRequest, 'requestId' | 'status'>;

/** What a claim answers: the request that holds the promotion, and whether the key sent with it named that request already. */
export interface ClaimedTransfer extends HeldTransfer {
  /**
   * True when the Idempotency-Key given to claim was bound, live and with the same ask, before this call bound it: a
   * repeat sent concurrently with the call that started the transfer, found after findKey was read.
   */
  readonly keyNamedItBefore?: boolean;
}

/** Who is promoting an (image, version) into an environment: one request at a time. */
export interface TransferClaims {
  /**
   * Claims the promotion into `target` for `request`. When the claim is ours,
   * the request and its command are recorded with it, all or nothing (then
   * published). Answers the request that holds it: ours, or the one already
   * under way or done. With `key`, binds it in the same unit (see findKey).
   */
  claim(target: string, request: AcceptedRequest, command: TransferRequested, trace: TraceContext, key?: TransferKey): Promise<ClaimedTransfer>;
  /** The request that promoted (or is promoting) it, if any. */
  find(imageUID: string, imageVersion: string, target: string): Promise<HeldTransfer | undefined>;
  /**
   * The transfer a caller's Idempotency-Key names while it is live, and what it was sent with. Without it keys are
   * checked for form only (and `key` is not given to claim); with it, claim binds `key` to the request that holds the
   * claim, all or nothing, and throws TransferKeyTaken when the key names a live request sent with another ask.
   */
  findKey?(owner: string, key: string): Promise<KeyedTransfer | undefined>;
  /** Binds `key` to `requestId` as claim does, without a claim: a promotion found done. */
  bindKey?(key: TransferKey, requestId: string): Promise<void>;
  /** Removes keys past their expiry, a batch at a time; answers how many went (expired keys are ignored already). */
  purgeExpiredKeys?(): Promise<number>;
}

/** As CommandPublisher: the request row and its refusal are committed together. */
export interface TransferPublisher {
  transferRefused(event: PipelineFailed, trace: TraceContext, request: AcceptedRequest): Promise<void>;
}

export interface TransferRouteDeps {
  readonly images: ImageReader;
  /** The caller's uploads, to tell a version still being uploaded from one that does not exist; a done promotion's request, for its status. */
  readonly requests: Pick<RequestStore, 'list' | 'get'>;
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
 * The image a transfer is decided on (decideTransfer), with only what decides it read: the asked version whole, and, of
 * another owner's image, which versions the caller sees (their names and environments), so the answer is the one the
 * image read whole gave (VERSION_NOT_FOUND or ROLE_REQUIRED for an image the caller reads, else not found). Every
 * version of an image of 10 000 was read whole for each transfer and dry run, 33 MB (found by a review).
 */
async function imageToDecide(
  images: ImageReader, imageUID: string, imageVersion: string, caller: { username: string; roles: readonly string[] }, policy: TransferPolicy,
): Promise<ImageView | undefined> {
  const asked = await images.getVersion(imageUID, imageVersion);
  if (!asked || asked.owner === caller.username) return asked;
  const seen = await images.outline(imageUID, { viewer: caller.username, readable: readableEnvironments(caller.roles, policy) });
  const version = asked.versions[0];
  return { ...asked, versions: (seen?.versions ?? []).map((outlined) => (version && outlined['imageVersion'] === version['imageVersion'] ? version : outlined)) };
}

/** The promotion into `source` claimed and not finished yet (its request neither succeeded nor failed), if any. */
async function promotionUnderWay(claims: TransferClaims, imageUID: string, imageVersion: string, source: EnvironmentName | undefined): Promise<PromotionUnderWay | undefined> {
  const held = source === undefined ? undefined : await claims.find(imageUID, imageVersion, source);
  if (source === undefined || held === undefined || held.status === 'succeeded' || held.status === 'failed') return undefined;
  return { requestId: held.requestId, environment: source };
}

/**
 * A dry run's answer: what the same request would do now (Artifactory's
 * promotion `dryRun`), for a pipeline to check a promotion before it asks.
 * `promoter`: for a promotion done, the request that did it.
 */
async function dryRunAnswer(
  decision: Exclude<TransferDecision, { kind: 'refused' }>, imageUID: string, imageVersion: string, claims: TransferClaims, promoter: HeldTransfer | undefined,
): Promise<Record<string, unknown>> {
  const held = decision.kind === 'transfer' ? await claims.find(imageUID, imageVersion, decision.target) : undefined;
  const underWay = held !== undefined && held.status !== 'failed';
  return {
    dryRun: true, outcome: decision.kind === 'done' ? 'done' : underWay ? 'under-way' : 'allowed', imageUID, imageVersion,
    sourceEnvironment: decision.kind === 'transfer' ? decision.source : null, targetEnvironment: decision.target,
    requestId: decision.kind === 'done' ? promoter?.requestId ?? null : underWay ? held.requestId : null,
  };
}

/**
 * A key sent again with another ask is refused (422, as for uploads): answering with the transfer it named would
 * tell the client that another version, or another target, is under way.
 */
function keyReused(key: string, held: KeyedTransfer, sent: TransferAsked): RequestRefusedError {
  const fields = differingAsk(held, sent);
  const asked = `${held.imageVersion} of ${held.imageUID} into ${held.targetEnvironment}${fields.includes('notes') ? ' with other notes' : ''}`;
  return new RequestRefusedError(422, 'ORBIT_ERR_IDEMPOTENCY_KEY_REUSED',
    `Idempotency-Key ${JSON.stringify(key)} was first sent asking for ${asked} (request ${held.requestId}); a key names one transfer: send this one with a new key`,
    fields.map((field) => ({ field, message: `differs from what request ${held.requestId} was sent with` })));
}

/** Refuses notes holding a control character other than tab and line breaks: they are shown to people (the request's status, ViewPort, the transfer's events). */
function notesOrThrow(notes: string | null | undefined): void {
  const problem = notes === null || notes === undefined ? null : controlCharacterProblem(notes);
  if (problem !== null) throw badRequest(`body.notes ${problem}`, 'body.notes');
}

/**
 * POST /v1/images/{uid}/transfers: promotes one version one step along the
 * environment chain. Refusals answer 4xx with a code and are also recorded as
 * a failed request (the c8bms18-c20bre24-911 row of the error log); a
 * promotion already done answers 200 with the request that promoted it;
 * concurrent requests share one. An Idempotency-Key names one ask: sent again
 * with it, the answer is replayed; with another ask, refused (422).
 */
export function transferRoutes(deps: TransferRouteDeps) {
  const answer = (reply: FastifyReply, held: HeldTransfer, code: 200 | 202): FastifyReply => {
    const statusUrl = deps.statusUrl(held.requestId);
    return (code === 202 ? acceptedAt(reply, statusUrl) : reply.code(200)).send({ requestId: held.requestId, pid: pidOf('transferRequested'), status: held.status ?? 'accepted', statusUrl });
  };
  // Stripe's header for an answer replayed from an earlier request.
  const replayed = (reply: FastifyReply, held: HeldTransfer): FastifyReply => answer(reply.header('idempotent-replayed', 'true'), held, 200);

  /**
   * The request that promoted a version found done, with its status now: the one ViewPort's promotion names, not the
   * claim's holder, which a later request takes over when the first failed dead-lettered and was re-driven to success
   * afterwards. Only where ViewPort names none (promoted before promotions were kept), the holder, if it succeeded.
   */
  async function promotionOf(decision: Extract<TransferDecision, { kind: 'done' }>, imageUID: string, imageVersion: string): Promise<HeldTransfer | undefined> {
    if (decision.requestId !== null) {
      // The promotion and its request's status are projected together; a request row missing (restored later) is still the one that did it.
      const recorded = await deps.requests.get(decision.requestId);
      return { requestId: decision.requestId, status: recorded?.status ?? 'succeeded' };
    }
    const held = await deps.claims.find(imageUID, imageVersion, decision.target);
    return held?.status === 'succeeded' ? held : undefined;
  }

  /** A store call that binds an Idempotency-Key: a key found held meanwhile by another ask is the 422 a later call gets. */
  async function bound<T>(call: () => Promise<T>, key: string, sent: TransferAsked): Promise<T> {
    try {
      return await call();
    } catch (error) {
      if (error instanceof TransferKeyTaken) throw keyReused(key, error.held, sent);
      throw error;
    }
  }

  return async function register(app: FastifyInstance, options: { caller: (request: FastifyRequest) => Promise<Caller> }): Promise<void> {
    app.post<{ Params: { uid: string }; Body: TransferBody }>('/v1/images/:uid/transfers', {
      // A flag: any number there is refused by the schema, which says it must be a boolean.
      config: { numbersCheckedByRoute: ['dryRun'] },
      schema: {
        operationId: 'transferImage', summary: 'Promote an image version to the next environment', tags: ['transfers'],
        params: pathParams('uid'),
        body: {
          type: 'object', required: ['imageVersion', 'transferEnvironment'], additionalProperties: false,
          properties: {
            // The naming rule uploads hold versions to: anything else names no version, and was recorded as a failed request, its bytes (ESC, U+202E) shown in the owner's timeline.
            imageVersion: { type: 'string', minLength: 1, maxLength: 64, pattern: IMAGE_VERSION_PATTERN, description: 'A version of the image, by the naming rule of uploads (v1-0-00 or 1.0.0), as stored: another is refused 400 naming body.imageVersion and recorded nowhere' },
            transferEnvironment: { type: 'string', minLength: 1, maxLength: 32, description: 'The next environment of the chain (default Testing, Staging, Production), any letter case; another is refused 400 UNKNOWN_ENVIRONMENT and recorded as a failed request' }, notes: { type: 'string', nullable: true, maxLength: 4096 },
            dryRun: { type: 'boolean', nullable: true, description: 'Only answer what the request would do: the same refusals, or 200 with its outcome; nothing is recorded or started' },
          },
        },
        headers: idempotencyKeyHeaderSchema(
          'Names this transfer so that it can be sent again safely: a repeat with the same key and ask answers 200 with the request the first one was answered with (unless that failed), and starts nothing; the key with another image, version, target or notes is refused 422. A key names its transfer for ORBIT_IDEMPOTENCY_KEY_TTL_HOURS (24 by default)',
        ),
        response: {
          200: { ...TRANSFER_OUTCOME, description: 'Already done: the request that promoted it, no work repeated; sent before with this Idempotency-Key: the request it was answered with, nothing started again (header Idempotent-Replayed: true); or the answer to a dry run' },
          202: { ...TRANSFER_ANSWER, description: 'Accepted, or already under way (concurrent requests share one: the one under way keeps the notes it was sent with, a joining request\'s notes are not applied)' },
          ...errors(400, 401, 403, 404, 409),
          422: { ...ERROR_BODY, description: 'The Idempotency-Key was first sent with another ask (ORBIT_ERR_IDEMPOTENCY_KEY_REUSED; problems names imageUID, imageVersion, transferEnvironment or notes); nothing was started' },
        },
      },
    }, async (request, reply) => {
      const caller = await options.caller(request);
      const actor: Actor = caller.actor;
      // Checked before anything else: a client that sent a key counts on it, so a malformed or doubled one is refused, never ignored.
      const keyText = idempotencyKeyOf(idempotencyKeyHeaderOf(request.raw.rawHeaders));
      notesOrThrow(request.body.notes);
      const sent: TransferAsked = {
        imageUID: request.params.uid, imageVersion: request.body.imageVersion, notes: request.body.notes ?? null,
        targetEnvironment: parseEnvironmentName(request.body.transferEnvironment) ?? request.body.transferEnvironment,
      };
      const key: TransferKey | undefined = keyText !== undefined && deps.claims.findKey ? { ...sent, owner: actor.username, key: keyText } : undefined;
      const earlier = key ? await deps.claims.findKey?.(key.owner, key.key) : undefined;
      if (key && earlier && earlier.status !== 'failed') {
        if (differingAsk(earlier, sent).length > 0) throw keyReused(key.key, earlier, sent);
        // A dry run still says what the request would do, rather than replaying.
        if (request.body.dryRun !== true) return replayed(reply, earlier);
      }
      const who = { username: actor.username, roles: caller.roles };
      const image = await imageToDecide(deps.images, request.params.uid, request.body.imageVersion, who, deps.policy);
      let decision = decideTransfer(image, who, request.body, deps.policy);
      // Only on the way to the answers an upload still under way changes: a 404 (no version yet), or "not ready" in the
      // first environment (the version's row is there once validated, before it is stored): both name the upload, so a
      // client polling through an upload is not handed a 409 that names it and then one that names nothing.
      const outOfFirst = sourceOf(request.body.transferEnvironment, deps.policy) === deps.policy.chain[0];
      if (decision.kind === 'refused' && (decision.status === 404 || (decision.code === 'NOT_IN_SOURCE_ENVIRONMENT' && outOfFirst))) {
        const uploading = await uploadUnderWay(deps.requests, actor.username, request.params.uid, request.body.imageVersion);
        if (uploading) decision = decideTransfer(image, who, request.body, deps.policy, uploading);
      }
      // A promotion into the source still under way turns a refusal into "not yet, follow it", looked up only on the way to
      // one it changes: a 409 saying the version is not there yet, or a role holder's 404 of a version they see once it
      // lands there (found by a README walk: "has no version" sent a pipeline promoting right after away for good).
      const promoting = await promotionUnderWay(deps.claims, request.params.uid, request.body.imageVersion, promotionAwaited(decision, image, who, request.body, deps.policy));
      if (promoting) decision = decideTransfer(image, who, request.body, deps.policy, undefined, promoting);
      const requestId = randomUUID();
      // The gateway's span of this request: a child of the caller's traceparent, when it sent a valid one.
      const trace = traceOf(request);
      const context = { correlationId: requestId, imageUID: request.params.uid, actor };
      // A refused request keeps the target it asked for too, when that names an environment: a list of failed requests shows what was tried.
      const asked = parseEnvironmentName(request.body.transferEnvironment);
      const target = decision.kind === 'refused' ? (asked && deps.policy.chain.includes(asked) ? asked : undefined) : decision.target;
      const accepted: AcceptedRequest = {
        requestId, kind: 'transfer', imageUID: request.params.uid, imageVersion: request.body.imageVersion, owner: actor.username, notes: request.body.notes ?? null,
        ...(target ? { targetEnvironment: target } : {}),
      };
      const promoter = decision.kind === 'done' ? await promotionOf(decision, request.params.uid, request.body.imageVersion) : undefined;

      if (request.body.dryRun === true) {
        if (decision.kind === 'refused') return sendError(reply, decision.status, errorBody(decision.code, decision.message));
        return reply.code(200).send(await dryRunAnswer(decision, request.params.uid, request.body.imageVersion, deps.claims, promoter));
      }
      if (decision.kind === 'refused') {
        // An unknown or foreign image leaves no record under its UID: nothing to log against, and no request id to hand out.
        const recorded = !(decision.status === 404 && decision.code !== 'VERSION_NOT_FOUND');
        const failure = envelopeFor('transferFailed', context);
        // Logged as every route's refusals are: an operator sees a 404 here too, though it leaves no error-log row. A recorded
        // one names its row's id and pid (errors.ts' trail); the code as reasonCode too, the name the consumers' lines give it.
        deps.logger?.info({
          status: decision.status, code: decision.code, reasonCode: decision.code, method: request.method, url: loggedUrl(request), ...requestLogFields(request), reason: decision.message,
          imageUID: request.params.uid, user: actor.username, ...(recorded ? { correlationId: requestId, pid: failure.pid } : {}),
        }, 'request refused');
        if (!recorded) return sendError(reply, 404, errorBody(decision.code, decision.message));
        await deps.publish.transferRefused({
          ...failure, requestId, flow: 'transfer', stage: 'request', reasonCode: decision.code, message: decision.message, failedEventId: null,
          imageVersion: request.body.imageVersion, targetEnvironment: target ?? null,
        }, trace, accepted);
        return sendError(reply, decision.status, errorBody(decision.code, decision.message, [], requestId));
      }
      if (decision.kind === 'done') {
        // Present in the target without a transfer ViewPort or the claims can name (promoted before either was kept): nothing to point at.
        if (!promoter) return reply.code(200).send({ requestId: null, pid: pidOf('transferRequested'), status: 'succeeded', statusUrl: null });
        // The key names this answer too: sent again with another ask it is refused, as after a transfer it started.
        if (key) await bound(async () => deps.claims.bindKey?.(key, promoter.requestId), key.key, sent);
        return answer(reply, promoter, 200);
      }
      const command: TransferRequested = {
        ...envelopeFor('transferRequested', context), requestId, imageVersion: request.body.imageVersion,
        sourceEnvironment: decision.source, targetEnvironment: decision.target, notes: request.body.notes ?? null,
      };
      const into = decision.target;
      const held = await bound(() => deps.claims.claim(into, accepted, command, trace, key), keyText ?? '', sent);
      if (held.requestId !== requestId) {
        // A repeat of the key that raced the call that bound it is answered as the same repeat sent a moment later would be.
        if (held.keyNamedItBefore === true) return replayed(reply, held);
        return answer(reply, held, held.status === 'succeeded' ? 200 : 202);
      }
      // What ties the X-Request-Id a caller quotes to the request (correlationId) the pipeline's lines name.
      deps.logger?.info({ ...requestLogFields(request), correlationId: requestId, imageUID: request.params.uid, pid: command.pid, targetEnvironment: decision.target }, 'request accepted');
      return answer(reply, { requestId, status: 'accepted' }, 202);
    });
  };
}
