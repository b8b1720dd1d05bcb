import { describe, expect, it } from 'vitest';
import { codePointLabel } from './code-point.js';

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
