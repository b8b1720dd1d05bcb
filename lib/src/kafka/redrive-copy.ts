import { dlqTopicOf } from '../topics.js';
import { writtenPositionOf } from './dlq-named.js';
import type { IHeaders } from './client.js';
import { HEADER, headerBytes } from './headers.js';
import type { MessagePosition } from './instrumentation.js';

/**
 * Where a `dlq:redrive` copy was a dead letter (`positionOf` the letter); dlq-ops.ts writes it on every copy it sends,
 * beside `orbit-redrive-group`, and a list shows it on a letter the copy failed into again.
 */
export const REDRIVEN_FROM_HEADER = 'orbit-redriven-from';

/** Where a dead letter is in its DLQ. */
export interface DlqPosition {
  readonly dlqTopic: string;
  readonly dlqPartition: number | string;
  readonly dlqOffset: string;
}

/** A letter's position as every dlq command prints it, and `orbit-redriven-from` holds it: `<dlq>/<partition>@<offset>`. */
export const positionOf = (letter: DlqPosition): string => `${letter.dlqTopic}/${letter.dlqPartition}@${letter.dlqOffset}`;

/** `<dlq>/<partition>/<offset>`, as re-drives wrote a position before the `@` form: read as that form. */
const OLDER_SEPARATOR = /^([^/]+\/\d+)\/(\d+)$/;

/** The position a `positionOf` text (either form) names, DLQ and partition included; undefined for any other text. */
export function parsedPositionOf(text: string): DlqPosition | undefined {
  const position = writtenPositionOf(text.replace(OLDER_SEPARATOR, '$1@$2'));
  if (position?.dlqTopic === undefined || position.partition === undefined) return undefined;
  return { dlqTopic: position.dlqTopic, dlqPartition: String(position.partition), dlqOffset: position.offset.toString() };
}

/** An `orbit-redriven-from` value as printed: the older form in the `@` one, text of no known form as it is. */
export function redrivenFromOf(header: string | undefined): string | null {
  if (header === undefined) return null;
  const position = parsedPositionOf(header);
  return position === undefined ? header : positionOf(position);
}

/** What a consume loop emits for each message it passes over as another group's re-drive (see instrumentConsumeLoop). */
export const CONSUMER_PASSED_OVER_EVENT = 'consumer.passed-over';

export interface ConsumerPassedOverPayload extends MessagePosition {
  /** The group the copy was re-driven for. */
  readonly redrivenFor: string;
  /** The dead letter it was re-driven from, as the copy's `orbit-redriven-from` says. */
  readonly redrivenFrom: string;
}

/** The header's one value as text; undefined when it is absent, or there twice (no re-drive writes a header twice). */
function onlyValueOf(headers: Record<string, Buffer[]>, name: string): string | undefined {
  const values = headers[name];
  return values?.length === 1 ? values[0]?.toString('utf8') : undefined;
}

/**
 * The group a `dlq:redrive` copy was sent back for, when the message is one
 * and that group is not `ownGroup`: the message to pass over. A re-drive sends
 * a dead letter back for the one group that failed on it; every other group
 * handled the original, and the copy would be a duplicate for them. Any
 * producer can write `orbit-redrive-group`, though, and Kafka Streams or
 * Connect jobs copy the headers of what they consumed: honoured alone, it made
 * every Orbit consumer drop a valid event silently (found by a review). So the
 * copy must also say, once, that it came from this topic's own DLQ
 * (`orbit-redriven-from`), and name its group once; anything else is handled
 * as any message is. `topics` are the names the message's topic goes by (its
 * own, and the logical one a replay of a renamed copy stands for).
 */
export function redriveForAnotherGroup(
  headers: IHeaders | undefined, topics: readonly string[], ownGroup: string,
): { readonly redrivenFor: string; readonly redrivenFrom: string } | undefined {
  const all = headerBytes(headers);
  const redrivenFor = onlyValueOf(all, HEADER.redriveGroup);
  if (redrivenFor === undefined || redrivenFor === '' || redrivenFor === ownGroup) return undefined;
  const redrivenFrom = onlyValueOf(all, REDRIVEN_FROM_HEADER);
  const dlq = redrivenFrom === undefined ? undefined : parsedPositionOf(redrivenFrom)?.dlqTopic;
  if (redrivenFrom === undefined || dlq === undefined || !topics.some((topic) => dlqTopicOf(topic) === dlq)) return undefined;
  return { redrivenFor, redrivenFrom };
}
