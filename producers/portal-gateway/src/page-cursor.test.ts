import { describe, expect, it } from 'vitest';
import { decodeCursor, encodeCursor } from './page-cursor.js';

describe('listing cursors', () => {
  it('round-trip any text, URL-safe', () => {
    const parts = ['billing-api/ünïcode "quoted" +/=', 'U'.repeat(60)];
    const cursor = encodeCursor(parts);
    expect(cursor).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(decodeCursor(cursor, 2)).toEqual(parts);
  });

  it('refuse what this API did not give out', () => {
    for (const cursor of ['', 'not base64 at all!', Buffer.from('{"a":1}').toString('base64url'), encodeCursor(['only-one']), Buffer.from('[1,2]').toString('base64url')]) {
      expect(decodeCursor(cursor, 2)).toBeUndefined();
    }
  });
});
