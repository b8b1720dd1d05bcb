import { createHash } from 'node:crypto';
import type { Pool, RowDataPacket } from 'mysql2/promise';

/**
 * What the checksum covers: every projection row by its natural key and
 * content (never an auto-increment id, which differs between a live
 * projection and a rebuild), in a fixed order. The posts' search copies
 * too: a projection whose copies are missing (written before migration 0017
 * and not yet backfilled) or stale searches otherwise than its rebuild.
 */
const QUERIES: readonly (readonly [label: string, sql: string])[] = [
  ['wp_image_uid', 'SELECT image_uid, user_login, image_name, created_at, updated_at FROM wp_image_uid ORDER BY image_uid'],
  ['wp_posts', `SELECT p.guid, p.post_author, p.post_date_gmt, p.post_modified_gmt, p.post_title, p.post_name, p.post_content, p.post_excerpt,
                       p.post_status, p.post_type, COALESCE(parent.guid, '') AS parent_guid, p.search_description, p.search_category
                FROM wp_posts p LEFT JOIN wp_posts parent ON parent.ID = p.post_parent ORDER BY p.guid`],
  ['wp_postmeta', 'SELECT p.guid, m.meta_key, m.meta_value FROM wp_postmeta m JOIN wp_posts p ON p.ID = m.post_id ORDER BY p.guid, m.meta_key'],
  ['wp_image_uid.post', 'SELECT u.image_uid, p.guid FROM wp_image_uid u LEFT JOIN wp_posts p ON p.ID = u.post_id ORDER BY u.image_uid'],
];

function canonical(value: unknown): unknown {
  if (value instanceof Date) return value.toISOString();
  if (Buffer.isBuffer(value)) return value.toString('base64');
  return value;
}

export interface ProjectionChecksum {
  readonly sha256: string;
  readonly rows: Readonly<Record<string, number>>;
}

/** A stable SHA-256 of the ViewPort projection: equal for equal content, whatever order it was built in. */
export async function projectionChecksum(pool: Pool, database?: string): Promise<ProjectionChecksum> {
  const hash = createHash('sha256');
  const rows: Record<string, number> = {};
  const connection = await pool.getConnection();
  try {
    if (database) await connection.query(`USE \`${database.replace(/`/g, '``')}\``);
    // One moment of the projection: the projector's commits and a rebuild's swap of the tables land before or after it,
    // not between two of its tables. The swap gate (migration 0015) is held first: a rebuild renames tables only while
    // it holds the gate's row exclusively, so none can come between the snapshot (taken at the first table read, in
    // REPEATABLE READ) and the tables read. A snapshot taken before the gate let a swap in that instant have the
    // checksum read the new tables as they were before the snapshot.
    await connection.query('SET TRANSACTION ISOLATION LEVEL REPEATABLE READ');
    await connection.query('START TRANSACTION READ ONLY');
    try {
      await connection.query('SELECT id FROM viewport_swap_gate WHERE id = 1 LOCK IN SHARE MODE');
      for (const [label, sql] of QUERIES) {
        const [result] = await connection.query<RowDataPacket[]>(sql);
        rows[label] = result.length;
        hash.update(`${label}\n`);
        for (const row of result) hash.update(`${JSON.stringify(Object.values(row).map(canonical))}\n`);
      }
    } finally {
      await connection.query('COMMIT');
    }
  } finally {
    connection.release();
  }
  return { sha256: hash.digest('hex'), rows };
}
