import { badRequest } from './errors.js';

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

/** A listing's page size: the default, the most a caller may ask for, and what it counts. */
export interface PageSize {
  readonly default: number;
  readonly max: number;
  readonly what: string;
}

/** The query string of a paged listing: its filters, `limit` and `cursor`. */
export function pageQuery(page: PageSize, filters: Record<string, object> = {}): object {
  return {
    type: 'object',
    properties: {
      ...filters,
      limit: { type: 'integer', minimum: 1, maximum: page.max, default: page.default, description: `${page.what} per page` },
      cursor: { type: 'string', maxLength: 2048, description: 'nextCursor of the page before' },
    },
  };
}

/** The 400 for a cursor this API did not give out (or gave out for another listing). */
export const badCursor = () => badRequest('cursor is not one this API gave out: pass a nextCursor as it came', 'querystring.cursor');

/** The two parts of a listing cursor, or a 400 naming it. */
export function cursorOrThrow(cursor: string | undefined): [string, string] | undefined {
  if (cursor === undefined) return undefined;
  const parts = decodeCursor(cursor, 2);
  if (!parts) throw badCursor();
  return [parts[0] ?? '', parts[1] ?? ''];
}
