import { describe, expect, it } from 'vitest';
import { sampleEvents } from '@orbit/schemas';
import { eventKeyOf, eventLogRow, eventLogRows, INDEX_PARTITION_KEY_BYTES, MAX_PAYLOAD_BYTES } from './event-row.js';

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

  // Each was accepted by the envelope check and then refused by DynamoDB (or threw), so dead-lettered with no row (found by a probe).
  it('writes a row DynamoDB takes for an event whose index keys it would refuse: empty or too long ones are left out, the payload keeps them', () => {
    const position = { topic: 'orbit.image.stored', partition: 1, offset: '17' };
    const unindexable = ['', 'u'.repeat(INDEX_PARTITION_KEY_BYTES + 1), '\u20ac'.repeat(683)];
    for (const username of unindexable) {
      const odd = { ...event, actor: { ...event.actor, username } };
      const rows = eventLogRows(odd, position);
      expect(rows.map((row) => [row.pid, row.eventKey, 'username' in row])).toEqual([[event.pid, eventLogRow(event, position).eventKey, false]]);
      expect(JSON.parse(rows[0]?.payload ?? '')).toEqual(odd);
    }
    const longest = '\u20ac'.repeat(682);
    expect(eventLogRow({ ...event, actor: { ...event.actor, username: longest } }, position).username).toBe(longest);
    const longCorrelation = eventLogRow({ ...event, correlationId: 'c'.repeat(2100) }, position);
    expect(['correlationId' in longCorrelation, JSON.parse(longCorrelation.payload).correlationId]).toEqual([false, 'c'.repeat(2100)]);
    const longImage = eventLogRow({ ...event, imageUID: 'i'.repeat(2100) }, position);
    expect(['imageUID' in longImage, longImage.correlationId, longImage.username]).toEqual([false, 'req-9', 'dev1']);
  });

  it('keeps a row with a huge eventId under DynamoDB\'s 400 KB item: the copy beside the payload is left out as the payload trims it', () => {
    for (const kib of [300, 405]) {
      const row = eventLogRow({ ...event, eventId: 'e'.repeat(kib * 1024) }, { topic: 'orbit.image.stored', partition: 1, offset: '17' });
      expect('eventId' in row).toBe(false);
      expect(Buffer.byteLength(JSON.stringify(row))).toBeLessThan(400 * 1024);
      expect(row).toMatchObject({ pid: event.pid, correlationId: 'req-9', username: 'dev1' });
    }
    expect(eventLogRow(event, { topic: 'orbit.image.stored', partition: 1, offset: '17' }).eventId).toBe(event.eventId);
  });

  it('writes an event whose time no Date can hold (a valid Avro long) with the number as it came, instead of failing it', () => {
    const position = { topic: 'orbit.image.stored', partition: 1, offset: '17' };
    const rows = eventLogRows({ ...event, occurredAt: 9e15 }, position);
    expect(rows.map((row) => [row.occurredAt, row.eventKey])).toEqual([[9e15, eventKeyOf(9e15, position.topic, position.partition, position.offset)]]);
    expect(eventLogRow({ ...event, occurredAt: 8.64e15 }, position).occurredAt).toBe('+275760-09-13T00:00:00.000Z');
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

describe('eventLogRows', () => {
  it('logs no "image-transferred" step for a transfer whose ViewportUpdated says it failed', () => {
    const failed = { ...sampleEvents()['orbit.viewport.updated'], causeEventType: 'helm-chart-uploaded', status: 'failed' as const };
    const rows = eventLogRows(failed, { topic: 'orbit.viewport.updated', partition: 0, offset: '3' });
    expect(rows.map((row) => [row.eventType, row.rowKind])).toEqual([['viewport-updated', 'message']]);
  });
});
