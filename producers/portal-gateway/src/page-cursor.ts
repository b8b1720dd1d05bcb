/**
 * The opaque `cursor` of a listing page: where the next page starts (an image
 * search's name and UID, an event log's sort and table keys) as base64url
 * JSON. Opaque to clients so a listing's order can change without breaking
 * them; it carries nothing secret, and a caller's filters and rights still
 * apply to whatever it points after.
 */
export function encodeCursor(parts: readonly string[]): string {
  return Buffer.from(JSON.stringify(parts)).toString('base64url');
}

/** The `count` parts a cursor holds, or undefined when it is not one this API gave out. */
export function decodeCursor(cursor: string, count: number): string[] | undefined {
  try {
    const value: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (!Array.isArray(value) || value.length !== count || !value.every((part) => typeof part === 'string')) return undefined;
    return value as string[];
  } catch {
    return undefined;
  }
}
