import { describe, expect, it } from 'vitest';
import { decodeCursor, encodeCursor, filteredListing } from './page-cursor.js';

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

  it('name the filters they were given out with, whatever their order, so another query refuses them', () => {
    expect(filteredListing('images', { q: undefined, category: undefined })).toBe('images');
    const searched = filteredListing('images', { q: 'billing', category: 'api' });
    expect(filteredListing('images', { category: 'api', q: 'billing' })).toBe(searched);
    for (const other of [{ q: 'billing' }, { q: 'billing', category: 'web' }, { q: 'api', category: 'billing' }, {}]) {
      expect(decodeCursor(encodeCursor(searched, ['a', 'b']), filteredListing('images', other)), JSON.stringify(other)).toBeUndefined();
    }
    expect(decodeCursor(encodeCursor(searched, ['a', 'b']), filteredListing('images', { q: 'billing', category: 'api' }))).toEqual(['a', 'b']);
  });
});
