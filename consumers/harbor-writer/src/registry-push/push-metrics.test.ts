import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { pushMetrics } from './push-metrics.js';

describe('pushMetrics', () => {
  it('counts pushes by outcome, the bytes sent, the blobs mounted instead and the referrers pushed or refused, and times only the pushes that sent something', async () => {
    const registry = new Registry();
    const observe = pushMetrics(registry);
    observe.pushed({ reference: 'r/a@sha256:1', blobsSent: 3, bytesSent: 1000, blobsMounted: 2, tagged: true, tagReference: 'r/a:1', alreadyThere: false, referrers: 2, referrersRefused: 1 }, 2);
    observe.pushed({ reference: 'r/a@sha256:1', blobsSent: 0, bytesSent: 0, blobsMounted: 0, tagged: true, tagReference: 'r/a:1', alreadyThere: true, referrers: 2, referrersRefused: 0 }, 0.01);
    observe.refused();
    const text = await registry.metrics();
    expect(text).toContain('orbit_registry_pushes_total{outcome="pushed"} 1');
    expect(text).toContain('orbit_registry_pushes_total{outcome="already-there"} 1');
    expect(text).toContain('orbit_registry_pushes_total{outcome="refused"} 1');
    expect(text).toContain('orbit_registry_push_bytes_total 1000');
    expect(text).toContain('orbit_registry_push_blobs_mounted_total 2');
    expect(text).toContain('orbit_registry_push_seconds_count 1');
    // A redelivery finding them in place counts none again.
    expect(text).toContain('orbit_registry_referrers_total{outcome="pushed"} 2');
    expect(text).toContain('orbit_registry_referrers_total{outcome="refused"} 1');
  });

  it('counts the referrers a transfer carried from the source environment registry, and the carryings that failed a transfer', async () => {
    const registry = new Registry();
    const observe = pushMetrics(registry);
    observe.carried?.('carried', 3);
    observe.carried?.('carry-refused', 1);
    const text = await registry.metrics();
    expect(text).toContain('orbit_registry_referrers_total{outcome="carried"} 3');
    expect(text).toContain('orbit_registry_referrers_total{outcome="carry-refused"} 1');
  });

  it('has every outcome series at 0 from its creation, so the first refusal after a restart is an increase', async () => {
    const registry = new Registry();
    pushMetrics(registry);
    const text = await registry.metrics();
    for (const outcome of ['pushed', 'already-there', 'refused']) expect(text).toContain(`orbit_registry_pushes_total{outcome="${outcome}"} 0`);
    for (const outcome of ['pushed', 'refused', 'carried', 'carry-refused']) expect(text).toContain(`orbit_registry_referrers_total{outcome="${outcome}"} 0`);
  });

  it('times pushes up to an hour: a large image takes far past 900 s', async () => {
    const registry = new Registry();
    pushMetrics(registry).pushed({ reference: 'r/a@sha256:1', blobsSent: 1, bytesSent: 1, blobsMounted: 0, tagged: true, tagReference: 'r/a:1', alreadyThere: false, referrers: 0, referrersRefused: 0 }, 1000);
    const text = await registry.metrics();
    expect(text).toContain('orbit_registry_push_seconds_bucket{le="900"} 0');
    expect(text).toContain('orbit_registry_push_seconds_bucket{le="1800"} 1');
    expect(text).toContain('orbit_registry_push_seconds_bucket{le="3600"} 1');
  });
});
