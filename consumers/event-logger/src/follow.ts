import { ALL_TOPICS, IMAGE_UID_PATTERN, isDlqTopic } from '@orbit/lib';

/** A request id as the gateway gives one out. */
const REQUEST_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export const FOLLOW_USAGE = 'npm run events:follow -- [--from-beginning] [--image <imageUID>] [--request <requestId>] [--count <n>] [<topic>...]';

/** What `events:follow` was asked for: which topics, from where, which events, how many. */
export interface FollowOptions {
  readonly topics: readonly string[];
  readonly fromBeginning: boolean;
  readonly imageUID: string | undefined;
  /** A request's id: its events carry it as their correlationId. */
  readonly requestId: string | undefined;
  /** Stop after this many matching events; undefined: follow until interrupted. */
  readonly count: number | undefined;
}

/** The command line read into options, or why it cannot be. Topics default to every lifecycle topic. */
export function followOptionsOf(
  positionals: readonly string[], values: { 'from-beginning'?: boolean; image?: string; request?: string; count?: string },
): FollowOptions | { refused: string } {
  const unknown = positionals.filter((topic) => !(ALL_TOPICS as readonly string[]).includes(topic) && !isDlqTopic(topic));
  if (unknown.length > 0) return { refused: `not an Orbit topic: ${unknown.join(', ')} (one of ${ALL_TOPICS.join(', ')})` };
  if (positionals.some(isDlqTopic)) return { refused: 'dead letters keep their original bytes, not events: `npm run dlq:list` shows them' };
  // A filter no event can match would follow an empty stream for ever, which reads as "nothing yet".
  if (values.image !== undefined && !new RegExp(IMAGE_UID_PATTERN).test(values.image)) {
    return { refused: `--image must be an image UID (60 letters and digits), got ${JSON.stringify(values.image)}` };
  }
  if (values.request !== undefined && !REQUEST_ID.test(values.request)) return { refused: `--request must be a request id (a UUID), got ${JSON.stringify(values.request)}` };
  let count: number | undefined;
  if (values.count !== undefined) {
    count = /^[1-9]\d{0,8}$/.test(values.count) ? Number(values.count) : Number.NaN;
    if (Number.isNaN(count)) return { refused: `--count takes a whole number above 0, not ${JSON.stringify(values.count)}` };
  }
  return {
    topics: positionals.length > 0 ? [...new Set(positionals)] : ALL_TOPICS,
    fromBeginning: values['from-beginning'] ?? false,
    imageUID: values.image,
    // The gateway gives ids out in lower case and events carry them so; a UUID is the same in either case (RFC 9562).
    requestId: values.request?.toLowerCase(),
    count,
  };
}

/** True when a decoded event is one the options ask for. */
export function wanted(event: unknown, options: Pick<FollowOptions, 'imageUID' | 'requestId'>): boolean {
  const fields = (event ?? {}) as { imageUID?: unknown; correlationId?: unknown };
  return (options.imageUID === undefined || fields.imageUID === options.imageUID) && (options.requestId === undefined || fields.correlationId === options.requestId);
}

/** Where a message came from, as a follower prints it beside the event. */
export interface MessagePosition {
  readonly topic: string;
  readonly partition: number;
  readonly offset: string;
  readonly key: string | null;
  readonly traceparent: string | null;
}

/** One JSON line per event: where it lies on Kafka, then the event as its Avro schema decodes it. */
export function followLine(position: MessagePosition, event: unknown): string {
  // A Buffer has turned into {type, data} by the time `value` is seen; its holder still has it as it was.
  return JSON.stringify({ ...position, event }, function base64Bytes(this: Record<string, unknown>, key: string, value: unknown) {
    const original = this[key];
    if (original instanceof Uint8Array) return Buffer.from(original).toString('base64');
    return typeof value === 'bigint' ? value.toString() : value;
  });
}
