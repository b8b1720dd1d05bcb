import { describe, expect, it } from 'vitest';
import { sampleEvents } from '@orbit/schemas';
import { eventKeyOf, eventLogRow, MAX_PAYLOAD_BYTES } from './event-row.js';

describe('eventLogRow', () => {
  const event = sampleEvents('U'.repeat(60), 'req-9')['orbit.image.stored'];

  it('carries the design keys, the event type from the PID, and both timestamps', () => {
    const row = eventLogRow(event, { topic: 'orbit.image.stored', partition: 1, offset: '17' }, new Date('2026-11-22T12:00:00Z'));
    expect(row).toMatchObject({
      pid: 'c12bms03-c16bre03-e50', eventType: 'image-stored', username: 'dev1', imageUID: 'U'.repeat(60), correlationId: 'req-9',
      createdTimestampUTC: '2026-11-22T12:00:00.000Z', createdTimestampUnix: 1795348800,
    });
    expect(JSON.parse(row.payload)).toEqual(event);
  });

  it('keeps an event too big for a DynamoDB item as its small fields and the sizes of its big ones, and says so', () => {
    const upload = sampleEvents('U'.repeat(60), 'req-9')['orbit.upload.requested'];
    const envVars = Array.from({ length: 14 }, (_, i) => ({ key: `K${i}`, value: 'x'.repeat(32_000) }));
    const big = { ...upload, metadata: { ...upload.metadata, envVars } };
    const row = eventLogRow(big, { topic: 'orbit.upload.requested', partition: 0, offset: '3' });
    expect(row.payloadTrimmedFrom).toBe(Buffer.byteLength(JSON.stringify(big)));
    expect(Buffer.byteLength(row.payload)).toBeLessThan(8 * 1024);
    const kept = JSON.parse(row.payload) as Record<string, unknown> & { metadata: Record<string, unknown> };
    // What the gateway reads from a step (ids, the version, the status) is all there.
    expect(kept).toMatchObject({ eventId: upload.eventId, pid: upload.pid, requestId: upload.requestId, imageUID: upload.imageUID });
    expect(kept.metadata).toMatchObject({ imageName: upload.metadata.imageName, imageVersion: upload.metadata.imageVersion, envVars: { omittedBytes: expect.any(Number) as unknown } });
    // An event that fits is kept exactly, with no marker.
    const fits = eventLogRow(upload, { topic: 'orbit.upload.requested', partition: 0, offset: '4' });
    expect([JSON.parse(fits.payload), 'payloadTrimmedFrom' in fits]).toEqual([upload, false]);
    expect(MAX_PAYLOAD_BYTES).toBeLessThan(400 * 1024);
  });

  it('gives a replayed message the same key, whenever it is written', () => {
    const position = { topic: 'orbit.image.stored', partition: 1, offset: '17' };
    expect(eventLogRow(event, position, new Date(1)).eventKey).toBe(eventLogRow(event, position, new Date(2)).eventKey);
  });

  it('orders keys by time, then by offset numerically', () => {
    expect(eventKeyOf(1000, 't', 0, '9') < eventKeyOf(1000, 't', 0, '10')).toBe(true);
    expect(eventKeyOf(999, 't', 0, '50') < eventKeyOf(1000, 't', 0, '1')).toBe(true);
  });
});
