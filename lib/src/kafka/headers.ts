import type { IHeaders } from './client.js';

/** Header names Orbit writes on every message (and the DLQ adds its own). */
export const HEADER = {
  traceparent: 'traceparent',
  eventType: 'orbit-event-type',
  pid: 'orbit-pid',
  correlationId: 'orbit-correlation-id',
  eventId: 'orbit-event-id',
  /** On a re-driven message: the one consumer group that failed on it and is to handle it again; every other group passes it over. */
  redriveGroup: 'orbit-redrive-group',
  dlqError: 'orbit-dlq-error-code',
  dlqMessage: 'orbit-dlq-error-message',
  dlqRetriable: 'orbit-dlq-error-retriable',
  dlqAttempts: 'orbit-dlq-attempts',
  dlqTopic: 'orbit-dlq-original-topic',
  dlqPartition: 'orbit-dlq-original-partition',
  dlqOffset: 'orbit-dlq-original-offset',
  dlqGroup: 'orbit-dlq-consumer-group',
  dlqFailedAt: 'orbit-dlq-failed-at',
  /** On a letter too large to keep its message: the value's length in bytes (the value and its headers are not in the letter). */
  dlqOmitted: 'orbit-dlq-omitted-value-bytes',
  dlqOmittedSha256: 'orbit-dlq-omitted-value-sha256',
  /**
   * On a letter of a message that had headers with no value (kafkajs cannot write one, so the letter, and a re-drive,
   * go without them): their names, as a JSON array of strings (a name may hold any character, a comma too).
   */
  dlqDroppedHeaders: 'orbit-dlq-dropped-headers',
  /** The failed message's own record timestamp (milliseconds since the epoch, as Kafka gives it): a re-drive's copy gets a new one. */
  dlqOriginalTimestamp: 'orbit-dlq-original-timestamp',
} as const;

/**
 * A header's value as it comes off the wire. kafkajs's type leaves out null,
 * yet hands it back for a header with no value (length -1), which the Java
 * client, librdkafka and kcat write.
 */
type WireHeaderValue = Buffer | string | null | undefined;

/**
 * The values kafkajs hands back for one header name. A name like an Object.prototype property (`constructor`,
 * `toString`) comes with the inherited function before its value (kafkajs tests `headers[name] === undefined`), which
 * no producer wrote: only bytes, text and no-value are a header's.
 */
function wireValuesOf(value: unknown): WireHeaderValue[] {
  const all: readonly unknown[] = Array.isArray(value) ? value : [value];
  return all.filter((one): one is WireHeaderValue => one === null || one === undefined || typeof one === 'string' || Buffer.isBuffer(one));
}

function valuesOf(value: unknown): Buffer[] {
  return wireValuesOf(value).flatMap((one) => (one === null || one === undefined ? [] : [typeof one === 'string' ? Buffer.from(one, 'utf8') : one]));
}

/**
 * Every value of every header, as bytes, in their order: what a dead letter
 * keeps and a re-drive puts back. A header with no value is left out: kafkajs
 * cannot write one (its send fails), so keeping it would hold the letter.
 */
export function headerBytes(headers: IHeaders | undefined): Record<string, Buffer[]> {
  // Built as own properties: a header named __proto__ assigned would set the object's prototype, not a header.
  return Object.fromEntries(Object.entries(headers ?? {}).map(([name, value]) => [name, valuesOf(value)] as const).filter(([, values]) => values.length > 0));
}

/**
 * The names of the headers one value or more of which had no value (length -1 on the wire), each once, in order: what
 * `headerBytes` leaves out, wholly or (a repeated header) in part.
 */
export function valuelessHeaderNames(headers: IHeaders | undefined): string[] {
  return Object.entries(headers ?? {}).filter(([, value]) => wireValuesOf(value).some((one) => one === null || one === undefined)).map(([name]) => name);
}

/** Header names as `orbit-dlq-dropped-headers` holds them; a value no DLQ writer wrote reads as no names. */
export function droppedHeaderNamesOf(text: string | undefined): string[] {
  if (text === undefined) return [];
  try {
    const parsed: unknown = JSON.parse(text);
    return Array.isArray(parsed) && parsed.every((name) => typeof name === 'string') ? parsed : [];
  } catch {
    return [];
  }
}

/** The last value of each header, as text: what handlers and Orbit's own headers need. A header with no value is absent. */
export function headersToStrings(headers: IHeaders | undefined): Record<string, string> {
  return Object.fromEntries(Object.entries(headerBytes(headers)).flatMap(([name, values]) => {
    const last = values.at(-1);
    return last === undefined ? [] : [[name, last.toString('utf8')] as const];
  }));
}
