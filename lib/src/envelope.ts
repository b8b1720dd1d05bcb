import { randomUUID } from 'node:crypto';
import { entryOfStep, type Pid, type Step } from './pids.js';

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

/** The envelope of a new event of `step`, continuing the request `correlationId`. */
export function envelopeFor(step: Step, context: { correlationId: string; imageUID: string; actor: Actor }, now: Date = new Date()): EventEnvelope {
  return {
    eventId: randomUUID(),
    pid: entryOfStep(step).pid,
    correlationId: context.correlationId,
    imageUID: context.imageUID,
    occurredAt: now.getTime(),
    actor: context.actor,
  };
}
