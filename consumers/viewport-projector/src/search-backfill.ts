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
 * and `imageCategory` meta are its description and category (the newest upload's that gave each: image-text.ts), a
 * version post's `metadata` meta is its upload's. The same copy a rebuild writes from the events, so the checksum of a backfilled projection and of
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
 * Writes the search copy (migration 0017) of every post whose copy is not what the projector would write from its
 * text: posts projected before the migration (NULL, which SQL could not fill), and posts a projector of an older
 * build re-described beside a newer one during a rolling upgrade (it updates post_content and leaves the copy as it
 * was). Each batch's rows are read FOR UPDATE, so a post the live projection writes meanwhile is read as written.
 * Returns how many it wrote.
 */
export async function fillSearchCopies(pool: Pool, batch = POSTS_PER_BATCH): Promise<number> {
  let filled = 0;
  let after = 0;
  for (;;) {
    // READ COMMITTED, as the projector writes: a row scanned past and not NULL is not kept locked (REPEATABLE READ kept them all).
    const pass = await inTransaction(pool, async (connection) => {
      const [rows] = await connection.query<RowDataPacket[]>(
        `SELECT p.ID, p.post_type, p.post_content, p.search_description, p.search_category, c.meta_value AS category, m.meta_value AS metadata FROM wp_posts p
         LEFT JOIN wp_postmeta c ON c.post_id = p.ID AND c.meta_key = 'imageCategory'
         LEFT JOIN wp_postmeta m ON m.post_id = p.ID AND m.meta_key = 'metadata'
         WHERE p.ID > ? ORDER BY p.ID LIMIT ? FOR UPDATE`, [after, batch]);
      let written = 0;
      for (const row of rows) {
        const copy = searchCopyOfRow(row);
        if (row['search_description'] === copy.description && row['search_category'] === copy.category) continue;
        await connection.query('UPDATE wp_posts SET search_description = ?, search_category = ? WHERE ID = ?', [copy.description, copy.category, row['ID']]);
        written += 1;
      }
      return { scanned: rows.map((row) => Number(row['ID'])), written };
    }, { isolation: 'READ COMMITTED' });
    filled += pass.written;
    if (pass.scanned.length < batch) return filled;
    after = pass.scanned.at(-1) ?? after;
  }
}
