import { Counter, Histogram, type Registry } from 'prom-client';
import type { FinishedRequest } from './plan.js';

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
    labelNames: ['kind', 'status'], buckets: [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 900], registers: [registry],
  });
  return (ended) => {
    for (const request of ended) {
      finished.inc({ kind: request.kind, status: request.status, reason: request.errorCode ?? '' });
      duration.observe({ kind: request.kind, status: request.status }, request.seconds);
    }
  };
}
