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

  it('knows every reason code of docs/errors.md\'s image rejection and transfer tables, so a code added there starts at 0 too', () => {
    const doc = readFileSync(new URL('../../../docs/errors.md', import.meta.url), 'utf8');
    const tableCodes = (heading: string): string[] => {
      const section = doc.split(/^## /m).find((each) => each.startsWith(`${heading}\n`)) ?? '';
      // A row's first cell: one code or several (`CHECKSUM_UNKNOWN`, `CHECKSUM_MISMATCH`).
      return section.split('\n').filter((line) => line.startsWith('| `')).flatMap((line) => [...(line.split('|')[1] ?? '').matchAll(/`([A-Z][A-Z0-9_]*)`/g)].map((match) => match[1] ?? ''));
    };
    const rejections = tableCodes('Image rejection reason codes');
    const transfers = tableCodes('Transfers');
    expect(rejections.length).toBeGreaterThan(20);
    expect(transfers.length).toBeGreaterThan(10);
    expect(rejections.filter((code) => !KNOWN_REASONS.upload.includes(code))).toEqual([]);
    expect(transfers.filter((code) => !KNOWN_REASONS.transfer.includes(code))).toEqual([]);
  });

  it('knows only reason codes docs/errors.md documents, so a renamed code does not leave a dead zero series behind', () => {
    const doc = readFileSync(new URL('../../../docs/errors.md', import.meta.url), 'utf8');
    for (const reasons of Object.values(KNOWN_REASONS)) for (const reason of reasons) expect(doc, reason).toContain(`\`${reason}\``);
  });
});
