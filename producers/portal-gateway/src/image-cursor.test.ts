import { describe, expect, it } from 'vitest';
import { decodeImageCursor, encodeImageCursor } from './image-cursor.js';

describe('image search cursors', () => {
  it('round-trip any name, URL-safe', () => {
    const position = { imageName: 'billing-api/ünïcode "quoted" +/=', imageUID: 'U'.repeat(60) };
    const cursor = encodeImageCursor(position);
    expect(cursor).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(decodeImageCursor(cursor)).toEqual(position);
  });

  it('refuse what this API did not give out', () => {
    for (const cursor of ['', 'not base64 at all!', Buffer.from('{"a":1}').toString('base64url'), Buffer.from('["only-one"]').toString('base64url'), Buffer.from('[1,2]').toString('base64url')]) {
      expect(decodeImageCursor(cursor)).toBeUndefined();
    }
  });
});
