import { createHash } from 'node:crypto';
import { badRequest } from './errors.js';

/**
 * The opaque `cursor` of a listing page: which listing it was given out by
 * (`images`, `requests`, `events:<imageUID>`) and where the next page starts
 * there (an image search's name and UID, an event log's sort and table keys),
 * as base64url JSON. Opaque to clients so a listing's order can change without
 * breaking them; it carries nothing secret, and a caller's filters and rights
 * still apply to whatever it points after. The listing is in it so that a
 * cursor of one listing passed to another is refused, not read as a position
 * past the end (an empty "last" page).
 */
export function encodeCursor(listing: string, parts: readonly [string, string]): string {
  return Buffer.from(JSON.stringify([listing, ...parts])).toString('base64url');
}

/**
 * A listing's name with its filters in it (the ones given): a cursor of `?q=a` passed with `?q=b`, or with none,
 * pointed into another order of rows and gave a page short or empty, read as the end. AIP-158's rule: a page
 * token is good only with the query it came with. Without filters, the bare name, as cursors always had.
 */
export function filteredListing(name: string, filters: Record<string, string | undefined>): string {
  const given = Object.entries(filters).filter((entry): entry is [string, string] => entry[1] !== undefined).sort(([a], [b]) => (a < b ? -1 : 1));
  if (given.length === 0) return name;
  return `${name}?${createHash('sha256').update(JSON.stringify(given)).digest('base64url').slice(0, 16)}`;
}

/** The two positions a cursor of `listing` holds, or undefined when it is not one this listing gave out. */
export function decodeCursor(cursor: string, listing: string): [string, string] | undefined {
  try {
    const value: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (!Array.isArray(value) || value.length !== 3 || value[0] !== listing) return undefined;
    const [, first, second] = value as unknown[];
    // Every position this API gives out is non-empty text; DynamoDB refuses an empty key (a 500 before).
    if (typeof first !== 'string' || typeof second !== 'string' || first === '' || second === '') return undefined;
    return [first, second];
  } catch {
    return undefined;
  }
}

/** A listing's page size: the default, the most a caller may ask for, and what it counts. */
export interface PageSize {
  readonly default: number;
  readonly max: number;
  readonly what: string;
  /** What a client should know of the limit, when a page may hold more. */
  readonly limitNote?: string;
}

/** The query string of a paged listing: its filters, `limit` and `cursor`; another parameter is refused (a misspelt filter listed everything). */
export function pageQuery(page: PageSize, filters: Record<string, object> = {}): object {
  return {
    type: 'object', additionalProperties: false,
    properties: {
      ...filters,
      limit: { type: 'integer', minimum: 1, maximum: page.max, default: page.default, description: `${page.what} per page${page.limitNote ? ` (${page.limitNote})` : ''}` },
      cursor: { type: 'string', maxLength: 2048, description: 'nextCursor of the page before' },
    },
  };
}

/** The 400 for a cursor this API did not give out (or gave out for another listing). */
export const badCursor = () => badRequest('cursor is not one this listing gave out with these filters: pass a nextCursor as it came, with the query of the page it came with', 'querystring.cursor');

/** The two positions of a cursor `listing` gave out, or a 400 naming it. */
export function cursorOrThrow(cursor: string | undefined, listing: string): [string, string] | undefined {
  if (cursor === undefined) return undefined;
  const positions = decodeCursor(cursor, listing);
  if (!positions) throw badCursor();
  return positions;
}
