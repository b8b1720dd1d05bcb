import type { FastifyReply } from 'fastify';
import { OrbitError } from '@orbit/lib';
import type { FieldProblem } from './metadata.js';

/** The body of every error answer the gateway writes: a stable code, why, and the fields at fault (`[]` when none, never absent). */
export interface ErrorBody {
  readonly code: string;
  readonly message: string;
  readonly problems: readonly FieldProblem[];
  /** The refusal was recorded as a failed request under this id. */
  readonly requestId?: string;
}

/** An error answer's body, its fields in the order every answer has had them (code, message, problems, requestId). */
export function errorBody(code: string, message: string, problems: readonly FieldProblem[] = [], requestId?: string): ErrorBody {
  return { code, message, problems, ...(requestId ? { requestId } : {}) };
}

/** The code of the error answer each reply was given, for the refusal counter (http-metrics.ts). */
const answeredCodes = new WeakMap<FastifyReply, string>();

/**
 * Answers `status` with `body` and notes its code for the reply: the refusal counter takes the code from here, where
 * the sender had it, instead of parsing every error body back out of the bytes sent.
 */
export function sendError(reply: FastifyReply, status: number, body: ErrorBody): FastifyReply {
  answeredCodes.set(reply, body.code);
  // An error is the state of one moment (a version not ready yet, a store away): no cache keeps it. Without a word a
  // 404 may be cached heuristically by a browser or a proxy, and one set for a read's 200 (`private, no-cache`) would
  // have a 412 or 503 revalidated as if it were that read.
  return reply.code(status).header('cache-control', 'no-store').send(body);
}

/** The code of the error answer sendError gave `reply`; none for an answer without one (/readyz's 503). */
export const answeredCode = (reply: FastifyReply): string | undefined => answeredCodes.get(reply);

/** A request the gateway refuses with a 4xx: a stable code, a status, and the fields at fault. */
export class RequestRefusedError extends OrbitError {
  /**
   * `requestId`: the refusal was recorded as a failed request (and so in the error log) under this id. `trail`: the
   * pid and image UID of that record's event, which the 'request refused' log line names beside the id, as the lines
   * of an accepted request's command do, so one search by any of them finds the refusal too.
   */
  constructor(
    readonly statusCode: number, code: string, message: string, readonly problems: readonly FieldProblem[] = [], readonly requestId?: string,
    readonly trail?: { readonly pid: string; readonly imageUID: string },
  ) {
    super(code, message);
  }
}

/** A refusal the same request gets past once something under way has ended: retriable, answered with Retry-After. */
export class RequestDeferredError extends RequestRefusedError {
  override readonly retriable = true;
  constructor(statusCode: number, code: string, message: string, problems: readonly FieldProblem[], readonly retryAfterSeconds: number) {
    super(statusCode, code, message, problems);
  }
}

/**
 * ViewPort was lost and is not rebuilt yet (see ProjectionWatch): every
 * request is refused, retriable, until an operator has run the rebuild.
 */
export class ProjectionLostRefusal extends OrbitError {
  constructor(readonly partitions: readonly string[]) {
    super('ORBIT_ERR_PROJECTION_LOST',
      'ViewPort lost its data and waits for an operator to run `npm run viewport:rebuild`; nothing was accepted: try again later',
      { retriable: true });
  }
}

export const badMetadata = (problems: readonly FieldProblem[]): RequestRefusedError =>
  new RequestRefusedError(400, 'ORBIT_ERR_BAD_METADATA', `invalid metadata: ${problems.map((problem) => `${problem.field}: ${problem.message}`).join('; ')}`, problems);

export const badRequest = (message: string, field = 'request'): RequestRefusedError =>
  new RequestRefusedError(400, 'ORBIT_ERR_BAD_REQUEST', message, [{ field, message }]);

export const notFound = (what: string): RequestRefusedError => new RequestRefusedError(404, 'ORBIT_ERR_NOT_FOUND', `${what} not found`);

/** A multipart body that ended before its closing boundary. */
export const FORM_CUT_SHORT = 'the multipart body ended before its closing boundary (--boundary--); nothing was accepted';
