import { pidOf } from '@orbit/lib';
import { sampleEvents, type ViewportUpdated } from '@orbit/schemas';
import { describe, expect, it } from 'vitest';
import { eventLogRows } from './event-row.js';

const position = { topic: 'orbit.image.copied', partition: 0, offset: '7' };

describe('transfer document steps in the event log', () => {
  it('logs each message once, plus the steps it stands for under their own PIDs and the same key', () => {
    const copied = { ...sampleEvents()['orbit.image.copied'], pid: pidOf('imageUploaded') };
    const rows = eventLogRows(copied, position);
    expect(rows.map((row) => [row.pid, row.eventType, row.rowKind])).toEqual([
      ['c8bms18-c16bre09-e50', 'image-uploaded', 'message'],
      ['c8bms18-c16bre06-e40', 'image-retrieved', 'step'],
    ]);
    expect(new Set(rows.map((row) => row.eventKey)).size).toBe(1);
  });

  it('marks the transfer complete only on the ViewportUpdated that follows the chart promotion', () => {
    const base: ViewportUpdated = sampleEvents()['orbit.viewport.updated'];
    const done = eventLogRows({ ...base, causeEventType: 'helm-chart-uploaded', status: 'succeeded' } as ViewportUpdated, position);
    expect(done.map((row) => row.eventType)).toEqual(['viewport-updated', 'image-transferred']);
    const upload = eventLogRows({ ...base, causeEventType: 'helm-chart-generated', status: 'succeeded' } as ViewportUpdated, position);
    expect(upload.map((row) => row.eventType)).toEqual(['viewport-updated']);
  });

  it('opens an upload with the user\'s submission, the design\'s first upload PID, before the gateway\'s request (found by a probe: it was never written)', () => {
    expect(eventLogRows(sampleEvents()['orbit.upload.requested'], position).map((row) => [row.pid, row.eventType, row.rowKind])).toEqual([
      ['c8fms03-c8bms06-e10', 'upload-requested', expect.any(String)], ['c2usr03-c8fms03-e05', 'upload-submitted', 'step'],
    ]);
    expect(eventLogRows(sampleEvents()['orbit.image.validated'], position)).toHaveLength(1);
  });
});
