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

  it('keeps every PID a user greps the event log and error log for: each step, its PID and its event type as published', () => {
    expect(PID_CATALOGUE.map(({ step, pid, eventType, flow, isError }) => ({ step, pid, eventType, flow, isError }))).toEqual([
      { step: 'uploadSubmitted', pid: 'c2usr03-c8fms03-e05', eventType: 'upload-submitted', flow: 'upload', isError: false },
      { step: 'uploadRequested', pid: 'c8fms03-c8bms06-e10', eventType: 'upload-requested', flow: 'upload', isError: false },
      { step: 'imageValidated', pid: 'c8bms06-c12bms03-e30', eventType: 'image-validated', flow: 'upload', isError: false },
      { step: 'imageStored', pid: 'c12bms03-c16bre03-e50', eventType: 'image-stored', flow: 'upload', isError: false },
      { step: 'helmChartGenerated', pid: 'c12bms06-c20bre12-e80', eventType: 'helm-chart-generated', flow: 'upload', isError: false },
      { step: 'viewportUpdated', pid: 'c8bms30-c32bre03-e85', eventType: 'viewport-updated', flow: 'both', isError: false },
      { step: 'imageRejected', pid: 'c12bms03-c20bre24-911', eventType: 'image-rejected', flow: 'upload', isError: true },
      { step: 'uploadFailed', pid: 'c8bms06-c20bre24-911', eventType: 'upload-failed', flow: 'upload', isError: true },
      { step: 'transferRequested', pid: 'c8fms06-c8bms18-e10', eventType: 'transfer-requested', flow: 'transfer', isError: false },
      { step: 'transferInitiated', pid: 'c8bms18-c20bre21-e15', eventType: 'transfer-initiated', flow: 'transfer', isError: false },
      { step: 'imageRetrieved', pid: 'c8bms18-c16bre06-e40', eventType: 'image-retrieved', flow: 'transfer', isError: false },
      { step: 'imageUploaded', pid: 'c8bms18-c16bre09-e50', eventType: 'image-uploaded', flow: 'transfer', isError: false },
      { step: 'helmChartRetrieved', pid: 'c8bms18-c20bre09-e60', eventType: 'helm-chart-retrieved', flow: 'transfer', isError: false },
      { step: 'helmChartUploaded', pid: 'c8bms18-c20bre30-e70', eventType: 'helm-chart-uploaded', flow: 'transfer', isError: false },
      { step: 'imageTransferred', pid: 'c8bms18-c20bre21-e95', eventType: 'image-transferred', flow: 'transfer', isError: false },
      { step: 'transferFailed', pid: 'c8bms18-c20bre24-911', eventType: 'transfer-failed', flow: 'transfer', isError: true },
    ]);
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
