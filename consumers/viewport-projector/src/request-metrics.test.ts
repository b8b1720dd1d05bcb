import { readFileSync } from 'node:fs';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { KNOWN_REASONS, requestMetrics } from './request-metrics.js';

describe('requestMetrics', () => {
  it('has the series of each kind\'s success and known reason codes at 0 from its creation, so the first after a restart is an increase', async () => {
    const registry = new Registry();
    requestMetrics(registry);
    const text = await registry.metrics();
    expect(text).toContain('orbit_requests_finished_total{kind="upload",status="succeeded",reason=""} 0');
    expect(text).toContain('orbit_requests_finished_total{kind="transfer",status="succeeded",reason=""} 0');
    expect(text).toContain('orbit_requests_finished_total{kind="upload",status="failed",reason="REGISTRY_PUSH_REFUSED"} 0');
    expect(text).toContain('orbit_requests_finished_total{kind="upload",status="failed",reason="STAGING_NOT_OWNED"} 0');
    expect(text).toContain('orbit_requests_finished_total{kind="transfer",status="failed",reason="ROLE_REQUIRED"} 0');
    for (const [kind, reasons] of Object.entries(KNOWN_REASONS)) {
      for (const reason of reasons) expect(text).toContain(`orbit_requests_finished_total{kind="${kind}",status="failed",reason="${reason}"} 0`);
    }
  });

  it('still counts a reason code it does not know, and times requests up to an hour', async () => {
    const registry = new Registry();
    const ended = requestMetrics(registry);
    ended([{ requestId: 'r1', kind: 'upload', status: 'failed', errorCode: 'SOMETHING_NEW', seconds: 2000 }]);
    const text = await registry.metrics();
    expect(text).toContain('orbit_requests_finished_total{kind="upload",status="failed",reason="SOMETHING_NEW"} 1');
    expect(text).toContain('orbit_request_duration_seconds_bucket{le="900",kind="upload",status="failed"} 0');
    expect(text).toContain('orbit_request_duration_seconds_bucket{le="3600",kind="upload",status="failed"} 1');
  });

  it('knows only reason codes docs/errors.md documents, so a renamed code does not leave a dead zero series behind', () => {
    const doc = readFileSync(new URL('../../../docs/errors.md', import.meta.url), 'utf8');
    for (const reasons of Object.values(KNOWN_REASONS)) for (const reason of reasons) expect(doc, reason).toContain(`\`${reason}\``);
  });
});
