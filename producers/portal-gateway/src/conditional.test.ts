import { describe, expect, it } from 'vitest';
import { noneMatchFails, withVary } from './conditional.js';

describe('Vary', () => {
  it('adds a field to what is there, once, whatever its case', () => {
    expect(withVary(undefined, 'accept')).toBe('accept');
    expect(withVary('Origin', 'accept')).toBe('Origin, accept');
    expect(withVary(['Origin', 'Accept'], 'accept')).toBe('Origin, Accept');
    expect(withVary('*', 'accept')).toBe('*');
  });
});

describe('If-None-Match (RFC 9110 §13.1.2)', () => {
  const etag = '"abc="';
  it('names the ETag in a list, weakly or not, or as *', () => {
    expect(noneMatchFails(etag, etag)).toBe(true);
    expect(noneMatchFails(`"zzz", ${etag}`, etag)).toBe(true);
    expect(noneMatchFails('W/"abc="', etag)).toBe(true);
    expect(noneMatchFails('*', etag)).toBe(true);
  });

  it('does not when it is absent, names other tags, or names the tag without its quotes', () => {
    expect(noneMatchFails(undefined, etag)).toBe(false);
    expect(noneMatchFails('"zzz", "abc"', etag)).toBe(false);
    expect(noneMatchFails('abc=', etag)).toBe(false);
  });
});
