import { inTransaction } from '@orbit/lib';
import type { Pool, RowDataPacket } from 'mysql2/promise';
import { searchCopyOf, type SearchCopy } from './plan.js';

/** Posts filled per transaction: each holds its rows' locks only that long. */
const POSTS_PER_BATCH = 500;

/** The text an upload's `metadata` meta names under `field`, as the event carried it; not text (absent, null): none. */
function textOf(metadata: Record<string, unknown>, field: string): string | undefined {
  const value = metadata[field];
  return typeof value === 'string' ? value : undefined;
}

function parsedMetadata(value: unknown): Record<string, unknown> {
  if (typeof value !== 'string') return {};
  try {
    const parsed = JSON.parse(value) as unknown;
    return typeof parsed === 'object' && parsed !== null ? parsed as Record<string, unknown> : {};
  } catch {
    return {};
  }
}

/**
 * What the projector would have written as a post's search copy, from what the post holds: an image post's content
 * and `imageCategory` meta are its latest upload's description and category, a version post's `metadata` meta is
 * its upload's. The same copy a rebuild writes from the events, so the checksum of a backfilled projection and of
 * its rebuild agree.
 */
export function searchCopyOfRow(row: RowDataPacket): SearchCopy {
  if (row['post_type'] === 'orbit_image') {
    return searchCopyOf({ description: String(row['post_content'] ?? ''), imageCategory: row['category'] === null ? null : String(row['category']) });
  }
  const metadata = parsedMetadata(row['metadata']);
  return searchCopyOf({ description: textOf(metadata, 'description'), imageCategory: textOf(metadata, 'imageCategory') });
}

/**
 * Writes the search copy (migration 0017) of posts projected before it, which SQL could not normalise: until then
 * the gateway compares those by their raw text. A post the live projection writes meanwhile gets its copy with it,
 * and is passed over here (its copy is no longer NULL; the rows are read FOR UPDATE). Returns how many it filled.
 */
export async function fillSearchCopies(pool: Pool, batch = POSTS_PER_BATCH): Promise<number> {
  let filled = 0;
  let after = 0;
  for (;;) {
    // READ COMMITTED, as the projector writes: a row scanned past and not NULL is not kept locked (REPEATABLE READ kept them all).
    const ids = await inTransaction(pool, async (connection) => {
      const [rows] = await connection.query<RowDataPacket[]>(
        `SELECT p.ID, p.post_type, p.post_content, c.meta_value AS category, m.meta_value AS metadata FROM wp_posts p
         LEFT JOIN wp_postmeta c ON c.post_id = p.ID AND c.meta_key = 'imageCategory'
         LEFT JOIN wp_postmeta m ON m.post_id = p.ID AND m.meta_key = 'metadata'
         WHERE p.ID > ? AND p.search_description IS NULL ORDER BY p.ID LIMIT ? FOR UPDATE`, [after, batch]);
      for (const row of rows) {
        const copy = searchCopyOfRow(row);
        await connection.query('UPDATE wp_posts SET search_description = ?, search_category = ? WHERE ID = ?', [copy.description, copy.category, row['ID']]);
      }
      return rows.map((row) => Number(row['ID']));
    }, { isolation: 'READ COMMITTED' });
    filled += ids.length;
    if (ids.length < batch) return filled;
    after = ids.at(-1) ?? after;
  }
}
