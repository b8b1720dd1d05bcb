import type { ImagePosition } from './ports.js';

/**
 * The opaque `cursor` of a search page: where the next page starts, as
 * base64url JSON. Opaque to clients so the listing's order can change
 * without breaking them; it carries a name and a UID, nothing secret, and a
 * caller's filters still apply to whatever it points after.
 */
export function encodeImageCursor(position: ImagePosition): string {
  return Buffer.from(JSON.stringify([position.imageName, position.imageUID])).toString('base64url');
}

/** The position a cursor names, or undefined when it is not one this API gave out. */
export function decodeImageCursor(cursor: string): ImagePosition | undefined {
  try {
    const value: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (!Array.isArray(value) || value.length !== 2 || !value.every((part) => typeof part === 'string')) return undefined;
    const [imageName, imageUID] = value as [string, string];
    return { imageName, imageUID };
  } catch {
    return undefined;
  }
}
