import { TOPICS, type EventEnvelope } from '@orbit/lib';
import type { PipelineFailed } from '@orbit/schemas';

/** What the viewport-projector writes a reason code as it is (its REASON_CODE_PATTERN); another it rewrites to MALFORMED_REASON_CODE. */
const REASON_CODE_FORM = /^[A-Z][A-Z0-9_]{0,63}$/;
/** viewport_requests.error_message is TEXT: a longer message the projector cuts (errorMessageColumnOf). */
const ERROR_MESSAGE_MAX_BYTES = 65_535;

/** The status columns of the request row the gateway writes with a command. */
export interface RequestRowStatus {
  readonly status: 'accepted' | 'failed';
  readonly errorCode: string | null;
  readonly errorMessage: string | null;
  readonly errorPid: string | null;
  /** created_at and updated_at; null: when the row is committed (UTC_TIMESTAMP). */
  readonly at: Date | null;
}

const ACCEPTED: RequestRowStatus = { status: 'accepted', errorCode: null, errorMessage: null, errorPid: null, at: null };

/**
 * The row of a request the gateway records with `event`. A refusal it records (its command is a PipelineFailed: 403
 * ROLE_REQUIRED, 409 NAME_CONFLICT, …) is failed from its first read, as the projector leaves it once it projects that
 * event, column for column (code, message, pid, both times the event's): the projector, which never moves a finished
 * row, then changes nothing, and a rebuild that gives the row back from the topic writes the same. Written accepted it
 * read "accepted", with no error and no step, for the ~100 ms until the projector got to it (found by a review).
 * A code or message the projector would rewrite (never one the gateway makes) is left to it, as before.
 */
export function requestRowStatusOf(topic: string, event: EventEnvelope): RequestRowStatus {
  if (topic !== TOPICS.pipelineFailed) return ACCEPTED;
  const refusal = event as PipelineFailed;
  if (!REASON_CODE_FORM.test(refusal.reasonCode) || Buffer.byteLength(refusal.message, 'utf8') > ERROR_MESSAGE_MAX_BYTES) return ACCEPTED;
  return { status: 'failed', errorCode: refusal.reasonCode, errorMessage: refusal.message, errorPid: refusal.pid, at: new Date(refusal.occurredAt) };
}
