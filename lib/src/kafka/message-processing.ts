/**
 * One message through a consume loop: decode, run the handler, and say what the loop does next with its partition
 * (move on, retry after a backoff, or re-read from a seek). An undecodable message or a permanent failure goes to
 * `<topic>.dlq` with its original bytes (or is skipped), and a copy re-driven for another group is passed over.
 */
import { errorCodeOf } from '../error-description.js';
import type { Logger } from '../logger.js';
import { childSpan, parseTraceparent } from '../trace-context.js';
import type { KafkaMessage, Producer } from './client.js';
import type { ConsumeLoopOptions } from './consume-loop-options.js';
import { SeekRequest, type ConsumedMessage } from './consumed-message.js';
import { sendToDeadLetterQueue } from './dead-letter.js';
import { HEADER, headersToStrings } from './headers.js';
import { CONSUMER_EVENTS, type ConsumerEventPayloads } from './instrumentation.js';
import { redriveForAnotherGroup, type ConsumerPassedOverPayload } from './redrive-copy.js';
import { watchingSlow, type Doing } from './slow-handler-warning.js';

export type Outcome = 'done' | 'retry' | 'seek';

/** Where one step of a batch leaves its partition: the offset handled, the one to retry after a backoff, or a seek made. */
export interface StepOutcome {
  readonly done?: string;
  readonly retryAt?: string;
  readonly seek?: true;
}

/** A message's outcome as a step of its batch. */
export function stepOutcomeOf(outcome: Outcome, offset: string): StepOutcome {
  if (outcome === 'seek') return { seek: true };
  return outcome === 'retry' ? { retryAt: offset } : { done: offset };
}

/** A message the codec refused for good: it goes to the DLQ (or is skipped) in its turn. */
export interface Undecodable {
  readonly undecodable: unknown;
  readonly log: Logger;
}

/** A `dlq:redrive` copy for another group: passed over in its turn, undecoded. */
export interface PassOver {
  readonly passOver: { readonly redrivenFor: string; readonly redrivenFrom: string };
}

/** What processing needs of its loop: its settings, and the state it shares with the loop's batches and retries. */
export interface ProcessingContext<E> {
  readonly options: ConsumeLoopOptions<E>;
  readonly log: Logger;
  readonly isRetriable: (error: unknown) => boolean;
  readonly slowHandlerWarnMs: number;
  /** Aborted on shutdown; handed to handlers. */
  readonly signal: AbortSignal;
  /** False once stop() began: a failure then leaves its message uncommitted for the next owner. */
  isRunning(): boolean;
  /** Undefined until the loop has started: a dead letter waits for it as a retry. */
  dlqProducer(): Producer | undefined;
  /** Retries already scheduled for the partition's current message. */
  retriesSoFar(topic: string, partition: number, offset: string): number;
  /** The error behind the latest retry, for the retry event. */
  failed(error: unknown): void;
  seek(topic: string, partition: number, offset: string): void;
  emitEvent<K extends keyof ConsumerEventPayloads>(name: K, payload: ConsumerEventPayloads[K]): void;
  emitPassedOver(payload: ConsumerPassedOverPayload): void;
}

/** Decodes and handles messages for one loop; holds only what handlers said they are doing. */
export class MessageProcessor<E> {
  /** What each running handler said it is doing (ConsumedMessage.describe), for its still-running warning. */
  private readonly doings = new WeakMap<ConsumedMessage<E>, Readonly<Record<string, string>>>();

  constructor(readonly context: ProcessingContext<E>) {}

