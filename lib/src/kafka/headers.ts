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
} as const;

/** kafkajs hands headers back as Buffers (or arrays of them); we want strings. */
export function headersToStrings(headers: IHeaders | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers ?? {})) {
    if (value === undefined) continue;
    const last = Array.isArray(value) ? value[value.length - 1] : value;
    if (last === undefined) continue;
    out[name] = typeof last === 'string' ? last : last.toString('utf8');
  }
  return out;
}
