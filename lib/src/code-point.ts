/**
 * A character as Unicode names it, `U+0085` or `U+1F600`: its code point, at least four hex digits. Taken by code
 * point, not UTF-16 unit: charCodeAt named an emoji or a tag character by its first surrogate half (U+D83D), a
 * character no one sent.
 */
export function codePointLabel(character: string): string {
  const codePoint = character.codePointAt(0) ?? 0;
  return `U+${codePoint.toString(16).toUpperCase().padStart(4, '0')}`;
}

/**
 * `at`, or the index one step off it (back for a head's end, forward for a tail's start) when `at` falls inside a
 * surrogate pair: a cut there left half of an emoji at each side, U+FFFD once stored or shown.
 */
export function offSurrogatePair(text: string, at: number, step: 'back' | 'forward' = 'back'): number {
  const before = text.charCodeAt(at - 1);
  const after = text.charCodeAt(at);
  const inside = before >= 0xd800 && before <= 0xdbff && after >= 0xdc00 && after <= 0xdfff;
  return inside ? at + (step === 'back' ? -1 : 1) : at;
}

/**
 * `text` cut to at most `max` UTF-16 units, one fewer when the cut falls inside a surrogate pair. A quote of user text
 * in an answer cut by `slice` alone could end in half an emoji, a lone surrogate that JSON.stringify writes as
 * `\ud83d`: strict JSON readers (serde_json, Go's encoding/json) refuse or mangle the whole body for it.
 */
export function headOf(text: string, max: number): string {
  return text.length <= max ? text : text.slice(0, offSurrogatePair(text, max));
}

/**
 * Half of a UTF-16 surrogate pair without its other half: text JSON can spell (`"\ud800"`) and UTF-8 cannot hold.
 * Node 20's typings (ES2023) lack `String.prototype.isWellFormed`/`toWellFormed`, so the one test every reader of
 * outside text shares is written here.
 */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
const LONE_SURROGATES = new RegExp(LONE_SURROGATE.source, 'g');

/** The first lone surrogate in `text` (one UTF-16 unit), or undefined when `text` is well-formed Unicode. */
export function loneSurrogateIn(text: string): string | undefined {
  return LONE_SURROGATE.exec(text)?.[0];
}

/** False for text holding half of a surrogate pair. */
export function isWellFormedText(text: string): boolean {
  return !LONE_SURROGATE.test(text);
}

/** `text` with each lone surrogate replaced by U+FFFD, as any UTF-8 writer would: for what only quotes text to a person. */
export function wellFormed(text: string): string {
  return text.replace(LONE_SURROGATES, '\uFFFD');
}
