import { describe, expect, it } from 'vitest';
import { matchFails, noneMatchFails, withVary } from './conditional.js';

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

describe('If-Match (RFC 9110 §13.1.1)', () => {
  const etag = '"abc="';
  it('holds when absent, *, or a list naming the ETag strongly', () => {
    expect(matchFails(undefined, etag)).toBe(false);
    expect(matchFails('*', etag)).toBe(false);
    expect(matchFails(` *  `, undefined)).toBe(false);
    expect(matchFails(`"zzz", ${etag}`, etag)).toBe(false);
  });

  it('fails on other tags, on a weak tag (even of the ETag), and on any tag where the representation has none or a weak one', () => {
    expect(matchFails('"zzz"', etag)).toBe(true);
    expect(matchFails('W/"abc="', etag)).toBe(true);
    expect(matchFails('abc=', etag)).toBe(true);
    expect(matchFails(etag, undefined)).toBe(true);
    expect(matchFails('W/"abc="', 'W/"abc="')).toBe(true);
  });
});
