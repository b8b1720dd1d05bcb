import { describe, expect, it } from 'vitest';
import { entryOfPid, eventTypeOf, PID_CATALOGUE, pidOf } from './pids.js';
import { UnknownEntryError } from './errors.js';

describe('PID catalogue', () => {
  it('holds the transfer document PIDs with their event types', () => {
    const expected: [string, string][] = [
      ['c8fms06-c8bms18-e10', 'transfer-requested'],
      ['c8bms18-c20bre21-e15', 'transfer-initiated'],
      ['c8bms18-c16bre06-e40', 'image-retrieved'],
      ['c8bms18-c16bre09-e50', 'image-uploaded'],
      ['c8bms18-c20bre09-e60', 'helm-chart-retrieved'],
      ['c8bms18-c20bre30-e70', 'helm-chart-uploaded'],
      ['c8bms30-c32bre03-e85', 'viewport-updated'],
      ['c8bms18-c20bre21-e95', 'image-transferred'],
      ['c8bms18-c20bre24-911', 'transfer-failed'],
    ];
    for (const [pid, eventType] of expected) expect(entryOfPid(pid).eventType).toBe(eventType);
  });

  it('follows the PID grammar: orders in steps of 5, errors end in -911', () => {
    for (const entry of PID_CATALOGUE) {
      expect(entry.pid).toMatch(/^[a-z0-9]+-[a-z0-9]+-(e\d{2}|911)$/);
      if (!entry.isError) expect(Number(entry.pid.slice(-2)) % 5).toBe(0);
    }
    expect(new Set(PID_CATALOGUE.map((entry) => entry.pid)).size).toBe(PID_CATALOGUE.length);
  });

  it('derives event types from step names', () => {
    expect(eventTypeOf('helmChartGenerated')).toBe('helm-chart-generated');
    expect(pidOf('uploadRequested')).toBe('c8fms03-c8bms06-e10');
    expect(() => entryOfPid('nope')).toThrow(UnknownEntryError);
  });
});
