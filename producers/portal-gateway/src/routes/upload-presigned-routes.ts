import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { deterministicUuid } from '@orbit/lib';
import { badRequest, notFound, RequestRefusedError } from '../errors.js';
import { idempotencyKeyHeaderOf, idempotencyKeyHeaderSchema, idempotencyKeyOf } from '../idempotency-key.js';
import { OPTIONAL_JSON_BODY } from '../json-body.js';
import { CHECKSUM_HEADER_SCHEMA, errors, pathParams, PRESIGN_BODY, PRESIGNED_UPLOAD, STARTED_BEFORE, UPLOAD_ACCEPTED, UPLOAD_STATE } from '../openapi.js';
import type { PresignedUpload } from '../ports.js';
import { requestLogFields } from '../request-correlation.js';
import { UploadGivenUpError, UploadPresignedMeanwhile, type StagedObject } from '../staging.js';
import { metadataSha256 } from '../upload-body-digest.js';
import { AMZ_CHECKSUM_SHA256, CHECKSUM_HEADER, completionPin } from '../upload-checksum.js';
import type { UploadAcceptance } from './upload-acceptance.js';
import { send, type UploadClaiming } from './upload-idempotency.js';
import { METADATA_PORT_CHECKED, metadataOrThrow, onlyFields } from './upload-metadata-part.js';
import { senderOf, type SentBody, type UploadRouteDeps, type UploadRouteOptions } from './upload-route-types.js';
import type { StagingCleanup } from './upload-staging-cleanup.js';
import { uploadStateOf } from './upload-state.js';

/** A presign's key names an upload rather than a request. */
const PRESIGN_IDEMPOTENCY_KEY_SCHEMA = idempotencyKeyHeaderSchema(
  'Names this upload so that a presign can be sent again safely (its answer lost): a repeat with the same key and size answers 200 with the same uploadId and fresh URLs (of the parts still missing, or its one URL), and opens no second upload. Another size under the key is refused (422); a key whose upload was completed answers 409 ORBIT_ERR_UPLOAD_COMPLETED, and one whose upload was given up (DELETE) 409 ORBIT_ERR_UPLOAD_GIVEN_UP: a given-up upload is never opened again, so presign anew with a new key',
);

/** The paths beside /v1/uploads/{id} that name no upload: POST takes them, and neither GET nor DELETE. */
const NOT_AN_UPLOAD_ID = ['presign', 'references'] as const;

/**
 * The id GET and DELETE route to (find-my-way's syntax): anything but those paths, so that a malformed id reaches the
 * schema and is a 400 naming params.id, as on every other route of an id, while GET or DELETE /v1/uploads/presign is
 * a 405 naming POST. (A UUID pattern here made every malformed id a 404, "no route".)
 */
const UPLOAD_ID_ROUTE = `^(?!${NOT_AN_UPLOAD_ID.map((path) => `${path}$`).join('|')})[^/]+$`;

/**
 * The upload an id names. Ids are given out in lower case and the path takes either case (a UUID is the same in
 * both, RFC 9562), while staging keys and completion claims are compared as written: `ABC…` read as another upload.
 */
const uploadIdOf = (params: { readonly id: string }): string => params.id.toLowerCase();

/** An upload a completion started a request for, which has it now (until that request fails). */
function completedAlready(uploadId: string, requestId: string, outcome: string): RequestRefusedError {
  return new RequestRefusedError(409, 'ORBIT_ERR_UPLOAD_COMPLETED',
    `upload ${uploadId} was completed: request ${requestId} has it (follow GET /v1/requests/${requestId}); ${outcome}`);
}

/**
 * A presign under the Idempotency-Key of an upload given up: never opened again, as a Docker registry never revives a
 * cancelled upload session. Its single PUT's URL cannot be revoked and writes to the same key, so an upload reopened
 * under the id took the bytes PUT after the give-up (found by a review: completed 202, and stored).
 */
function givenUpUnderKey(key: string, uploadId: string, at: Date | undefined): RequestRefusedError {
  return new RequestRefusedError(409, 'ORBIT_ERR_UPLOAD_GIVEN_UP',
    `Idempotency-Key ${JSON.stringify(key)} named upload ${uploadId}, which was given up${at ? ` at ${at.toISOString()}` : ''} (DELETE /v1/uploads/${uploadId}); `
    + 'a given-up upload is not opened again: presign another upload with a new Idempotency-Key');
}

