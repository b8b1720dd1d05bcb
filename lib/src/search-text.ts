import { codePointLabel } from './code-point.js';

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
/** A combining mark (\p{M}) first: it has no letter to combine with. */
const LEADING_MARK = /^\p{M}/u;

/**
 * Why `q` cannot be searched, or undefined when it can. The collation gives controls, format characters and
 * combining marks no weight, and LIKE compares one code point with one: `q=%E2%80%8B` (ZERO WIDTH SPACE), `%00`
 * or a lone U+0301 matched every description holding any such character (an accent left decomposed, an emoji's
 * variation selector). Refused rather than dropped: `q=%E2%80%8B` read as no q would list everything.
 */
export function unsearchableReason(q: string): string | undefined {
  const invisible = INVISIBLE.exec(q);
  if (invisible) return `q must not hold control or format characters; it holds ${codePointLabel(invisible[0])} at ${invisible.index}`;
  if (LEADING_MARK.test(searchQuery(q))) return 'q must not start with a combining mark';
  return undefined;
}

/** q as it is compared with the search copy of descriptions and with image names (plain ASCII, searched without folding). */
export function searchQuery(q: string): string {
  return q.normalize('NFKC');
}
