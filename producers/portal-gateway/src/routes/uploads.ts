import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Caller } from '../auth.js';
import { badRequest, RequestRefusedError } from '../errors.js';
import { ARCHIVE_CHECKSUM_HEADER_SCHEMAS, BODY_DIGEST_HEADER_SCHEMAS, CHECKSUM_HEADER_SCHEMA, errors, UPLOAD_ACCEPTED } from '../openapi.js';
import { archivePinHeader, CHECKSUM_HEADER, checksumWithoutArchive, pinsOf, type Pins } from '../upload-checksum.js';
import { uploadAcceptance } from './upload-acceptance.js';
import { IDEMPOTENCY_KEY_SCHEMA, send, STARTED_BEFORE_ANSWER, uploadClaiming } from './upload-idempotency.js';
import { lacksBoundary, METADATA_PORT_CHECKED } from './upload-metadata-part.js';
import { multipartUploads } from './upload-multipart.js';
import { presignedUploadRoutes } from './upload-presigned-routes.js';
import { referenceBody, referenceUploads } from './upload-reference.js';
import type { UploadRouteDeps, UploadRouteOptions } from './upload-route-types.js';
import { stagingCleanup } from './upload-staging-cleanup.js';

// Where tests and the app have always imported these from.
export { lacksBoundary, metadataPartValue, type MetadataPart } from './upload-metadata-part.js';
export type { Accepted, StartedBefore, UploadRouteDeps } from './upload-route-types.js';

/** An archive upload's headers: its Idempotency-Key, and the SHA-256s it pins its archive (or its whole body) by. */
const ARCHIVE_UPLOAD_HEADERS = {
  ...IDEMPOTENCY_KEY_SCHEMA, properties: { ...IDEMPOTENCY_KEY_SCHEMA.properties, [CHECKSUM_HEADER.toLowerCase()]: CHECKSUM_HEADER_SCHEMA, ...ARCHIVE_CHECKSUM_HEADER_SCHEMAS, ...BODY_DIGEST_HEADER_SCHEMAS },
} as const;

/**
 * POST /v1/uploads (multipart archive or JSON reference), the presigned
 * variant and its completion. Each accepted upload is recorded, then its
 * UploadRequested event is published; the answer is 202 with the status URL.
 */
export function uploadRoutes(deps: UploadRouteDeps) {
  const claiming = uploadClaiming(deps);
  const cleanup = stagingCleanup(deps);
  const acceptance = uploadAcceptance(deps, claiming, cleanup);
  const { fromMultipart, sentParts } = multipartUploads(deps, acceptance, cleanup);
  const { fromReference } = referenceUploads(deps, acceptance);
  const registerPresigned = presignedUploadRoutes(deps, claiming, acceptance, cleanup);
  const { earlierOf, replayOf, keyOf } = claiming;

  return async function register(app: FastifyInstance, options: UploadRouteOptions): Promise<void> {
    app.post('/v1/uploads', {
      config: METADATA_PORT_CHECKED,
      schema: {
        operationId: 'uploadImage', summary: 'Upload an image archive (multipart)', tags: ['uploads'],
        description: 'JSON {metadata, reference} is taken here too, as at /v1/uploads/references.',
        headers: ARCHIVE_UPLOAD_HEADERS,
        response: { 200: STARTED_BEFORE_ANSWER, 202: { ...UPLOAD_ACCEPTED, description: 'Accepted: follow statusUrl' }, ...errors(400, 401, 403, 409, 413, 422, 429) },
      },
    }, async (request, reply) => {
      const caller = await options.caller(request);
      // Read before the body, so that a malformed one costs no upload. A JSON body's digest is not checked (README), so
      // its digest headers are not read, as on /v1/uploads/references: one naming md5 was refused here and a wrong
      // sha-256 let through (a bug reread).
      const pinnedHeader = request.isMultipart() ? undefined : archivePinHeader(request.headers);
      if (pinnedHeader !== undefined) throw checksumWithoutArchive(pinnedHeader);
      const pins: Pins = request.isMultipart() ? pinsOf(request.headers) : { archive: null, body: [] };
      // A form's body streams through this gateway (a JSON one was read whole, within the 1 MiB body limit): counted
      // before a byte of it is read, until it ends in any way, else 429 with nothing read (streamed-uploads.ts). Given back
      // when the handler ends (its staging then has ended too), or when the connection closes, should that come first.
      const release = request.isMultipart() ? deps.streamedUploads.take(caller.actor.username) : undefined;
      if (release) {
        // A client gone while its token was verified (a JWKS reload, a busy loop) closed the response before this ran:
        // its 'close' has fired and will not again, and parsing the destroyed body would never end (found by a reread:
        // each such client kept a slot for good, until the replica answered every form 429).
        if (request.raw.destroyed || reply.raw.closed) {
          release();
          return reply;
        }
        reply.raw.once('close', release);
      }
      try {
        return await answerUpload(request, reply, caller, pins);
      } finally {
        release?.();
      }
    });

    /** POST /v1/uploads once its caller is known (and a form's slot taken). */
    async function answerUpload(request: FastifyRequest, reply: FastifyReply, caller: Caller, pins: Pins): Promise<FastifyReply> {
      const claimed = keyOf(request);
      const earlier = await earlierOf(claimed, caller.actor.username);
      if (earlier && claimed) {
        // Read to its end, hashed, not staged (Node's fetch and Python's requests fail on an answer that comes while
        // they still send), and compared with what the key's request was sent with.
        return send(reply, replayOf(earlier, request.isMultipart() ? await sentParts(request, pins) : referenceBody(request).sent, claimed));
      }
      const length = Number(request.headers['content-length'] ?? 0);
      if (length > deps.maxUploadBytes + 1024 * 1024) {
        throw new RequestRefusedError(413, 'ORBIT_ERR_UPLOAD_TOO_LARGE', `the upload is ${length} bytes; the limit is ${deps.maxUploadBytes}`);
      }
      if (request.isMultipart()) {
        if (lacksBoundary(request.headers['content-type'])) {
          throw badRequest('a multipart/form-data body needs its boundary parameter: let the HTTP client set the Content-Type of a form rather than setting it by hand', 'header.content-type');
        }
        return send(reply, await fromMultipart(request, caller, claimed, pins));
      }
      if (typeof request.body !== 'object' || request.body === null) throw badRequest('send multipart/form-data with metadata and image, or JSON {metadata, reference}');
      return send(reply, await fromReference(request, caller, claimed));
    }

    app.post('/v1/uploads/references', {
      config: METADATA_PORT_CHECKED,
      schema: {
        operationId: 'uploadFromRegistry', summary: 'Upload an image named by its reference in an OCI registry', tags: ['uploads'],
        headers: IDEMPOTENCY_KEY_SCHEMA,
        response: { 200: STARTED_BEFORE_ANSWER, 202: { ...UPLOAD_ACCEPTED, description: 'Accepted: follow statusUrl' }, ...errors(400, 401, 403, 409, 413, 422, 429) },
      },
    }, async (request, reply) => {
      const caller = await options.caller(request);
      const pinnedHeader = archivePinHeader(request.headers);
      if (pinnedHeader !== undefined) throw checksumWithoutArchive(pinnedHeader);
      const claimed = keyOf(request);
      const earlier = await earlierOf(claimed, caller.actor.username);
      return send(reply, earlier && claimed ? replayOf(earlier, referenceBody(request).sent, claimed) : await fromReference(request, caller, claimed));
    });

    registerPresigned(app, options);
  };
}