  async processMessage(topic: string, partition: number, message: KafkaMessage): Promise<Outcome> {
    const { context } = this;
    const started = performance.now();
    const attemptsSoFar = context.retriesSoFar(topic, partition, message.offset) + 1;
    const consumed = await this.consumedOf(topic, partition, message);
    if (consumed === 'retry') return 'retry';
    if ('passOver' in consumed) return this.passOver(topic, partition, message, consumed.passOver);
    if ('undecodable' in consumed) return this.deadLetter(topic, partition, message, consumed.undecodable, 1, consumed.log, undefined);
    try {
      await this.watchingSlow(consumed.log, started, () => context.options.handler(consumed), () => this.doings.get(consumed));
      context.emitEvent(CONSUMER_EVENTS.processed, { topic, partition, offset: message.offset, durationMs: performance.now() - started });
      return 'done';
    } catch (error) {
      context.failed(error);
      if (error instanceof SeekRequest) {
        consumed.log.warn({ seekTo: error.offset, reason: error.message }, 'the store is behind this position; re-reading the partition from there');
        context.seek(topic, partition, error.offset);
        return 'seek';
      }
      if (!context.isRunning()) return 'retry'; // shutting down: leave it uncommitted for the next owner
      const retriable = context.isRetriable(error);
      if (retriable && attemptsSoFar < context.options.retryPolicy.maxAttempts) {
        consumed.log.warn({ err: error, attempt: attemptsSoFar }, 'transient failure, partition paused for backoff');
        return 'retry';
      }
      return this.deadLetter(topic, partition, message, error, attemptsSoFar, consumed.log, consumed);
    }
  }

  /** Runs a handler (or a batch handler), warning each slowHandlerWarnMs that it is still running. */
  watchingSlow(log: Logger, started: number, work: () => Promise<void>, doing?: Doing): Promise<void> {
    return watchingSlow(log, started, this.context.slowHandlerWarnMs, work, doing);
  }

  /**
   * Decodes a message into what handlers see; an undecodable one goes to the
   * DLQ here. The message's logger is made on first use: most messages never
   * log, and a child logger per message was a tenth of a replay's CPU.
   */
  async consumedOf(topic: string, partition: number, message: KafkaMessage): Promise<ConsumedMessage<E> | 'retry' | PassOver | Undecodable> {
    const { context } = this;
    const { options } = context;
    let headers: Record<string, string> = {};
    let log: Logger | undefined;
    let decoded: E | undefined;
    const logOf = (): Logger => (log ??= messageLogger(context.log, topic, partition, message, headers, decoded));
    // Headers are a foreign producer's bytes as much as the value: one the loop cannot read is set aside like an
    // undecodable value. Read outside this try, a null header value crashed every consumer that fetched it, for ever.
    try {
      headers = headersToStrings(message.headers);
      // Re-driven for another group: this one handled (or set aside) the original already.
      const names = [topic, options.logicalTopicOf?.(topic) ?? topic];
      const redrive = redriveForAnotherGroup(message.headers, names, options.redrivenFor ?? options.groupId);
      if (redrive) return { passOver: redrive };
      const event = await options.decode(topic, message.value);
      decoded = event;
      const consumed: ConsumedMessage<E> = {
        topic: options.logicalTopicOf?.(topic) ?? topic, partition, offset: message.offset, key: message.key?.toString('utf8') ?? null, event, headers,
        trace: childSpan(parseTraceparent(headers[HEADER.traceparent])), signal: context.signal,
        get log() {
          return logOf();
        },
        describe: (doing) => { this.doings.set(consumed, doing); },
      };
      return consumed;
    } catch (error) {
      context.failed(error);
      if (!context.isRunning()) return 'retry';
      if (context.isRetriable(error)) {
        this.warnDecodeRetry(topic, partition, message, error);
        return 'retry';
      }
      return { undecodable: error, log: logOf() };
    }
  }

  /**
   * A decode that failed for now (the schema registry down): once per attempt, as a handler's transient failure is, so
   * the backoff paces it. Nothing is decoded, so no pid, correlationId or imageUID: the message's key and offset say
   * which it is.
   */
  private warnDecodeRetry(topic: string, partition: number, message: KafkaMessage, error: unknown): void {
    const attempt = this.context.retriesSoFar(topic, partition, message.offset) + 1;
    this.context.log.warn({ err: error, code: errorCodeOf(error), topic, partition, offset: message.offset, key: message.key?.toString('utf8') ?? null, attempt },
      'transient failure decoding the message, partition paused for backoff');
  }

