import { describe, expect, it } from 'vitest';
import { searchCategory, searchDescription, searchQuery, unsearchableReason } from './search-text.js';

describe('the search copy of a description and a category', () => {
  it('makes a decomposed (macOS) and a composed "Béla" one text, and compatibility forms one with what they stand for', () => {
    expect(searchDescription('Be\u0301la only-nfd')).toBe('B\u00e9la only-nfd');
    expect(searchDescription('B\u00e9la')).toBe('B\u00e9la');
    expect(searchDescription('\uff22\u00e9la \ufb01le')).toBe('B\u00e9la file');
    expect(searchCategory('Be\u0301la')).toBe('B\u00e9la');
  });

  it('drops invisible format characters from a description (a word holding one is found by its letters) and reads controls as spaces', () => {
    expect(searchDescription('B\u00e9\u200Bla\u00ad \u202Eevil\u202C\ufeff')).toBe('B\u00e9la evil');
    expect(searchDescription('first\nsecond\tthird')).toBe('first second third');
    // Taken out before composing: an accent a zero-width character had parted from its letter joins it.
    expect(searchDescription('Be\u200B\u0301la')).toBe('B\u00e9la');
  });

  it('keeps every other character of a category, a trailing space too: it is filtered by exactly', () => {
    expect(searchCategory('B\u00e9la ')).toBe('B\u00e9la ');
    expect(searchCategory('')).toBe('');
  });
});

/** Texts a q or a category may be typed as, each also stored as a description or a category by the projector. */
const TYPED = ['B\u00e9la', 'Be\u0301la', 'BE\u0301LA ', '\uff22\u00e9la', '\ufb01le', 'A\u030a', '\u212b', 'ｶﾀｶﾅ', 'x\u00b2', 'plain ascii'];

describe('q folded as the projector folds what it searches', () => {
  it('folds every searchable q as the projector folds a description, so each spelling finds the other', () => {
    for (const text of TYPED) {
      expect(searchQuery(text), text).toBe(searchDescription(text));
    }
  });

  it('says why a q with a control or format character, or a leading combining mark, cannot be searched', () => {
    expect(unsearchableReason('B\u00e9la')).toBeUndefined();
    expect(unsearchableReason('Be\u0301la')).toBeUndefined();
    expect(unsearchableReason('\u200B')).toBe('q must not hold control or format characters; it holds U+200B at 0');
    expect(unsearchableReason('ab\u0000')).toBe('q must not hold control or format characters; it holds U+0000 at 2');
    expect(unsearchableReason('a\u{E0001}')).toBe('q must not hold control or format characters; it holds U+E0001 at 1');
    expect(unsearchableReason('\u202E')).toMatch(/U\+202E/);
    expect(unsearchableReason('\u0301la')).toBe('q must not start with a combining mark');
  });
});
