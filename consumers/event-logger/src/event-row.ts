import { entryOfPid, entryOfStep, isKnownPid, pidOf, withCreatedTimestamps, type EventEnvelope, type Step } from '@orbit/lib';

export interface EventLogRow {
  readonly pid: string;
  /** Unique per Kafka message and the same on every replay, so a replay overwrites its own row. */
  readonly eventKey: string;
  readonly eventType: string;
  /** `message`: the row of one Kafka message; `step`: a transfer-document step that message also stands for. */
  readonly rowKind: 'message' | 'step';
  readonly eventId: string;
  readonly username: string;
  readonly imageUID: string;
  readonly correlationId: string;
  readonly occurredAt: string;
  readonly topic: string;
  readonly partition: number;
  readonly offset: string;
  /** The decoded event as JSON text (exact, whatever its size or nesting). */
  readonly payload: string;
  readonly createdTimestampUTC: string;
  readonly createdTimestampUnix: number;
}

/** Sorts by occurrence time first, then by position: a timeline query reads rows in order. */
export function eventKeyOf(occurredAt: number, topic: string, partition: number, offset: string): string {
  return `${String(occurredAt).padStart(13, '0')}#${topic}#${partition}#${offset.padStart(20, '0')}`;
}

export function eventLogRow(
  event: EventEnvelope,
  position: { topic: string; partition: number; offset: string },
  now: Date = new Date(),
): EventLogRow {
  return withCreatedTimestamps({
    pid: event.pid,
    eventKey: eventKeyOf(event.occurredAt, position.topic, position.partition, position.offset),
    eventType: isKnownPid(event.pid) ? entryOfPid(event.pid).eventType : 'unknown',
    rowKind: 'message',
    eventId: event.eventId,
    username: event.actor.username,
    imageUID: event.imageUID,
    correlationId: event.correlationId,
    occurredAt: new Date(event.occurredAt).toISOString(),
    topic: position.topic,
    partition: position.partition,
    offset: position.offset,
    payload: JSON.stringify(event),
  }, now);
}

/**
 * The transfer document names seven steps; the pipeline carries them in four
 * messages. Each such message also stands for the step(s) it implies, logged
 * as extra `step` rows under their own PIDs, keyed by the message's position
 * so a replay overwrites them too.
 */
export function impliedSteps(event: EventEnvelope & { causeEventType?: string; status?: string }): Step[] {
  switch (event.pid) {
    case pidOf('transferRequested'): return ['transferInitiated'];
    case pidOf('imageUploaded'): return ['imageRetrieved'];
    case pidOf('helmChartUploaded'): return ['helmChartRetrieved'];
    case pidOf('viewportUpdated'):
      return event.causeEventType === entryOfStep('helmChartUploaded').eventType && event.status === 'succeeded' ? ['imageTransferred'] : [];
    default: return [];
  }
}

/** The message's own row, then one row per step it implies. */
export function eventLogRows(event: EventEnvelope, position: { topic: string; partition: number; offset: string }, now: Date = new Date()): EventLogRow[] {
  const row = eventLogRow(event, position, now);
  return [row, ...impliedSteps(event).map((step): EventLogRow => ({ ...row, pid: pidOf(step), eventType: entryOfStep(step).eventType, rowKind: 'step' }))];
}

/** Order of a step inside its flow, from the PID (`-e40` -> 40; errors last). */
export function stepOrderOf(pid: string): number {
  const match = /-e(\d+)$/.exec(pid);
  return match ? Number(match[1]) : 1000;
}
