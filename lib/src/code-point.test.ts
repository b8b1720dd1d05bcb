import { describe, expect, it } from 'vitest';
import { codePointLabel, headOf, isWellFormedText, loneSurrogateIn, wellFormed } from './code-point.js';

describe('codePointLabel', () => {
  it('names a character by its code point, padded to four hex digits', () => {
    expect(codePointLabel('\u0085')).toBe('U+0085');
    expect(codePointLabel('\u2028')).toBe('U+2028');
    expect(codePointLabel('\t')).toBe('U+0009');
  });

  it('names a character beyond the BMP whole, not by its first surrogate half', () => {
    expect(codePointLabel('\u{1F600}')).toBe('U+1F600');
    expect(codePointLabel('\u{E0001}')).toBe('U+E0001');
  });
});

describe('headOf', () => {
  it('cuts at most max UTF-16 units, one fewer rather than inside a surrogate pair (a lone \\ud83d broke strict JSON readers)', () => {
    expect(headOf('ab\u{1F600}c', 3)).toBe('ab');
    expect(headOf('ab\u{1F600}c', 4)).toBe('ab\u{1F600}');
    expect(headOf('ab\u{1F600}c', 2)).toBe('ab');
    expect(headOf('abc', 5)).toBe('abc');
    expect(headOf('abc', 0)).toBe('');
  });
});

describe('well-formed text', () => {
  it('finds a lone half of a surrogate pair, at either end or alone, and takes a whole pair', () => {
    expect(loneSurrogateIn('h\uD800i')).toBe('\uD800');
    expect(loneSurrogateIn('\uDC00x')).toBe('\uDC00');
    expect(loneSurrogateIn('x\uD83D')).toBe('\uD83D');
    expect(loneSurrogateIn('whale \uD83D\uDC33')).toBeUndefined();
    expect(isWellFormedText('whale \uD83D\uDC33')).toBe(true);
    expect(isWellFormedText('\uDC33\uD83D')).toBe(false);
  });

  it('wellFormed replaces each lone half with U+FFFD and keeps pairs', () => {
    expect(wellFormed('h\uD800i \uD83D\uDC33 \uDC00')).toBe('h\uFFFDi \uD83D\uDC33 \uFFFD');
    expect(wellFormed('\uDC33\uD83D')).toBe('\uFFFD\uFFFD');
  });
});
