import { entryOfPid, entryOfStep, isKnownPid, jsonBytes, pidOf, TTL_ATTRIBUTE, withCreatedTimestamps, type EventEnvelope, type Step } from '@orbit/lib';

export interface EventLogRow {
  readonly pid: string;
  /** Unique per Kafka message and the same on every replay, so a replay overwrites its own row. */
  readonly eventKey: string;
  readonly eventType: string;
  /** `message`: the row of one Kafka message; `step`: a transfer-document step that message also stands for. */
  readonly rowKind: 'message' | 'step';
  /** Left out when over KEPT_FIELD_BYTES, as a trimmed payload leaves it out: the payload has it (or its size). */
  readonly eventId?: string;
  /**
   * Keys of the GSIs (byUsername, byImageUID, byCorrelationId): each left out
   * when DynamoDB would refuse it as an index key (empty, or over
   * INDEX_PARTITION_KEY_BYTES), so the row is written, just not indexed
   * there; the payload keeps the value.
   */
  readonly username?: string;
  readonly imageUID?: string;
  readonly correlationId?: string;
  /** ISO 8601; the event's own number of ms when no Date can hold it (an Avro long reaches past year 275760). */
  readonly occurredAt: string | number;
  readonly topic: string;
  readonly partition: number;
  readonly offset: string;
  /** The decoded event as JSON text: exact, unless it is too big for a row (see `payloadTrimmedFrom`). */
  readonly payload: string;
  /**
   * Set when the event was too big for one DynamoDB item: its bytes as JSON.
   * `payload` then keeps every small field (ids, pid, status, names,
   * versions, digests) and says of each big one only how big it was; the
   * whole event stays on Kafka at topic/partition/offset.
   */
  readonly payloadTrimmedFrom?: number;
  readonly createdTimestampUTC: string;
  readonly createdTimestampUnix: number;
  /**
   * Epoch seconds after which DynamoDB's TTL deletes the row (provisioning turns TTL on for this attribute of the
   * event and error logs); absent when rows are kept for ever (ORBIT_EVENT_LOG_RETENTION_DAYS=0).
   */
  readonly expiresAt?: number;
}

const DAY_SECONDS = 86_400;

/**
 * When a row of an event that occurred at `occurredAt` (ms) expires, `retentionDays` after it, in epoch seconds;
 * undefined when rows are kept for ever (0 days). An event time after the row's writing (a producer's clock ahead, a
 * far-future value an Avro long allows) counts as the writing: it would keep the row past its retention, or for ever.
 * A row already past its retention (an old message replayed) expires now rather than at its event time: DynamoDB's
 * TTL passes over items whose time is more than five years gone, so such a row would never be deleted.
 */
export function expiresAtOf(occurredAt: number, retentionDays: number, now: Date = new Date()): number | undefined {
  if (retentionDays <= 0) return undefined;
  const nowSeconds = Math.floor(now.getTime() / 1000);
  const from = Number.isFinite(occurredAt) ? Math.min(Math.floor(occurredAt / 1000), nowSeconds) : nowSeconds;
  return Math.max(from + retentionDays * DAY_SECONDS, nowSeconds);
}

/** DynamoDB holds 400 KB per item; a row's other attributes take well under 10 KB. */
export const MAX_PAYLOAD_BYTES = 350 * 1024;
/** Fields up to this size are kept when a payload has to be trimmed: every id, name, status and digest is far smaller. */
const KEPT_FIELD_BYTES = 1024;
/** DynamoDB refuses an index partition key over this many bytes (UTF-8), and the whole item with it. */
export const INDEX_PARTITION_KEY_BYTES = 2048;

/** An envelope string copied beside the payload, or nothing where DynamoDB would refuse it or the row would be mostly it. */
function copied<Name extends string>(name: Name, value: string, maxBytes: number): { [K in Name]?: string } {
  return value === '' || Buffer.byteLength(value, 'utf8') > maxBytes ? {} : ({ [name]: value } as { [K in Name]: string });
}

/** The event's time as ISO 8601; one no Date can hold stays the number it was instead of failing the message. */
function occurredAtOf(occurredAt: number): string | number {
  const at = new Date(occurredAt);
  return Number.isNaN(at.getTime()) ? occurredAt : at.toISOString();
}

