import type { FastifyReply, FastifyRequest } from 'fastify';
import { pidOf } from '@orbit/lib';
import { acceptedAt } from '../accepted-at.js';
import { RequestRefusedError } from '../errors.js';
import { idempotencyKeyHeaderOf, idempotencyKeyHeaderSchema, idempotencyKeyOf } from '../idempotency-key.js';
import { STARTED_BEFORE } from '../openapi.js';
import type { HeldRequest } from '../ports.js';
import { differingParts, namedParts } from '../upload-body-digest.js';
import type { ClaimedBy, SentBody, UploadAnswer, UploadRouteDeps } from './upload-route-types.js';

export const IDEMPOTENCY_KEY_SCHEMA = idempotencyKeyHeaderSchema(
  'Names this upload so that it can be sent again safely: a repeat with the same key answers 200 with the request the first one started (unless that failed), and starts nothing. A key names its upload for ORBIT_IDEMPOTENCY_KEY_TTL_HOURS (24 by default) from when it was first sent; after that it is free again',
);

export const STARTED_BEFORE_ANSWER = { ...STARTED_BEFORE, description: 'Sent before with this Idempotency-Key: the request it started, nothing started again (header Idempotent-Replayed: true)' };

export function send(reply: FastifyReply, answer: UploadAnswer): FastifyReply {
  // Stripe's header for an answer replayed from an earlier request.
  return answer.replayed ? reply.code(200).header('idempotent-replayed', 'true').send(answer.body) : acceptedAt(reply, answer.body.statusUrl).send(answer.body);
}

/**
 * A key sent again with another body is refused (422, the IETF draft's
 * answer; Stripe's too): answering with the request the key first started
 * would tell the client that another image, or another version, is under way.
 * Claims from before bodies were recorded (no digest) are not compared.
 */
export function refuseOtherBody(held: HeldRequest, sent: SentBody, key: ClaimedBy): void {
  if (!held.bodyDigest) return;
  const completion = key.field === 'uploadId';
  // A completion's content is the sha256 it pinned the archive by: one that pins nothing asks nothing of the bytes, so
  // it is the repeat of one that pinned them (a client retrying without the field), never of one that pinned others.
  const digest = completion && sent.digest.contentSha256 === null ? { ...sent.digest, contentSha256: held.bodyDigest.contentSha256 } : sent.digest;
  const parts = differingParts(held.bodyDigest, digest, sent.contentIs);
  if (parts.length === 0) return;
  const named = namedParts(parts, { completion, pinnedBefore: held.bodyDigest.contentSha256 !== null });
  const other = named.map(({ said }) => said).join(' and ');
  const message = key.field === 'idempotencyKey'
    ? `Idempotency-Key ${JSON.stringify(key.key)} was first sent with ${other} (request ${held.requestId}); a key names one upload: send this one with a new key`
    : `presigned upload ${key.key} was completed with ${other} (request ${held.requestId}); complete it again with the same metadata and sha256, or upload the image under a new presigned upload for these`;
  throw new RequestRefusedError(422, 'ORBIT_ERR_IDEMPOTENCY_KEY_REUSED', message,
    named.map(({ field }) => ({ field, message: `differs from what request ${held.requestId} was sent with` })));
}

/** The claims an upload call is held to (its presigned upload, its Idempotency-Key), and the answers a repeat gets. */
export interface UploadClaiming {
  /** The request a claim names, unless it failed (its archive may then go); `settled`: once a claim being written now is committed or undone. */
  readonly earlierOf: (claimed: ClaimedBy | undefined, owner: string, settled?: boolean) => Promise<HeldRequest | undefined>;
  /** The earlier request's answer, once this call's body is the one it was sent with. */
  readonly replayOf: (earlier: HeldRequest, sent: SentBody, claimed: ClaimedBy) => UploadAnswer;
  /** The answer to a call that an earlier one with the same key made already (its image from its request row, which is always there). */
  readonly startedBefore: (held: HeldRequest, imageUID?: string) => UploadAnswer;
  /** The claim a presigned upload's completion holds on its id (one request per upload). */
  readonly completionOf: (uploadId: string) => ClaimedBy | undefined;
  /** The call's Idempotency-Key claim, when it sent one. */
  readonly keyOf: (request: FastifyRequest) => ClaimedBy | undefined;
}

export function uploadClaiming(deps: Pick<UploadRouteDeps, 'statusUrl' | 'completions' | 'idempotencyKeys'>): UploadClaiming {
  function startedBefore(held: HeldRequest, imageUID = ''): UploadAnswer {
    return {
      replayed: true,
      body: { requestId: held.requestId, imageUID: held.imageUID ?? imageUID, pid: pidOf('uploadRequested'), status: held.status ?? 'accepted', statusUrl: deps.statusUrl(held.requestId) },
    };
  }

  async function earlierOf(claimed: ClaimedBy | undefined, owner: string, settled = false): Promise<HeldRequest | undefined> {
    if (!claimed) return undefined;
    const { claims, key } = claimed;
    const earlier = await (settled && claims.findSettled ? claims.findSettled(owner, key) : claims.find(owner, key));
    return earlier && earlier.status !== 'failed' ? earlier : undefined;
  }

  function replayOf(earlier: HeldRequest, sent: SentBody, claimed: ClaimedBy): UploadAnswer {
    refuseOtherBody(earlier, sent, claimed);
    return startedBefore(earlier);
  }

  function completionOf(uploadId: string): ClaimedBy | undefined {
    return deps.completions ? { claims: deps.completions, key: uploadId, field: 'uploadId' } : undefined;
  }

  function keyOf(request: FastifyRequest): ClaimedBy | undefined {
    const key = idempotencyKeyOf(idempotencyKeyHeaderOf(request.raw.rawHeaders));
    return key !== undefined && deps.idempotencyKeys ? { claims: deps.idempotencyKeys, key, field: 'idempotencyKey' } : undefined;
  }

  return { earlierOf, replayOf, startedBefore, completionOf, keyOf };
}
