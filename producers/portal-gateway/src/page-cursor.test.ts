import { describe, expect, it } from 'vitest';
import { decodeCursor, encodeCursor } from './page-cursor.js';

describe('listing cursors', () => {
  it('round-trip any text, URL-safe', () => {
    const parts = ['billing-api/ünïcode "quoted" +/=', 'U'.repeat(60)] as const;
    const cursor = encodeCursor('images', parts);
    expect(cursor).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(decodeCursor(cursor, 'images')).toEqual(parts);
  });

  it('refuse what this listing did not give out: another listing\'s, another image\'s, an empty position (a 500 at DynamoDB before)', () => {
    const json = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
    for (const cursor of ['', 'not base64 at all!', json({ a: 1 }), json(['images', 'only-one']), json([1, 2]), json(['x', 'y']),
      encodeCursor('requests', ['a', 'b']), encodeCursor('events:other', ['a', 'b']), json(['images', '', '']), json(['images', 'a', '']), json(['images', '', 'b'])]) {
      expect(decodeCursor(cursor, 'images'), cursor).toBeUndefined();
    }
  });
});
