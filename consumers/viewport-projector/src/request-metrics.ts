import { Counter, Histogram, type Registry } from 'prom-client';
import type { FinishedRequest } from './plan.js';

/**
 * The reason codes a request of each kind ends `failed` with, as docs/errors.md lists them (image rejection, pipeline
 * failures, charts, transfers). Their series start at 0, so `increase()` sees the first one after a restart; a code
 * not listed here (a foreign producer's, one added later) still counts, from its first occurrence.
 */
export const KNOWN_REASONS: Readonly<Record<FinishedRequest['kind'], readonly string[]>> = {
  upload: [
    'INVALID_METADATA', 'NAME_CONFLICT', 'CHECKSUM_MISMATCH', 'STAGED_OBJECT_MISSING', 'STAGING_NOT_OWNED', 'ALREADY_STORED',
    'REFERENCE_NOT_FOUND', 'REGISTRY_UNAUTHORIZED', 'REGISTRY_ERROR', 'REGISTRY_NOT_ALLOWED', 'REGISTRY_UNAVAILABLE',
    'NOT_AN_ARCHIVE', 'TRUNCATED', 'NO_MANIFEST', 'BAD_MANIFEST', 'BAD_CONFIG', 'MISSING_BLOB', 'DIGEST_MISMATCH', 'CONFIG_MISMATCH',
    'CORRUPT_LAYER', 'UNSUPPORTED_LAYER', 'UNSAFE_PATH', 'UNSUPPORTED_ENTRY', 'DUPLICATE_ENTRY', 'TOO_LARGE',
    'STORE_ACCESS_DENIED', 'BUCKET_MISSING', 'REGISTRY_PUSH_REFUSED', 'CHART_VERSION', 'CHART_INPUT', 'CHART_COMMAND',
    'DEAD_LETTERED', 'MALFORMED_REASON_CODE',
  ],
  transfer: [
    'IMAGE_NOT_FOUND', 'VERSION_NOT_FOUND', 'UNKNOWN_ENVIRONMENT', 'NOT_A_PROMOTION', 'SKIPS_ENVIRONMENT', 'NOT_IN_SOURCE_ENVIRONMENT',
    'ROLE_REQUIRED', 'SOURCE_OBJECT_MISSING', 'SOURCE_CHANGED', 'CHECKSUM_UNKNOWN', 'CHECKSUM_MISMATCH', 'STORE_ACCESS_DENIED',
    'BUCKET_MISSING', 'REGISTRY_PUSH_REFUSED', 'CHART_NOT_FOUND', 'CHART_ROW', 'CHART_ENVIRONMENT', 'DEAD_LETTERED', 'MALFORMED_REASON_CODE',
  ],
};

/**
 * What ops watch of the requests themselves, not of messages: how many ended
 * and how (a rise in one reason code, SOURCE_CHANGED say, is a signal of its
 * own), and how long uploads and transfers took from acceptance to their end.
 */
export function requestMetrics(registry: Registry): (ended: readonly FinishedRequest[]) => void {
  const finished = new Counter({
    name: 'orbit_requests_finished_total', help: 'Uploads and transfers that reached their end, by kind, status and reason code',
    labelNames: ['kind', 'status', 'reason'], registers: [registry],
  });
  const duration = new Histogram({
    name: 'orbit_request_duration_seconds', help: 'From a request\'s acceptance to the event that ended it',
    // To an hour, as the message buckets: a large pull by reference takes far past 900 s (10 GiB may take 10 240 s at the 1 MiB/s floor).
    labelNames: ['kind', 'status'], buckets: [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 900, 1800, 3600], registers: [registry],
  });
  // A series born at its first increment has no earlier sample: `increase()` would miss the first of each after a restart.
  for (const [kind, reasons] of Object.entries(KNOWN_REASONS)) {
    finished.inc({ kind, status: 'succeeded', reason: '' }, 0);
    for (const reason of reasons) finished.inc({ kind, status: 'failed', reason }, 0);
  }
  return (ended) => {
    for (const request of ended) {
      finished.inc({ kind: request.kind, status: request.status, reason: request.errorCode ?? '' });
      duration.observe({ kind: request.kind, status: request.status }, request.seconds);
    }
  };
}
