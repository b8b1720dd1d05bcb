/**
 * A character as Unicode names it, `U+0085` or `U+1F600`: its code point, at least four hex digits. Taken by code
 * point, not UTF-16 unit: charCodeAt named an emoji or a tag character by its first surrogate half (U+D83D), a
 * character no one sent.
 */
export function codePointLabel(character: string): string {
  const codePoint = character.codePointAt(0) ?? 0;
  return `U+${codePoint.toString(16).toUpperCase().padStart(4, '0')}`;
}
