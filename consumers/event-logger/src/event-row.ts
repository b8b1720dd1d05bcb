import { entryOfPid, isKnownPid, withCreatedTimestamps, type EventEnvelope } from '@orbit/lib';

export interface EventLogRow {
  readonly pid: string;
  /** Unique per Kafka message and the same on every replay, so a replay overwrites its own row. */
  readonly eventKey: string;
  readonly eventType: string;
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
