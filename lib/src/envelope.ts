import { createHash, randomUUID } from 'node:crypto';
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

/**
 * What makes a decoded event unusable, if anything: an empty id, or a PID
 * Orbit does not know. The schemas take any string, so only a producer
 * outside Orbit writes such an event; acted on, it made request rows with an
 * empty id and put steps into another request's timeline (found by a probe).
 * `requestId` is checked where the event has one.
 */
export function envelopeProblem(event: unknown): string | undefined {
  if (typeof event !== 'object' || event === null) return 'not a record';
  const fields = event as Record<string, unknown>;
  for (const name of ['eventId', 'correlationId', 'imageUID'] as const) {
    if (typeof fields[name] !== 'string' || fields[name].trim() === '') return `${name} is empty`;
  }
  if (typeof fields['pid'] !== 'string' || !isKnownPid(fields['pid'])) return `pid ${JSON.stringify(fields['pid'])} is not one of Orbit's steps`;
  if ('requestId' in fields && (typeof fields['requestId'] !== 'string' || fields['requestId'].trim() === '')) return 'requestId is empty';
  return undefined;
}
