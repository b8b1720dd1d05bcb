import { Counter, Histogram, type Registry } from 'prom-client';
import type { PushResult } from './push-image.js';

/** What the store step reports of its pushes. */
export interface PushObserver {
  pushed(result: PushResult, seconds: number): void;
  refused(): void;
  /** Referrers a transfer carried from the source environment's registry (`carried`), or a carrying that failed the transfer (`carry-refused`). */
  carried?(outcome: 'carried' | 'carry-refused', count: number): void;
}

/**
 * What ops watch of the registry pushes: how many went through, were
 * already there (redeliveries, replays) or were refused, the bytes sent, the
 * blobs mounted from another repository instead (shared base layers), the
 * referrers pushed beside the images or refused, and how long a push took
 * (its share of an upload's time).
 */
export function pushMetrics(registry: Registry): PushObserver {
  const pushes = new Counter({
    name: 'orbit_registry_pushes_total', help: 'Images pushed to ORBIT_IMAGE_REGISTRY, by outcome (pushed, already-there, refused)',
    labelNames: ['outcome'], registers: [registry],
  });
  const bytes = new Counter({ name: 'orbit_registry_push_bytes_total', help: 'Blob bytes sent to ORBIT_IMAGE_REGISTRY', registers: [registry] });
  const mounted = new Counter({
    name: 'orbit_registry_push_blobs_mounted_total', help: 'Blobs the registry mounted from another of its repositories instead of their being sent', registers: [registry],
  });
  const referrers = new Counter({
    name: 'orbit_registry_referrers_total',
    help: 'Referrers (SBOMs, signatures) pushed beside images, by outcome (pushed, refused: the image went without them; carried: copied from the source environment registry on a transfer, carry-refused: a transfer failed on them)',
    labelNames: ['outcome'], registers: [registry],
  });
  const duration = new Histogram({
    name: 'orbit_registry_push_seconds', help: 'From the first look into the registry to the manifest put, per pushed image',
    // To an hour, as the message buckets: pushing a 10 GiB image takes far past 900 s.
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 900, 1800, 3600], registers: [registry],
  });
  // A series born at its first increment has no earlier sample: `increase(…{outcome="refused"})` would miss the first refusal after a restart.
  for (const outcome of ['pushed', 'already-there', 'refused']) pushes.inc({ outcome }, 0);
  for (const outcome of ['pushed', 'refused', 'carried', 'carry-refused']) referrers.inc({ outcome }, 0);
  return {
    pushed: (result, seconds) => {
      pushes.inc({ outcome: result.alreadyThere ? 'already-there' : 'pushed' });
      bytes.inc(result.bytesSent);
      mounted.inc(result.blobsMounted);
      if (!result.alreadyThere) referrers.inc({ outcome: 'pushed' }, result.referrers);
      referrers.inc({ outcome: 'refused' }, result.referrersRefused);
      if (!result.alreadyThere) duration.observe(seconds);
    },
    refused: () => pushes.inc({ outcome: 'refused' }),
    carried: (outcome, count) => referrers.inc({ outcome }, count),
  };
}
