import { requestErrorColumnsOf, TOPICS, type EventEnvelope } from '@orbit/lib';
import type { PipelineFailed } from '@orbit/schemas';

/** The status columns of the request row the gateway writes with a command. */
export interface RequestRowStatus {
  readonly status: 'accepted' | 'failed';
  readonly errorCode: string | null;
  readonly errorMessage: string | null;
  readonly errorPid: string | null;
  /**
   * created_at and updated_at: the command's occurredAt, as the projector dates the request by it. The database's clock
   * at the commit (what null left it to) came after the request's own first step, the same event's occurredAt, and
   * told another time than the projector's (found by a review).
   */
  readonly at: Date;
}

/**
 * The row of a request the gateway records with `event`. A refusal it records (its command is a PipelineFailed: 403
 * ROLE_REQUIRED, 409 NAME_CONFLICT, …) is failed from its first read, as the projector leaves it once it projects that
 * event, column for column (code, message, pid, both times the event's): the projector, which never moves a finished
 * row, then changes nothing, and a rebuild that gives the row back from the topic writes the same. Written accepted it
 * read "accepted", with no error and no step, for the ~100 ms until the projector got to it (found by a review).
 * The code and message go through the projector's requestErrorColumnsOf (@orbit/lib), so a code that is not one or a
 * message longer than error_message is written as the projector writes it.
 */
export function requestRowStatusOf(topic: string, event: EventEnvelope): RequestRowStatus {
  if (topic !== TOPICS.pipelineFailed) return { status: 'accepted', errorCode: null, errorMessage: null, errorPid: null, at: new Date(event.occurredAt) };
  const refusal = event as PipelineFailed;
  const { errorCode, errorMessage } = requestErrorColumnsOf({ code: refusal.reasonCode, message: refusal.message });
  return { status: 'failed', errorCode, errorMessage, errorPid: refusal.pid, at: new Date(refusal.occurredAt) };
}
