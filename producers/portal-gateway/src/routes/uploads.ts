import { randomUUID } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { envelopeFor, pidOf, startTrace, type Actor, type Logger } from '@orbit/lib';
import type { ImageMetadata, ObjectRef, UploadRequested } from '@orbit/schemas';
import type { Caller } from '../auth.js';
import { badMetadata, badRequest, notFound, RequestRefusedError } from '../errors.js';
import { parseMetadata } from '../metadata.js';
import { errors, PRESIGNED_UPLOAD, UPLOAD_ACCEPTED, UPLOAD_COMPLETED_BEFORE } from '../openapi.js';
import type { AcceptedRequest, CommandPublisher, HeldRequest, ImageNames, UploadCompletions, UploadStore } from '../ports.js';
import { parseImageReference } from '../reference.js';
import { UploadTooLargeError, type StagedObject } from '../staging.js';

export interface UploadRouteDeps {
  readonly uploads: UploadStore;
  readonly names: ImageNames;
  readonly publish: CommandPublisher;
  /** One request per presigned upload; without it every completion starts a request. */
  readonly completions?: UploadCompletions | undefined;
  readonly statusUrl: (requestId: string) => string;
  readonly maxUploadBytes: number;
  readonly logger?: Logger | undefined;
}

export interface Accepted {
  readonly requestId: string;
  readonly imageUID: string;
  readonly pid: string;
  readonly status: 'accepted';
  readonly statusUrl: string;
}

/** Metadata is a few fields; anything bigger is not metadata. */
const MAX_METADATA_BYTES = 1024 * 1024;

function metadataOrThrow(input: unknown): ImageMetadata {
  const parsed = parseMetadata(input);
  if (!parsed.ok) throw badMetadata(parsed.problems);
  return parsed.metadata;
}

function jsonOrThrow(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw badRequest('the metadata part is not valid JSON', 'metadata');
  }
}

/**
 * POST /v1/uploads (multipart archive or JSON reference), the presigned
 * variant and its completion. Each accepted upload is recorded, then its
 * UploadRequested event is published; the answer is 202 with the status URL.
 */
