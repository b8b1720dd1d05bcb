import { describeError, entryOfPid, envelopeFor, errorCodeOf, isKnownPid, TOPICS, type ConsumedMessage, type DeadLetteredMessage, type EventPublisher } from '@orbit/lib';
import { imageVersionOf, targetEnvironmentOf, type OrbitEvent, type PipelineFailed } from './events.js';

/** The reason code of a request whose message a stage set aside in its DLQ. */
export const DEAD_LETTERED = 'DEAD_LETTERED';

/** The DLQ header's error code and the error in words (an S3 400 with the call it refused; see describeError). */
function causeOf(error: unknown): string {
  return `${errorCodeOf(error)}: ${describeError(error, 500)}`;
}

/**
 * The PipelineFailed that tells a request's owner a stage could not process
 * one of its messages and put it in the DLQ, so the request fails visibly
 * instead of waiting for ever. Undefined when there is no request to tell:
 * an undecodable message, an event of no request, a ViewportUpdated, or a
 * failure itself (a failure is never answered with another one).
 */
export function deadLetterFailure(
  letter: { readonly topic: string; readonly message: Pick<ConsumedMessage<OrbitEvent>, 'event'> | undefined; readonly error: unknown },
  stage: string,
): PipelineFailed | undefined {
  const event = letter.message?.event;
  if (!event || !isKnownPid(event.pid)) return undefined;
  const { requestId } = event as { requestId?: unknown };
  const entry = entryOfPid(event.pid);
  if (typeof requestId !== 'string' || entry.isError || entry.flow === 'both') return undefined;
  const cause = causeOf(letter.error);
  return {
    ...envelopeFor(entry.flow === 'upload' ? 'uploadFailed' : 'transferFailed', event),
    requestId, flow: entry.flow, stage, reasonCode: DEAD_LETTERED, failedEventId: event.eventId, imageVersion: imageVersionOf(event), targetEnvironment: targetEnvironmentOf(event),
    message: `${stage} could not process ${entry.eventType} and set it aside for an operator (${cause}); the request carries on if it is re-driven from ${letter.topic}.dlq`,
  };
}

/** A consumer's dead-letter hook: publishes the request's failure, when there is a request to tell. */
export function failRequestOnDeadLetter(stage: string, publisher: Pick<EventPublisher, 'publish'>): (letter: DeadLetteredMessage<OrbitEvent>) => Promise<void> {
  return async (letter) => {
    const failure = deadLetterFailure(letter, stage);
    if (failure) await publisher.publish(TOPICS.pipelineFailed, failure, letter.message ? { trace: letter.message.trace } : {});
  };
}
