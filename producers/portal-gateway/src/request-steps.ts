import { entryOfPid, entryOfStep, isKnownPid, type Step } from '@orbit/lib';
import type { RequestRecord, TimelineEntry } from './ports.js';

/** Longest a long poll waits for the event log to catch up with a finished request's status. */
export const STEP_SETTLE_MS = 5_000;

export const isFinished = (record: Pick<RequestRecord, 'status'>): boolean => record.status === 'succeeded' || record.status === 'failed';

/** The steps every request of a kind that succeeded has logged, besides the closing ViewPort update. */
const SUCCESS_PATH: Readonly<Record<RequestRecord['kind'], readonly Step[]>> = {
  upload: ['uploadRequested', 'imageValidated', 'imageStored', 'helmChartGenerated'],
  transfer: ['transferRequested', 'transferInitiated', 'imageRetrieved', 'imageUploaded', 'helmChartRetrieved', 'helmChartUploaded', 'imageTransferred'],
};

/** The step that opens a request of a kind once it got past the gateway's own checks. */
const FIRST_STEP: Readonly<Record<RequestRecord['kind'], Step>> = { upload: 'uploadRequested', transfer: 'transferRequested' };

/**
 * True once the timeline holds every step that led to the request's end.
 * The status comes from ViewPort and the steps from the event log: two
 * consumers of the same events, and the event-logger writes the topics'
 * partitions independently, so any step (not only the last) can arrive a
 * moment after the status, and a message that stands for two steps (e.g.
 * ChartPromoted: helm-chart-retrieved and -uploaded) is two rows written one
 * after the other. Succeeded: the kind's whole path and the ViewPort update
 * that carried the final status. Failed: that update, the failure's own row,
 * the event the failure names as the one that failed, and the request's
 * first step (unless the gateway refused it before there was one).
 */
export function stepsSettled(record: Pick<RequestRecord, 'kind' | 'status'>, steps: readonly TimelineEntry[]): boolean {
  if (!isFinished(record)) return true;
  const logged = new Set(steps.map((step) => step.eventType));
  if (!steps.some((step) => step.eventType === 'viewport-updated' && field(step.payload, 'status') === record.status)) return false;
  if (record.status === 'succeeded') return SUCCESS_PATH[record.kind].every((step) => logged.has(entryOfStep(step).eventType));
  const failure = steps.find((step) => isKnownPid(step.pid) && entryOfPid(step.pid).isError);
  if (!failure) return false;
  const failedEventId = field(failure.payload, 'failedEventId');
  if (typeof failedEventId === 'string' && !steps.some((step) => field(step.payload, 'eventId') === failedEventId)) return false;
  return field(failure.payload, 'stage') === 'request' || logged.has(entryOfStep(FIRST_STEP[record.kind]).eventType);
}

function field(payload: unknown, name: string): unknown {
  return typeof payload === 'object' && payload !== null ? (payload as Record<string, unknown>)[name] : undefined;
}

/**
 * Each step once: a stage that ran again on the same message (it died, or the
 * broker stalled, before its commit) published its event again under the same
 * eventId (envelopeFor derives it from the event it answered), and the event
 * log has a row per Kafka message, so both. The first is kept. Rows without an
 * eventId (none are written so) are all kept.
 */
export function onceEach(steps: readonly TimelineEntry[]): TimelineEntry[] {
  const seen = new Set<string>();
  return steps.filter((step) => {
    const eventId = field(step.payload, 'eventId');
    if (typeof eventId !== 'string') return true;
    const key = `${step.pid}\u0000${eventId}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}
