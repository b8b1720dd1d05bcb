/** What a consume loop hands its handlers: the decoded message and its context, and what a handler may ask of the loop. */
import { OrbitError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { TraceContext } from '../trace-context.js';
import type { MessagePosition } from './instrumentation.js';

export interface ConsumedMessage<E> extends MessagePosition {
  readonly key: string | null;
  readonly event: E;
  readonly headers: Readonly<Record<string, string>>;
  /** This handler's span; pass it to the publisher so the trace continues. */
  readonly trace: TraceContext;
  /** Logger carrying topic, partition, offset, pid, correlationId and imageUID. */
  readonly log: Logger;
  /** Aborted on shutdown: long effects should stop and let the message be redelivered. */
  readonly signal: AbortSignal;
  /**
   * Says what the handler is doing with the message (a pull's reference and registry), for the warning that it is still
   * running to carry: an offset alone does not tell an operator which registry holds a partition. The last one given
   * stands. Optional, so that a message made by hand (a test, another loop) need not have it.
   */
  readonly describe?: (doing: Readonly<Record<string, string>>) => void;
}

export type MessageHandler<E> = (message: ConsumedMessage<E>) => Promise<void>;

/** A message the loop has just put in its DLQ: decoded when it could be, with the failure that sent it there. */
export interface DeadLetteredMessage<E> extends MessagePosition {
  /** Undefined when the message could not be decoded. */
  readonly message: ConsumedMessage<E> | undefined;
  readonly error: unknown;
}

/**
 * Thrown by a handler whose store is behind the group's position (its applied
 * offsets say `offset` comes next): the loop re-reads the partition from there
 * instead of skipping what the store never saw.
 */
export class SeekRequest extends OrbitError {
  constructor(readonly offset: string, reason: string) {
    super('ORBIT_ERR_SEEK', reason);
  }
}
