import { describe, expect, it } from 'vitest';
import { sampleEvents } from '@orbit/schemas';
import { eventKeyOf, eventLogRow } from './event-row.js';

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

  it('gives a replayed message the same key, whenever it is written', () => {
    const position = { topic: 'orbit.image.stored', partition: 1, offset: '17' };
    expect(eventLogRow(event, position, new Date(1)).eventKey).toBe(eventLogRow(event, position, new Date(2)).eventKey);
  });

  it('orders keys by time, then by offset numerically', () => {
    expect(eventKeyOf(1000, 't', 0, '9') < eventKeyOf(1000, 't', 0, '10')).toBe(true);
    expect(eventKeyOf(999, 't', 0, '50') < eventKeyOf(1000, 't', 0, '1')).toBe(true);
  });
});
