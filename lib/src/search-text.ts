import { codePointLabel } from './code-point.js';
import { weighsNothing } from './zero-weight.js';

/**
 * The search copy of an image's description and category (wp_posts.search_description, search_category, migration
 * 0017): what the gateway's `GET /v1/images?q=&category=` compares, while post_content and the meta keep the bytes as
 * they were sent. The gateway folds q and category with the same functions, so each spelling finds the other.
 *
 * NFKC rather than NFC: both make a macOS client's decomposed "Be\u0301la" and a composed "B\u00e9la" one word (the
 * collation compares per code point, so they were two); NFKC also makes the compatibility forms one with what they
 * stand for (full-width letters an IME types, the "\ufb01" ligature a PDF copy leaves), which a search should not
 * tell apart either. The copy is never shown, so what NFKC loses (a superscript's position) costs nothing.
 * Letter case and accents are left to the query's collation.
 */

/** Control characters (C0, C1: a tab, a new line) part words as a space does. */
const CONTROL = /\p{Cc}/gu;
/** Format characters (ZERO WIDTH SPACE, SOFT HYPHEN, BIDI overrides, a BOM) are invisible: a word holding one is found by its letters. */
const FORMAT = /\p{Cf}/gu;

/** A description as it is searched: format characters out, controls as spaces, then NFKC. */
export function searchDescription(text: string): string {
  return text.replace(FORMAT, '').replace(CONTROL, ' ').normalize('NFKC');
}

/** A category as it is filtered by: NFKC only, every other character (a trailing space too) kept and compared. */
export function searchCategory(text: string): string {
  return text.normalize('NFKC');
}

/** A control (\p{Cc}) or format (\p{Cf}) character: NUL, a tab, ZERO WIDTH SPACE, a BIDI override, a BOM. */
const INVISIBLE = /[\p{Cc}\p{Cf}]/u;
/** A combining mark (\p{M}): an accent, a Thai tone mark, an Arabic vowel sign, a variation selector. */
const MARK = /^\p{M}$/u;
/** White space (after NFKC a space, mostly): no letter for a mark after it to combine with. */
const SPACE = /^\s$/u;
/** What NFKC makes of a spacing accent (´ U+00B4 is U+0020 U+0301): a space and the marks it carries. */
const SPACING_ACCENT = /^\s\p{M}+$/u;

/**
 * Why `q` cannot be searched, or undefined when it can. q is compared with LIKE under utf8mb4_unicode_ci, which
 * compares one code point with one, and any two the collation gives no weight (zero-weight.ts) are equal there: a q
 * holding one matched every description holding any at that place. Found so: `q=%E2%80%8B` (ZERO WIDTH SPACE), `%00`
 * or a lone U+0301 matched every description holding an accent left decomposed or an emoji's variation selector, and
 * so did U+06DE (a symbol) and U+FC5E (a ligature NFKC makes a space and two marks). Only a combining mark on a
 * character that has weight is taken (after other such marks too): there it stands for an accent on that letter and
 * matches any other mark on it, as the collation takes "\u00ea" for "\u00e9" (any accent). Refused rather than
 * dropped: `q=%E2%80%8B` read as no q would list everything, and a mark dropped from inside q (a Thai tone mark)
 * would no longer line up with the search copy, which keeps its marks.
 */
export function unsearchableReason(q: string): string | undefined {
  const invisible = INVISIBLE.exec(q);
  if (invisible) return `q must not hold control or format characters; it holds ${codePointLabel(invisible[0])} at ${invisible.index}`;
  let onLetter = false;
  let first = true;
  // A spacing accent typed as one character (´ U+00B4, ¨, ˜, ゛, an isolated Arabic vowel form) is a space and a mark
  // after NFKC, as in the search copy of a description that holds it: taken as the one character it was typed as
  // (found by a reread: `q=don´t`, common on Spanish keyboards, was refused naming a U+0301 nobody typed).
  const typed = [...q].map((character) => (SPACING_ACCENT.test(character.normalize('NFKC')) ? 'x' : character)).join('');
  for (const character of searchQuery(typed)) {
    if (!weighsNothing(character)) {
      onLetter = !SPACE.test(character);
    } else if (!MARK.test(character)) {
      return `q must not hold ${codePointLabel(character)}: the search's collation gives it no weight, so it matched any character given none`;
    } else if (first) {
      return 'q must not start with a combining mark';
    } else if (!onLetter) {
      return `q must not hold a combining mark (${codePointLabel(character)}) after a space, with no letter to combine with`;
    }
    first = false;
  }
  return undefined;
}

/** q as it is compared with the search copy of descriptions and with image names (plain ASCII, searched without folding). */
export function searchQuery(q: string): string {
  return q.normalize('NFKC');
}