  /**
   * A message re-driven for another group: nothing to handle, but onPassedOver hears of it in its turn. Logged and
   * counted, so that a message no Orbit consumer handled can always be found.
   */
  async passOver(topic: string, partition: number, message: KafkaMessage, redrive: PassOver['passOver']): Promise<Outcome> {
    const { context } = this;
    try {
      await context.options.onPassedOver?.({ topic, partition, offset: message.offset });
      context.log.debug({ topic, partition, offset: message.offset, groupId: context.options.groupId, ...redrive }, 'passed over a message re-driven for another group');
      context.emitPassedOver({ topic, partition, offset: message.offset, ...redrive });
      return 'done';
    } catch (error) {
      context.failed(error);
      context.log.warn({ err: error, topic, partition, offset: message.offset }, 'could not pass over a message re-driven for another group; trying again');
      return 'retry';
    }
  }

  async deadLetter(topic: string, partition: number, message: KafkaMessage, error: unknown, attempts: number, log: Logger, consumed: ConsumedMessage<E> | undefined): Promise<Outcome> {
    const { context } = this;
    if (context.options.permanentFailures === 'skip') {
      log.error({ err: error, attempts }, 'message cannot be processed; skipped (this loop writes no dead letters)');
    } else {
      const dlqProducer = context.dlqProducer();
      if (!dlqProducer) return 'retry';
      let sent: Awaited<ReturnType<typeof sendToDeadLetterQueue>>;
      try {
        sent = await sendToDeadLetterQueue(dlqProducer, { topic, partition, message, error, attempts, groupId: context.options.groupId });
      } catch (dlqError) {
        log.error({ err: dlqError, cause: error }, 'DLQ unavailable, will retry the message');
        context.failed(dlqError);
        return 'retry';
      }
      if (sent === 'whole') log.error({ err: error, attempts }, 'message sent to the DLQ');
      else log.error({ err: error, attempts, valueBytes: message.value?.length ?? 0 }, 'message sent to the DLQ without its value and headers: too large for the DLQ topic; it stays on its own topic at this offset');
    }
    context.emitEvent(CONSUMER_EVENTS.deadLettered, { topic, partition, offset: message.offset, error, attempts });
    return this.announceDeadLetter(topic, partition, message, error, log, consumed);
  }

  /** Tells onDeadLettered; a retriable failure there handles the message again, so the notice is not lost. */
  private async announceDeadLetter(topic: string, partition: number, message: KafkaMessage, error: unknown, log: Logger, consumed: ConsumedMessage<E> | undefined): Promise<Outcome> {
    try {
      await this.context.options.onDeadLettered?.({ topic, partition, offset: message.offset, message: consumed, error });
    } catch (noticeError) {
      this.context.failed(noticeError);
      if (this.context.isRetriable(noticeError)) {
        log.warn({ err: noticeError }, 'could not announce the dead letter; handling the message again');
        return 'retry';
      }
      log.error({ err: noticeError }, 'could not announce the dead letter; whoever waits on its request is not told');
    }
    return 'done';
  }
}

/**
 * The message's logger. Its pid, correlationId and imageUID are the decoded
 * event's where it has them: the headers and key are only copies, which a
 * foreign producer may leave out or get wrong (found by a probe).
 */
export function messageLogger(log: Logger, topic: string, partition: number, message: KafkaMessage, headers: Record<string, string>, event?: unknown): Logger {
  const fields = typeof event === 'object' && event !== null ? (event as Record<string, unknown>) : {};
  const own = (name: string): string | undefined => (typeof fields[name] === 'string' ? fields[name] : undefined);
  return log.child({
    topic, partition, offset: message.offset,
    pid: own('pid') ?? headers[HEADER.pid], correlationId: own('correlationId') ?? headers[HEADER.correlationId], imageUID: own('imageUID') ?? message.key?.toString('utf8'),
  });
}
