import { CHART_UNCARRIABLE, HELM_NO_VALUE } from '@orbit/lib';

/**
 * The characters the gateway refuses in text, as `pattern`s of the API document, so that generated clients and
 * validators refuse what the gateway refuses (the document said only maxLength: found by a review). Each is written
 * for RE2 (Go's validators) and ECMAScript alike: classes of \x escapes, and the characters above U+00FF as they are
 * (RE2 has no \u escape), no lookaround. text-patterns.test.ts holds each to its check over every code point.
 */

/** controlCharacterProblem's: every Cc (C0, DEL, C1) but tab, line feed and carriage return. */
const TERMINAL_CONTROLS = '\\x00-\\x08\\x0B\\x0C\\x0E-\\x1F\\x7F-\\x9F';

/** A character of a \u escape as a class of RE2 and ECMAScript both reads it: \xHH up to U+00FF, else the character itself. */
const classCharacter = (hex: string): string => {
  const code = Number.parseInt(hex, 16);
  return code <= 0xff ? `\\x${hex.slice(2).toUpperCase()}` : String.fromCharCode(code);
};

/** CHART_UNCARRIABLE's class (DEL, C1, U+2028, U+2029, U+FFFE, U+FFFF), read off its source: the same characters, not a copy of them. */
const CHART_UNCARRIABLE_CLASS = CHART_UNCARRIABLE.source.replace(/^\[|\]$/g, '').replace(/\\u([0-9a-fA-F]{4})/g, (_, hex: string) => classCharacter(hex));

/** Each ASCII white space character asciiTrimmed takes off the ends (of an identifier such as imageCategory). */
const ASCII_TRIMMED = '\\t\\n\\x0B\\x0C\\r ';

/** Transfer notes: shown to people, so no control character but tab and line breaks. */
export const NOTES_PATTERN = `^[^${TERMINAL_CONTROLS}]*$`;

/** Description and Part: shown to people and carried by the chart (NUL, controls, and what helm cannot carry). */
export const CHART_TEXT_FOR_PEOPLE_PATTERN = `^[^${TERMINAL_CONTROLS}${CHART_UNCARRIABLE_CLASS}]*$`;

/** imageCategory: as Description, checked once ASCII white space is trimmed from its ends (where \v and \f are taken). */
export const CATEGORY_PATTERN = `^[${ASCII_TRIMMED}]*[^${TERMINAL_CONTROLS}${CHART_UNCARRIABLE_CLASS}]*[${ASCII_TRIMMED}]*$`;

/** Escapes what is special in a pattern (outside a class) or in a class, and nothing else: RE2 refuses `\` before a letter or a space. */
const literal = (char: string): string => char.replace(/[\\^$.*+?()[\]{}|/-]/g, '\\$&');

/**
 * Text with none of the characters of `refusedClass` that does not hold `word` either, without lookahead. Between
 * runs of the word's first character, each stretch must not begin with the rest of the word: it is a part of that rest
 * (the word cut short there), or leaves it at a character that is neither the next one nor the first. Exact for a
 * word whose first character comes once in it, as `<no value>`'s does.
 */
export function textWithout(word: string, refusedClass: string): string {
  const [first = '', ...rest] = [...word];
  if (rest.length === 0 || rest.includes(first)) throw new TypeError(`textWithout needs a word whose first character comes once: ${JSON.stringify(word)}`);
  const other = `[^${refusedClass}${literal(first)}]`;
  const level = (at: number): string => {
    const next = rest[at] ?? '';
    const leaving = `[^${refusedClass}${literal(first)}${literal(next)}]${other}*`;
    return at === rest.length - 1 ? `(?:${leaving})?` : `(?:${leaving}|${literal(next)}${level(at + 1)})?`;
  };
  return `^${other}*(?:${literal(first)}+${level(0)})*$`;
}

/** An environment value: no NUL, nothing helm cannot carry, and not `<no value>` (helm deletes it from what it renders). */
export const ENV_VALUE_PATTERN = textWithout(HELM_NO_VALUE, `\\x00${CHART_UNCARRIABLE_CLASS}`);
