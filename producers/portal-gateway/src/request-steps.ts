import type { RequestRecord, TimelineEntry } from './ports.js';

/** Longest a long poll waits for the event log to catch up with a finished request's status. */
export const STEP_SETTLE_MS = 5_000;

export const isFinished = (record: Pick<RequestRecord, 'status'>): boolean => record.status === 'succeeded' || record.status === 'failed';

/**
 * True once the timeline holds the steps of the message that finished the
 * request. The status comes from ViewPort and the steps from the event log,
 * two consumers of the same events, so the last steps can arrive a moment
 * after the status. The message that finishes a request is the projector's
 * ViewportUpdated carrying the final status (for a transfer that succeeded,
 * logged as viewport-updated and image-transferred).
 */
export function stepsSettled(record: Pick<RequestRecord, 'kind' | 'status'>, steps: readonly TimelineEntry[]): boolean {
  if (!isFinished(record)) return true;
  const closed = steps.some((step) => step.eventType === 'viewport-updated' && statusOf(step.payload) === record.status);
  if (!closed) return false;
  return record.kind !== 'transfer' || record.status !== 'succeeded' || steps.some((step) => step.eventType === 'image-transferred');
}

function statusOf(payload: unknown): unknown {
  return typeof payload === 'object' && payload !== null ? (payload as { status?: unknown }).status : undefined;
}