export function uploadRoutes(deps: UploadRouteDeps) {
  /** A new upload request: its command, its record, and the answer once it is accepted. */
  function requestFor(actor: Actor, metadata: ImageMetadata, source: UploadRequested['source'], staged: StagedObject | null, reference: string | null, imageUID: string) {
    const requestId = randomUUID();
    const staging: ObjectRef | null = staged ? { bucket: staged.bucket, key: staged.key, versionId: staged.versionId } : null;
    const event: UploadRequested = {
      ...envelopeFor('uploadRequested', { correlationId: requestId, imageUID, actor }),
      requestId, source, metadata, staging, reference, sizeBytes: staged?.sizeBytes ?? null, sha256: staged?.sha256 ?? null,
    };
    const record: AcceptedRequest = { requestId, kind: 'upload', imageUID, imageVersion: metadata.imageVersion, owner: actor.username };
    const answer: Accepted = { requestId, imageUID, pid: pidOf('uploadRequested'), status: 'accepted', statusUrl: deps.statusUrl(requestId) };
    return { event, record, answer };
  }

  /** The answer to a completion that an earlier one made already (its image from its request row, which is always there). */
  function completedBefore(held: HeldRequest, imageUID = '') {
    return { requestId: held.requestId, imageUID: held.imageUID ?? imageUID, pid: pidOf('uploadRequested'), status: held.status ?? 'accepted', statusUrl: deps.statusUrl(held.requestId) };
  }

  async function accept(actor: Actor, metadata: ImageMetadata, source: UploadRequested['source'], staged: StagedObject | null, reference: string | null, imageUID: string): Promise<Accepted> {
    const { event, record, answer } = requestFor(actor, metadata, source, staged, reference, imageUID);
    await deps.publish.uploadRequested(event, startTrace(), record);
    return answer;
  }

  async function smallPart(file: AsyncIterable<Buffer>, limit: number): Promise<string> {
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of file) {
      size += chunk.length;
      if (size > limit) throw badRequest(`the metadata part is over ${limit} bytes`, 'metadata');
      chunks.push(chunk);
    }
    return Buffer.concat(chunks).toString('utf8');
  }

  /**
   * Either part order works. Metadata first (what the README shows) is
   * checked before a byte of the image is staged, so a bad name never costs
   * the upload; clients that cannot order their parts (form libraries that
   * put files first) get the image staged and the metadata checked after it,
   * and a refusal then deletes what was staged.
   */
  async function fromMultipart(request: FastifyRequest, caller: Caller): Promise<Accepted> {
    const { metadata, staged } = await readParts(request, caller);
    // Nothing is recorded before the name has its UID, so an upload refused there (ViewPort lost, MySQL away) is
    // deleted from staging: its client sends the whole body again anyway. Once the record is being written, a failure
    // may still have committed it, so from there on the staged image stays.
    const imageUID = await deps.names.uidFor(caller.actor.username, metadata.imageName).catch(async (error: unknown) => {
      await discard(staged);
      throw error;
    });
    return accept(caller.actor, metadata, 'ARCHIVE', staged, null, imageUID);
  }

  async function discard(staged: StagedObject): Promise<void> {
    await deps.uploads.discard(staged).catch((cause: unknown) => deps.logger?.warn({ err: cause, key: staged.key }, 'could not delete a refused upload from staging; the staging expiry will'));
  }

  /** The metadata and the staged image, in whichever order they came; nothing stays staged if the parts are refused. */
  async function readParts(request: FastifyRequest, caller: Caller): Promise<{ metadata: ImageMetadata; staged: StagedObject }> {
    let metadata: ImageMetadata | undefined;
    let staged: StagedObject | undefined;
    try {
      for await (const part of request.parts()) {
        if (part.fieldname === 'metadata') {
          if (metadata) throw badRequest('send one "metadata" part', 'metadata');
          // @fastify/multipart parses a part sent as application/json itself; plain text parts arrive as strings;
          // `curl -F metadata=@meta.json` and browsers' Blob parts send the metadata as a small file.
          const value = part.type === 'field' ? (typeof part.value === 'string' ? jsonOrThrow(part.value) : part.value) : jsonOrThrow(await smallPart(part.file, MAX_METADATA_BYTES));
          metadata = metadataOrThrow(value);
        } else if (part.type === 'field') {
          throw badRequest(`unexpected field "${part.fieldname}"`, part.fieldname);
        } else if (part.fieldname !== 'image') {
          throw badRequest(`unexpected file field "${part.fieldname}"`, part.fieldname);
        } else {
          if (staged) throw badRequest('send one "image" part', 'image');
          staged = await deps.uploads.stage(caller.actor.username, randomUUID(), part.file);
          // The multipart parser stops at its fileSize limit and marks the stream truncated.
          if (part.file.truncated) throw new UploadTooLargeError(deps.maxUploadBytes);
        }
        // Once both are in, the rest of the body is not read.
        if (metadata && staged) return { metadata, staged };
      }
      throw badRequest(staged ? 'the "metadata" part is missing' : 'the "image" file part is missing', staged ? 'metadata' : 'image');
    } catch (error) {
      if (staged) await discard(staged);
      throw error;
    }
  }

  /** JSON {metadata, reference}: an image pulled from an OCI registry. */
  async function fromReference(request: FastifyRequest, caller: Caller) {
    const body = request.body as { metadata?: unknown; reference?: unknown } | undefined;
    if (!body || typeof body !== 'object') throw badRequest('send JSON {metadata, reference}');
    const metadata = metadataOrThrow(body.metadata);
    const reference = typeof body.reference === 'string' ? parseImageReference(body.reference) : undefined;
    if (!reference) throw badRequest('reference must look like host[:port]/repository:tag or host/repository@sha256:<digest>', 'reference');
    return accept(caller.actor, metadata, 'REFERENCE', null, String(body.reference), await deps.names.uidFor(caller.actor.username, metadata.imageName));
  }

  return async function register(app: FastifyInstance, options: { caller: (request: FastifyRequest) => Promise<Caller> }): Promise<void> {
    app.post('/v1/uploads', {
      schema: {
        operationId: 'uploadImage', summary: 'Upload an image archive (multipart)', tags: ['uploads'],
        description: 'JSON {metadata, reference} is taken here too, as at /v1/uploads/references.',
        response: { 202: { ...UPLOAD_ACCEPTED, description: 'Accepted: follow statusUrl' }, ...errors(400, 401, 413) },
      },
    }, async (request, reply) => {
      const caller = await options.caller(request);
      const length = Number(request.headers['content-length'] ?? 0);
      if (length > deps.maxUploadBytes + 1024 * 1024) {
        throw new RequestRefusedError(413, 'ORBIT_ERR_UPLOAD_TOO_LARGE', `the upload is ${length} bytes; the limit is ${deps.maxUploadBytes}`);
      }
      if (request.isMultipart()) return reply.code(202).send(await fromMultipart(request, caller));
      if (request.body === undefined || request.body === null) throw badRequest('send multipart/form-data with metadata and image, or JSON {metadata, reference}');
      return reply.code(202).send(await fromReference(request, caller));
    });

    app.post('/v1/uploads/references', {
      schema: {
        operationId: 'uploadFromRegistry', summary: 'Upload an image named by its reference in an OCI registry', tags: ['uploads'],
        response: { 202: { ...UPLOAD_ACCEPTED, description: 'Accepted: follow statusUrl' }, ...errors(400, 401) },
      },
    }, async (request, reply) => reply.code(202).send(await fromReference(request, await options.caller(request))));

    app.post('/v1/uploads/presign', {
      schema: { operationId: 'presignUpload', summary: 'Get a presigned PUT to the staging bucket for a large image', tags: ['uploads'], response: { 201: { ...PRESIGNED_UPLOAD, description: 'PUT the archive to url, then POST completeUrl' }, ...errors(401) } },
    }, async (request, reply) => {
      const caller = await options.caller(request);
      const uploadId = randomUUID();
      const presigned = await deps.uploads.presign(caller.actor.username, uploadId);
      return reply.code(201).send({ uploadId, ...presigned, completeUrl: `/v1/uploads/${uploadId}/complete` });
    });

    app.post<{ Params: { id: string } }>('/v1/uploads/:id/complete', {
      schema: {
        operationId: 'completeUpload', summary: 'Start the pipeline for an image uploaded with a presigned PUT', tags: ['uploads'],
        params: { type: 'object', properties: { id: { type: 'string', format: 'uuid' } }, required: ['id'] },
        response: {
          200: { ...UPLOAD_COMPLETED_BEFORE, description: 'Completed before (a retry): the request that completion started, nothing started again' },
          202: { ...UPLOAD_ACCEPTED, description: 'Accepted: follow statusUrl' }, ...errors(400, 401, 404, 413),
        },
      },
    }, async (request, reply) => {
      const caller = await options.caller(request);
      const metadata = metadataOrThrow((request.body as { metadata?: unknown } | undefined)?.metadata);
      // Completed before and not failed: that request is the answer, even once its staged image was stored and removed.
      const earlier = await deps.completions?.find(caller.actor.username, request.params.id);
      if (earlier && earlier.status !== 'failed') return reply.code(200).send(completedBefore(earlier));
      const staged = await deps.uploads.find(caller.actor.username, request.params.id);
      if (!staged) throw notFound(`upload ${request.params.id}`);
      if (staged.sizeBytes > deps.maxUploadBytes) {
        throw new RequestRefusedError(413, 'ORBIT_ERR_UPLOAD_TOO_LARGE', `the upload is ${staged.sizeBytes} bytes; the limit is ${deps.maxUploadBytes}`);
      }
      // A presigned image stays staged whatever happens here: its client can ask to complete it again.
      const imageUID = await deps.names.uidFor(caller.actor.username, metadata.imageName);
      if (!deps.completions) return reply.code(202).send(await accept(caller.actor, metadata, 'PRESIGNED', staged, null, imageUID));
      const { event, record, answer } = requestFor(caller.actor, metadata, 'PRESIGNED', staged, null, imageUID);
      const held = await deps.completions.claim(request.params.id, record, event, startTrace());
      return held.requestId === answer.requestId ? reply.code(202).send(answer) : reply.code(200).send(completedBefore(held, imageUID));
    });
  };
}
