import { describe, expect, it } from 'vitest';
import { searchCategory, searchDescription, searchQuery, unsearchableReason } from './search-text.js';
import { weighsNothing, ZERO_WEIGHT_RANGES } from './zero-weight.js';

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

  it('refuses a q holding any other character the collation gives no weight, which matched every text holding any (found by a review: U+06DE found a description with an emoji\'s VS16)', () => {
    expect(unsearchableReason('\u06de')).toBe('q must not hold U+06DE: the search\'s collation gives it no weight, so it matched any character given none');
    expect(unsearchableReason('tea \u06de')).toMatch(/^q must not hold U\+06DE/);
    expect(unsearchableReason('\ufe73')).toMatch(/^q must not hold U\+FE73/);
    // A mark typed after a space has no letter to combine with.
    expect(unsearchableReason('tea \ufe0f')).toMatch(/^q must not hold a combining mark \(U\+FE0F\) after a space/);
    expect(unsearchableReason('tea \u0301')).toMatch(/^q must not hold a combining mark \(U\+0301\) after a space/);
    expect(unsearchableReason('\uff9e')).toBe('q must not start with a combining mark');
  });

  it('takes combining marks on a letter, as text in Thai, Hindi or Arabic and emoji hold them: they match any mark there, as the collation weighs none', () => {
    for (const text of [
      '\u0e44\u0e21\u0e48\u0e43\u0e0a\u0e48', '\u0939\u093f\u0902\u0926\u0940', '\u0645\u064e\u0631\u0652\u062d\u064e\u0628\u064b\u0627',
      '\u2764\ufe0f tea', '1\ufe0f\u20e3', 'q\u0302', '\uff76\uff9e', '\ufcf2', '\u{1F44D}\u{1F3FD}',
      // Spacing accents typed as one character, which NFKC makes a space and a mark (found by a reread: refused).
      'don\u00b4t', 'I\u00b4m', 'na\u02dcve', '\u309b', '\u00a8', '\ufc5e', 'a\ufe70',
    ]) {
      expect(unsearchableReason(text), text).toBeUndefined();
    }
  });

  it('refuses every character the collation gives no weight, alone or after a space, unless NFKC puts a character with weight first (U+FCF2 is a tatweel with marks)', () => {
    for (const [first, last] of ZERO_WEIGHT_RANGES) {
      for (let codePoint = first; codePoint <= last; codePoint += 1) {
        const character = String.fromCodePoint(codePoint);
        // A spacing accent (NFKC: a space and marks) is taken as the character typed; any other, alone, has no weight.
        const refused = weighsNothing(searchQuery(character)) && !/^\s\p{M}+$/u.test(searchQuery(character));
        expect(unsearchableReason(character) !== undefined, character).toBe(refused);
        expect(unsearchableReason(`tea ${character}`) !== undefined, character).toBe(refused);
      }
    }
  });
});
