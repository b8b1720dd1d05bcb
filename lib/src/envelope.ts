import { createHash, randomUUID } from 'node:crypto';
import { headOf } from './code-point.js';
import { IMAGE_UID_PATTERN } from './image-uid.js';
import { entryOfStep, isKnownPid, type Pid, type Step } from './pids.js';

/** Who caused an event; always taken from the verified token, never from a request body. */
export interface Actor {
  readonly username: string;
  readonly firstName: string | null;
  readonly lastName: string | null;
  readonly email: string | null;
}

/** Fields every Orbit event carries (the common envelope of every Avro schema). */
export interface EventEnvelope {
  readonly eventId: string;
  readonly pid: Pid;
  readonly correlationId: string;
  readonly imageUID: string;
  /** timestamp-millis */
  readonly occurredAt: number;
  readonly actor: Actor;
}

/**
 * A UUID (version 5 layout) made from `seed`: the same seed gives the same id
 * on every run, so an event made again in answer to the same event is
 * recognisable as the same.
 */
export function deterministicUuid(seed: string): string {
  const hex = createHash('sha256').update(seed).digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-5${hex.slice(13, 16)}-${((Number.parseInt(hex.slice(16, 18), 16) & 0x3f) | 0x80).toString(16)}${hex.slice(18, 20)}-${hex.slice(20, 32)}`;
}

/**
 * The envelope of a new event of `step`, continuing the request `correlationId`.
 * Made in answer to an event (`context` is that event, with its `eventId`), its id
 * is derived from that event's and the step: a stage that runs again on the same
 * message (it died, or the broker stalled, before its commit) publishes its event
 * again under the same id, so subscribers and the request's steps see one step
 * (found by a probe: a 30 s broker pause showed a request's steps twice). A
 * command the gateway starts (no cause) gets a random id.
 */
export function envelopeFor(step: Step, context: { correlationId: string; imageUID: string; actor: Actor; eventId?: string }, now: Date = new Date()): EventEnvelope {
  return {
    eventId: context.eventId === undefined ? randomUUID() : deterministicUuid(`${step}:${context.eventId}`),
    pid: entryOfStep(step).pid,
    correlationId: context.correlationId,
    imageUID: context.imageUID,
    occurredAt: now.getTime(),
    actor: context.actor,
  };
}

/** A request id as the gateway makes them (randomUUID), in either letter case: what GET /v1/requests/{id} takes. */
export const REQUEST_ID_PATTERN = '^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$';

/**
 * The times an event may carry (ms): what a MySQL DATETIME holds, years 1000
 * to 9999, which a JS Date holds too. Past them the projector's row had no
 * date (`ER_BAD_NULL_ERROR created_at`, for 8.64e15 + 5) or a refused one
 * (`ER_TRUNCATED_WRONG_VALUE`, year 0).
 */
export const OCCURRED_AT_RANGE = { from: Date.UTC(1000, 0, 1), to: Date.UTC(9999, 11, 31, 23, 59, 59, 999) } as const;

const imageUIDForm = new RegExp(IMAGE_UID_PATTERN);
const requestIdForm = new RegExp(REQUEST_ID_PATTERN);

/** Why `occurredAt` cannot be the time of an event, if it cannot. */
function occurredAtProblem(occurredAt: unknown): string | undefined {
  if (typeof occurredAt !== 'number' || !Number.isInteger(occurredAt)) return `occurredAt ${String(occurredAt)} is not a time in ms`;
  if (occurredAt < OCCURRED_AT_RANGE.from || occurredAt > OCCURRED_AT_RANGE.to) {
    return `occurredAt ${occurredAt} is outside years 1000 to 9999 (${new Date(OCCURRED_AT_RANGE.from).toISOString()} to ${new Date(OCCURRED_AT_RANGE.to).toISOString()})`;
  }
  return undefined;
}

/** A value as a reason quotes it: bounded, so a megabyte of junk does not become a megabyte of DLQ header. */
const quoted = (value: string): string => JSON.stringify(value.length > 80 ? `${headOf(value, 80)}…` : value);

/**
 * What makes a decoded event unusable, if anything: an empty id, a PID Orbit
 * does not know, an imageUID that is not one (IMAGE_UID_PATTERN), a request
 * id that is not a UUID (where the event has one), a time no DATETIME or Date
 * holds. The schemas take any string and any long, so only a producer outside
 * Orbit writes such an event; acted on, it made request rows with an empty id,
 * put steps into another request's timeline (found by a probe), made request
 * rows the API refuses to read (`frnmxbogzwg-evolved`), an image
 * `frn/../../x` whose chart the chart-generator tried to put under
 * `frn/../../x-v1-0-00/` in S3, and rows MySQL refused with a bare error as
 * the letter's only reason (found by a review).
 */
export function envelopeProblem(event: unknown): string | undefined {
  if (typeof event !== 'object' || event === null) return 'not a record';
  const fields = event as Record<string, unknown>;
  for (const name of ['eventId', 'correlationId', 'imageUID'] as const) {
    if (typeof fields[name] !== 'string' || fields[name].trim() === '') return `${name} is empty`;
  }
  if (typeof fields['pid'] !== 'string' || !isKnownPid(fields['pid'])) return `pid ${JSON.stringify(fields['pid'])} is not one of Orbit's steps`;
  const { imageUID, requestId } = fields as { imageUID: string; requestId?: unknown };
  // Trailing spaces: the transfers route took `<uid>%20` until 2026-12-02 (MySQL's PAD SPACE matched it to the image),
  // so older topics hold such transfers; a rebuild projects them as it did then, onto the image.
  if (!imageUIDForm.test(imageUID.replace(/ +$/, ''))) return `imageUID ${quoted(imageUID)} is not an Orbit image UID (${IMAGE_UID_PATTERN})`;
  if ('requestId' in fields) {
    if (typeof requestId !== 'string' || requestId.trim() === '') return 'requestId is empty';
    if (!requestIdForm.test(requestId)) return `requestId ${quoted(requestId)} is not a UUID, as every request id the gateway makes is`;
  }
  return occurredAtProblem(fields['occurredAt']);
}