/** An object's small fields as they are, its big ones as their size; one level down for objects (metadata keeps its imageVersion). */
function trimmed(value: Record<string, unknown>, depth: number): Record<string, unknown> {
  const kept: Record<string, unknown> = {};
  for (const [name, field] of Object.entries(value)) {
    const bytes = jsonBytes(field);
    if (bytes <= KEPT_FIELD_BYTES) kept[name] = field;
    else if (depth > 0 && typeof field === 'object' && field !== null && !Array.isArray(field)) kept[name] = { ...trimmed(field as Record<string, unknown>, depth - 1), omittedBytes: bytes };
    else kept[name] = { omittedBytes: bytes };
  }
  return kept;
}

/**
 * The event as a row can hold it. Events are bounded where they start
 * (metadata, image facts), but the event log writes every message, whoever
 * produced it: one it could not write was dead-lettered, and the request's
 * timeline lost its step.
 */
export function payloadOf(event: EventEnvelope): { payload: string; payloadTrimmedFrom?: number } {
  const whole = JSON.stringify(event);
  const bytes = Buffer.byteLength(whole, 'utf8');
  if (bytes <= MAX_PAYLOAD_BYTES) return { payload: whole };
  return { payload: JSON.stringify(trimmed(event as unknown as Record<string, unknown>, 1)), payloadTrimmedFrom: bytes };
}

/** Sorts by occurrence time first, then by position: a timeline query reads rows in order. */
export function eventKeyOf(occurredAt: number, topic: string, partition: number, offset: string): string {
  return `${String(occurredAt).padStart(13, '0')}#${topic}#${partition}#${offset.padStart(20, '0')}`;
}

/** `retentionDays`: see expiresAtOf; 0 (no `expiresAt`) keeps the row for ever. */
export function eventLogRow(
  event: EventEnvelope,
  position: { topic: string; partition: number; offset: string },
  now: Date = new Date(),
  retentionDays = 0,
): EventLogRow {
  const expiresAt = expiresAtOf(event.occurredAt, retentionDays, now);
  return withCreatedTimestamps({
    pid: event.pid,
    eventKey: eventKeyOf(event.occurredAt, position.topic, position.partition, position.offset),
    eventType: isKnownPid(event.pid) ? entryOfPid(event.pid).eventType : 'unknown',
    rowKind: 'message',
    ...copied('eventId', event.eventId, KEPT_FIELD_BYTES),
    ...copied('username', event.actor.username, INDEX_PARTITION_KEY_BYTES),
    ...copied('imageUID', event.imageUID, INDEX_PARTITION_KEY_BYTES),
    ...copied('correlationId', event.correlationId, INDEX_PARTITION_KEY_BYTES),
    occurredAt: occurredAtOf(event.occurredAt),
    topic: position.topic,
    partition: position.partition,
    offset: position.offset,
    ...payloadOf(event),
    ...(expiresAt === undefined ? {} : { [TTL_ATTRIBUTE]: expiresAt }),
  }, now);
}

/**
 * The transfer document names seven steps; the pipeline carries them in four
 * messages. Each such message also stands for the step(s) it implies, logged
 * as extra `step` rows under their own PIDs, keyed by the message's position
 * so a replay overwrites them too. The upload flow starts with the user's
 * submission to the portal (`c2usr03-c8fms03-e05`), which UploadRequested
 * stands for: the gateway publishes it once the submission is in.
 */
export function impliedSteps(event: EventEnvelope & { causeEventType?: string; status?: string }): Step[] {
  switch (event.pid) {
    case pidOf('uploadRequested'): return ['uploadSubmitted'];
    case pidOf('transferRequested'): return ['transferInitiated'];
    case pidOf('imageUploaded'): return ['imageRetrieved'];
    case pidOf('helmChartUploaded'): return ['helmChartRetrieved'];
    case pidOf('viewportUpdated'):
      return event.causeEventType === entryOfStep('helmChartUploaded').eventType && event.status === 'succeeded' ? ['imageTransferred'] : [];
    default: return [];
  }
}

/** The message's own row, then one row per step it implies, each expiring with it. */
export function eventLogRows(event: EventEnvelope, position: { topic: string; partition: number; offset: string }, now: Date = new Date(), retentionDays = 0): EventLogRow[] {
  const row = eventLogRow(event, position, now, retentionDays);
  return [row, ...impliedSteps(event).map((step): EventLogRow => ({ ...row, pid: pidOf(step), eventType: entryOfStep(step).eventType, rowKind: 'step' }))];
}

/** Order of a step inside its flow, from the PID (`-e40` -> 40; errors last). */
export function stepOrderOf(pid: string): number {
  const match = /-e(\d+)$/.exec(pid);
  return match ? Number(match[1]) : 1000;
}