/**
 * The presigned upload's routes: its presign (PUT URLs to staging), the parts it still lacks, giving it up, and its
 * completion, which starts the pipeline as POST /v1/uploads does.
 */
export function presignedUploadRoutes(
  deps: UploadRouteDeps, claiming: UploadClaiming, acceptance: UploadAcceptance, cleanup: StagingCleanup,
): (app: FastifyInstance, options: UploadRouteOptions) => void {
  const { earlierOf, replayOf, completionOf } = claiming;
  const { accept, uidForNewVersion } = acceptance;
  const { discard, dropPutsAfterStored } = cleanup;

  /**
   * The upload a presign with Idempotency-Key `key` opened before: `replay`,
   * its one URL signed again, or fresh URLs of the parts it still lacks (none
   * once a completion put them together, its request refused or failed since:
   * what was sent is what it holds); none when there is none to go on with,
   * and a new one is opened under the same id (`seen`: its multipart upload
   * ended with nothing put together, and the new one replaces it).
   */
  async function presignedBefore(owner: string, uploadId: string, key: string, sizeBytes: number | null): Promise<{ replay?: PresignedUpload | undefined; seen: boolean }> {
    await refuseCompleted(owner, uploadId, key);
    const before = await deps.uploads.presignedWith(owner, uploadId);
    if (before === undefined) return { seen: false };
    if (before.givenUp) throw givenUpUnderKey(key, uploadId, before.givenUp.at);
    if (before.sizeBytes !== sizeBytes) {
      const first = before.sizeBytes === null ? 'without sizeBytes (one PUT)' : `with sizeBytes ${before.sizeBytes}`;
      throw new RequestRefusedError(422, 'ORBIT_ERR_IDEMPOTENCY_KEY_REUSED',
        `Idempotency-Key ${JSON.stringify(key)} was first sent ${first}; a key names one upload: presign this one with a new key`,
        [{ field: 'sizeBytes', message: `differs from what upload ${uploadId} was presigned ${first}` }]);
    }
    // One PUT: its URL signed again is the same upload. In parts, undefined when its multipart upload ended meanwhile (the staging expiry).
    const replay = await givenUpMeanwhile(owner, uploadId, key, () => sizeBytes === null ? deps.uploads.presign(owner, uploadId, null, { reopen: true }) : deps.uploads.resume(owner, uploadId));
    return { replay, seen: true };
  }

  /** 409 COMPLETED naming the request that has the upload, if a completion holds it (`settled`: read once a claim in flight is committed or undone). */
  async function refuseCompleted(owner: string, uploadId: string, key: string, settled = false): Promise<void> {
    const completed = await earlierOf(completionOf(uploadId), owner, settled);
    if (!completed) return;
    throw new RequestRefusedError(409, 'ORBIT_ERR_UPLOAD_COMPLETED',
      `Idempotency-Key ${JSON.stringify(key)} named upload ${uploadId}, which was completed: request ${completed.requestId} has it (follow GET /v1/requests/${completed.requestId}); presign another upload with a new key`);
  }

  /**
   * `signing`, but a DELETE that gave the upload up while it signed answers as a presign after it would (409, saying
   * when). Its mark stands a moment before it finds a completion's claim and takes the mark back: a completion that holds
   * the upload is answered COMPLETED, as a presign after it is (found by a re-probe: GIVEN_UP, 4 of 160).
   */
  async function givenUpMeanwhile<T>(owner: string, uploadId: string, key: string, signing: () => Promise<T>): Promise<T> {
    try {
      return await signing();
    } catch (error) {
      if (!(error instanceof UploadGivenUpError)) throw error;
      await refuseCompleted(owner, uploadId, key, true);
      throw givenUpUnderKey(key, uploadId, (await deps.uploads.presignedWith(owner, uploadId))?.givenUp?.at);
    }
  }

  /** GET …/parts's answer to an upload given up, or completed while a DELETE raced it (as givenUpMeanwhile). */
  async function refuseResumeOfGivenUp(owner: string, uploadId: string): Promise<never> {
    const completed = await earlierOf(completionOf(uploadId), owner, true);
    if (completed) throw completedAlready(uploadId, completed.requestId, 'no parts are left to send');
    throw new UploadGivenUpError(uploadId);
  }

  return function register(app: FastifyInstance, options: UploadRouteOptions): void {
    app.post<{ Body: { sizeBytes?: number } | null | undefined }>('/v1/uploads/presign', {
      // Generated clients send Content-Type: application/json with no body when none is given (the body is optional).
      // Any size of 2^53 or more is over the limit: a 413 as any other, whatever JSON readers make of its last digits.
      config: { ...OPTIONAL_JSON_BODY, numbersCheckedByRoute: ['sizeBytes'] },
      schema: {
        // Nullable here so that no body at all passes; the document says the body is optional instead.
        operationId: 'presignUpload', summary: 'Get presigned PUTs to the staging bucket for a large image', tags: ['uploads'], body: { ...PRESIGN_BODY, nullable: true },
        headers: PRESIGN_IDEMPOTENCY_KEY_SCHEMA,
        response: {
          201: { ...PRESIGNED_UPLOAD, description: 'PUT the archive to url (or each part to its url), then POST completeUrl' },
          200: { ...PRESIGNED_UPLOAD, description: 'Presigned before with this Idempotency-Key: the same upload, with fresh URLs of the parts still missing, or its one URL (header Idempotent-Replayed: true)' },
          ...errors(400, 401, 409, 413, 422),
          409: { ...errors(409)[409], description: 'The Idempotency-Key names an upload that was completed (ORBIT_ERR_UPLOAD_COMPLETED, naming the request that has it) or given up (ORBIT_ERR_UPLOAD_GIVEN_UP, saying when): nothing was presigned; presign with a new key' },
        },
      },
    }, async (request, reply) => {
      const caller = await options.caller(request);
      // A body that is there but no object (JSON null) is no declaration.
      if (request.body === null && request.headers['content-type'] !== undefined) throw badRequest('send a JSON object such as {"sizeBytes": 7516192768}, or no body', 'body');
      const sizeBytes = request.body?.sizeBytes ?? null;
      if (sizeBytes !== null && sizeBytes > deps.maxUploadBytes) {
        // Past 2^53 the number read is not the one sent (…890 reads as …000): not repeated as if it were.
        const size = Number.isSafeInteger(sizeBytes) ? String(sizeBytes) : '2^53 or more';
        throw new RequestRefusedError(413, 'ORBIT_ERR_UPLOAD_TOO_LARGE', `the upload would be ${size} bytes; the limit is ${deps.maxUploadBytes}`);
      }
      const owner = caller.actor.username;
      const key = idempotencyKeyOf(idempotencyKeyHeaderOf(request.raw.rawHeaders));
      // A key names one upload id for good, so a repeat finds what the first call opened.
      const uploadId = key === undefined ? randomUUID() : deterministicUuid(`presign\u0000${owner}\u0000${key}`);
      // Presigned URLs are credentials good until they expire: no cache keeps them (nor revalidates them: no ETag).
      void reply.header('cache-control', 'no-store');
      const replayed = (presigned: PresignedUpload) => reply.code(200).header('idempotent-replayed', 'true').send({ uploadId, ...presigned, completeUrl: deps.completeUrl(uploadId) });
      const before = key === undefined ? undefined : await presignedBefore(owner, uploadId, key, sizeBytes);
      if (before?.replay) return replayed(before.replay);
      try {
        const presigned = key === undefined ? await deps.uploads.presign(owner, uploadId, sizeBytes)
          : await givenUpMeanwhile(owner, uploadId, key, () => deps.uploads.presign(owner, uploadId, sizeBytes, { reopen: before?.seen === true }));
        // No event: an upload's trace starts at its completion (UploadRequested.uploadId); until then this line is its only record.
        deps.logger?.info({ ...requestLogFields(request), uploadId, user: owner, sizeBytes }, 'upload presigned');
        // RFC 9110 §15.3.2: a 201 names the resource it created.
        return reply.code(201).header('location', deps.uploadUrl(uploadId)).send({ uploadId, ...presigned, completeUrl: deps.completeUrl(uploadId) });
      } catch (error) {
        // The same key sent twice at once (a client retrying before its first answer came): the other opened it.
        if (!(error instanceof UploadPresignedMeanwhile) || key === undefined) throw error;
        const meanwhile = await presignedBefore(owner, uploadId, key, sizeBytes);
        if (meanwhile.replay) return replayed(meanwhile.replay);
        throw error;
      }
    });

    app.get<{ Params: { id: string } }>('/v1/uploads/:id/parts', {
      schema: {
        operationId: 'resumeUpload', summary: 'Fresh presigned PUTs of the parts an upload in parts still lacks (after its URLs expired, or a client restarted)', tags: ['uploads'],
        params: pathParams('id'),
        response: {
          200: { ...PRESIGNED_UPLOAD, description: 'PUT each part listed (none: all arrived, or a completion whose request failed or was refused put them together), then POST completeUrl' },
          ...errors(400, 401, 404),
          409: { ...errors(409)[409], description: 'Completed: a request has it (ORBIT_ERR_UPLOAD_COMPLETED, the message names it), nothing is left to send; or given up (ORBIT_ERR_UPLOAD_GIVEN_UP)' },
        },
      },
    }, async (request, reply) => {
      const caller = await options.caller(request);
      const id = uploadIdOf(request.params);
      // As DELETE answers it: a client resuming a completed upload is told which request has it, not that it never was
      // (found by a review: 404 "completed, never declared, or left a day", while the README promised no parts).
      const completed = await earlierOf(completionOf(id), caller.actor.username);
      if (completed) throw completedAlready(id, completed.requestId, 'no parts are left to send');
      const resumed = await deps.uploads.resume(caller.actor.username, id).catch((error: unknown) => {
        if (error instanceof UploadGivenUpError) return refuseResumeOfGivenUp(caller.actor.username, id);
        throw error;
      });
      // A client resuming an upload someone gave up is told so, as its completion would be, not that it never was.
      if (!resumed && await deps.uploads.givenUp(caller.actor.username, id)) await refuseResumeOfGivenUp(caller.actor.username, id);
      if (!resumed) throw notFound(`upload in parts ${id} (never presigned for you, never declared with sizeBytes, or presigned over a day ago: staging keeps nothing longer)`);
      // Fresh presigned URLs, credentials until they expire: stored by no cache, so neither tagged nor revalidated.
      return reply.header('cache-control', 'no-store').send({ uploadId: id, ...resumed, completeUrl: deps.completeUrl(id) });
    });

    app.get<{ Params: { id: string } }>(`/v1/uploads/:id(${UPLOAD_ID_ROUTE})`, {
      schema: {
        operationId: 'getUpload', summary: 'A presigned upload\'s state: open, completed (the request its completion started) or given up', tags: ['uploads'],
        params: pathParams('id'),
        response: {
          200: { ...UPLOAD_STATE, description: 'The upload, to its owner: where to go on (open), the request that has it (completed), or when it was given up' },
          ...errors(400, 401, 404),
          404: { ...errors(404)[404], description: 'No upload of yours under this id: never presigned for you (another user\'s upload reads the same), or presigned over a day ago and not completed (staging keeps nothing longer)' },
        },
      },
    }, async (request) => {
      const caller = await options.caller(request);
      const id = uploadIdOf(request.params);
      const state = await uploadStateOf(deps, claiming, caller.actor.username, id);
      if (!state) throw notFound(`upload ${id} (never presigned for you, or presigned over a day ago and not completed: staging keeps nothing longer)`);
      // Tagged and revalidated as every /v1 read (private, no-cache): it holds no URL that is a credential.
      return state;
    });

    app.delete<{ Params: { id: string } }>(`/v1/uploads/:id(${UPLOAD_ID_ROUTE})`, {
      schema: {
        operationId: 'abandonUpload', summary: 'Give up a presigned upload that is not completed: the parts and archive sent are deleted from staging', tags: ['uploads'],
        params: pathParams('id'),
        response: { 204: { description: 'Given up: nothing of it is left in staging, its part URLs take nothing more, and its completion is refused (409 ORBIT_ERR_UPLOAD_GIVEN_UP; what a single PUT URL still takes before it expires is deleted then), and so is a presign under its Idempotency-Key: it is never opened again. Given up already (a DELETE sent again): 204 again', type: 'null' }, ...errors(400, 401, 404, 409) },
      },
    }, async (request, reply) => {
      const caller = await options.caller(request);
      const id = uploadIdOf(request.params);
      const completion = completionOf(id);
      // Completed and not failed: the request owns the archive now (a failed one's archive may go).
      const earlier = await earlierOf(completion, caller.actor.username);
      if (earlier) {
        await dropPutsAfterStored(caller.actor.username, id, earlier, request);
        throw completedAlready(id, earlier.requestId, 'nothing it holds was deleted');
      }
      // A completion sent at the same instant: it claimed the upload before it could see the give-up mark, or it sees the mark.
      const completedMeanwhile = async () => (await earlierOf(completion, caller.actor.username, true)) !== undefined;
      let outcome = await deps.uploads.abandon(caller.actor.username, id, completedMeanwhile);
      if (outcome === 'unknown' && await deps.uploads.givenUp(caller.actor.username, id)) {
        // Given up already: the DELETE sent again after its 204 was lost. DELETE is idempotent (RFC 9110 §9.2.2) and what
        // it asked for holds, so 204 again; it was 404, while the upload's completion and parts said it was given up
        // (found by a review). What a single PUT's URL took since is deleted now, as a completion of it would.
        const stillGivenUp = await deps.uploads.find(caller.actor.username, id).then(() => false, (error: unknown) => {
          if (error instanceof UploadGivenUpError) return true;
          throw error;
        });
        if (stillGivenUp) {
          deps.logger?.info({ ...requestLogFields(request), uploadId: id, user: caller.actor.username }, 'presigned upload given up already');
          return reply.code(204).send();
        }
        // The mark was taken back meanwhile: a DELETE at the same instant as a completion found the completion's claim.
        outcome = 'completed';
      }
      if (outcome === 'unknown') throw notFound(`upload ${id} (never presigned for you, or presigned over a day ago: staging keeps nothing longer)`);
      if (outcome === 'completed') {
        const held = await earlierOf(completion, caller.actor.username);
        throw new RequestRefusedError(409, 'ORBIT_ERR_UPLOAD_COMPLETED',
          `upload ${id} was completed meanwhile${held ? `: request ${held.requestId} has it (follow GET /v1/requests/${held.requestId})` : ''}; nothing was deleted`);
      }
      deps.logger?.info({ ...requestLogFields(request), uploadId: id, user: caller.actor.username }, 'presigned upload given up');
      return reply.code(204).send();
    });

    app.post<{ Params: { id: string } }>('/v1/uploads/:id/complete', {
      config: METADATA_PORT_CHECKED,
      schema: {
        operationId: 'completeUpload', summary: 'Start the pipeline for an image uploaded with a presigned PUT', tags: ['uploads'],
        params: pathParams('id'),
        headers: {
          type: 'object', properties: {
            [CHECKSUM_HEADER.toLowerCase()]: { ...CHECKSUM_HEADER_SCHEMA, description: 'The SHA-256 of the archive PUT, as the body\'s sha256 takes it (either, or both the same): the validator refuses other bytes CHECKSUM_MISMATCH' },
            // Read by completionPin, as S3's CompleteMultipartUpload takes the whole object's checksum.
            [AMZ_CHECKSUM_SHA256]: { type: 'string', maxLength: 200, description: 'The same SHA-256 in S3\'s form, the base64 of its 32 bytes: pins the completion as X-Checksum-Sha256 does (all given must agree). Another x-amz-checksum-* is a 400 naming it' },
          },
        },
        response: {
          200: { ...STARTED_BEFORE, description: 'Completed before (a retry): the request that completion started, nothing started again' },
          202: { ...UPLOAD_ACCEPTED, description: 'Accepted: follow statusUrl' }, ...errors(400, 401, 409, 413, 415, 422),
        },
      },
    }, async (request, reply) => {
      const caller = await options.caller(request);
      const id = uploadIdOf(request.params);
      // A form (curl -F metadata=…, as POST /v1/uploads takes it) was answered "metadata must be an object" (found by a probe).
      if (request.isMultipart()) {
        throw new RequestRefusedError(415, 'ORBIT_ERR_BAD_REQUEST', 'a completion is JSON, not a form: send {"metadata": {…}} with content-type application/json (the archive is in staging already)');
      }
      const body = request.body as { metadata?: unknown; sha256?: unknown } | undefined;
      if (body && typeof body === 'object') onlyFields(body, ['metadata', 'sha256']);
      const metadata = metadataOrThrow(body?.metadata);
      // A presigned single PUT's URL takes a body as often as it is used within its hour: the sha256 pins which one the
      // client means, and the validator refuses the staged archive (CHECKSUM_MISMATCH) unless it hashes to it.
      const pinned = completionPin(body?.sha256, request.headers);
      const completion = completionOf(id);
      // The upload id names where the bytes are; its completions differ only by their metadata and the sha256 they pin.
      const sent: SentBody = { digest: { metadataSha256: metadataSha256(metadata), contentSha256: pinned }, contentIs: 'image' };
      // Completed before and not failed: that request is the answer, even once its staged image was stored and removed.
      const earlier = await earlierOf(completion, caller.actor.username);
      if (earlier && completion) {
        const replay = replayOf(earlier, sent, completion);
        await dropPutsAfterStored(caller.actor.username, id, earlier, request);
        return send(reply, replay);
      }
      // Read once the claim being written meanwhile is committed or undone: a plain read misses a completion's claim in flight.
      const settledClaim = () => earlierOf(completion, caller.actor.username, true);
      let staged: StagedObject | undefined;
      try {
        staged = await deps.uploads.find(caller.actor.username, id, { completed: async () => (await settledClaim()) !== undefined });
      } catch (error) {
        // A DELETE's mark, which it takes back on finding a completion's claim (abandon): this is a repeat of that completion.
        const held = error instanceof UploadGivenUpError && completion ? await settledClaim() : undefined;
        if (held === undefined || completion === undefined) throw error;
        await dropPutsAfterStored(caller.actor.username, id, held, request);
        return send(reply, replayOf(held, sent, completion));
      }
      // Unknown and not yet PUT look alike here (the presign leaves no trace); either way the archive is what to send.
      if (!staged) {
        // Given up while this looked: find read the record before the mark, then found the parts aborted (found by a review:
        // a DELETE's race answered with a single PUT's "PUT it to the url").
        if (await deps.uploads.givenUp(caller.actor.username, id)) throw new UploadGivenUpError(id);
        throw new RequestRefusedError(409, 'ORBIT_ERR_UPLOAD_INCOMPLETE',
          `no archive has arrived for upload ${id}: PUT it to the url its presign answer gave, then complete it again (an upload id not presigned for you is answered the same)`);
      }
      if (staged.sizeBytes > deps.maxUploadBytes) {
        // Never to be taken, so not kept a day: a single PUT's URL signs no length (found by a review: 10 GiB left in staging).
        await discard(staged, request);
        throw new RequestRefusedError(413, 'ORBIT_ERR_UPLOAD_TOO_LARGE',
          `the upload is ${staged.sizeBytes} bytes; the limit is ${deps.maxUploadBytes}; it was deleted from staging`);
      }
      // Given up at this instant: the claim is undone unless it was written before the give-up's mark, which DELETE then takes
      // back on seeing the claim (abandon). Of a completion and a DELETE at once, exactly one goes through.
      const notGivenUp = async (): Promise<void> => {
        if (await deps.uploads.givenUp(caller.actor.username, id)) throw new UploadGivenUpError(id);
      };
      // A presigned image stays staged whatever happens here: its client can ask to complete it again.
      const sender = senderOf(request, caller);
      // Without a pin, what S3 checked of the PUT (its own SHA-256, when the client sent one), as before.
      const checked: StagedObject = pinned === null ? staged : { ...staged, sha256: pinned };
      return send(reply, await accept(sender, metadata, 'PRESIGNED', checked, null, await uidForNewVersion(sender, metadata, completion), completion, sent, notGivenUp));
    });
  };
}
