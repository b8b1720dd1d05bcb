import { createHash } from 'node:crypto';
import type { Pool, PoolConnection, RowDataPacket } from 'mysql2/promise';

/** Rows one statement of the checksum reads at most (of wp_postmeta: the metas of CHECKSUM_CHUNK_ROWS / METAS_PER_POST posts). */
export const CHECKSUM_CHUNK_ROWS = 5000;

/**
 * The most metas the projector writes a post (a version: 25 keys at 30k versions seeded through it, 2026-12-07); it only
 * sizes the run of posts a statement reads metas for: more metas on a post make a larger chunk, never another sum.
 */
const METAS_PER_POST = 25;

/** The rows of one part of the checksum, a chunk at a time, in the order they are hashed. */
type Chunks = (connection: PoolConnection, chunkRows: number) => AsyncGenerator<readonly RowDataPacket[]>;

/**
 * `select`'s rows in the order of `key` (unique, not null), `chunkRows` a statement, each chunk after the last
 * `field` (the key as the row names it) read: keyset pagination, so each statement finds its first row on the
 * key's index, however far in.
 */
const keyed = (select: string, key: string, field: string): Chunks => async function* chunks(connection, chunkRows) {
  let after: unknown;
  for (let first = true; ; first = false) {
    const [rows] = first
      ? await connection.query<RowDataPacket[]>(`${select} ORDER BY ${key} LIMIT ?`, [chunkRows])
      : await connection.query<RowDataPacket[]>(`${select} WHERE ${key} > ? ORDER BY ${key} LIMIT ?`, [after, chunkRows]);
    yield rows;
    const last = rows.at(-1);
    if (last === undefined || rows.length < chunkRows) return;
    after = last[field] as unknown;
  }
};

/**
 * Every meta by its post's guid and its key, the metas of a run of posts (in guid order) a statement. Keyset
 * pagination on (guid, meta_key) itself would sort all the metas after the cursor for every chunk (the order is of
 * two tables, which no index gives); a run of posts is found on the guid's index, and only its metas are sorted.
 */
const metaChunks: Chunks = async function* chunks(connection, chunkRows) {
  const postsPerRead = Math.max(1, Math.ceil(chunkRows / METAS_PER_POST));
  const select = 'SELECT p.guid, m.meta_key, m.meta_value FROM wp_postmeta m JOIN wp_posts p ON p.ID = m.post_id';
  let after: unknown;
  for (let first = true; ; first = false) {
    // The run's last post: none when fewer than postsPerRead are left, and the run is the rest.
    const [bound] = first
      ? await connection.query<RowDataPacket[]>('SELECT guid FROM wp_posts ORDER BY guid LIMIT 1 OFFSET ?', [postsPerRead - 1])
      : await connection.query<RowDataPacket[]>('SELECT guid FROM wp_posts WHERE guid > ? ORDER BY guid LIMIT 1 OFFSET ?', [after, postsPerRead - 1]);
    const upTo = bound[0]?.['guid'] as unknown;
    const conditions = [...(first ? [] : ['p.guid > ?']), ...(upTo === undefined ? [] : ['p.guid <= ?'])];
    const parameters = [...(first ? [] : [after]), ...(upTo === undefined ? [] : [upTo])];
    const where = conditions.length === 0 ? '' : ` WHERE ${conditions.join(' AND ')}`;
    const [rows] = await connection.query<RowDataPacket[]>(`${select}${where} ORDER BY p.guid, m.meta_key`, parameters);
    yield rows;
    if (upTo === undefined) return;
    after = upTo;
  }
};

/**
 * What the checksum covers: every projection row by its natural key and
 * content (never an auto-increment id, which differs between a live
 * projection and a rebuild), in a fixed order. The posts' search copies
 * too: a projection whose copies are missing (written before migration 0017
 * and not yet backfilled) or stale searches otherwise than its rebuild.
 * Each is read a chunk at a time in its key's order (each key unique): one
 * statement a table held the whole table in memory before a row was hashed
 * (200k versions, 4.9M metas: 1.8 GiB, out of memory under a 1 GiB heap), and
 * ran longer than the answer deadline an operator sets. The chunks are read
 * in one snapshot, so they are the rows, in the order, one statement read:
 * the same checksum.
 */
const PARTS: readonly (readonly [label: string, chunks: Chunks])[] = [
  ['wp_image_uid', keyed('SELECT image_uid, user_login, image_name, created_at, updated_at FROM wp_image_uid', 'image_uid', 'image_uid')],
  ['wp_posts', keyed(`SELECT p.guid, p.post_author, p.post_date_gmt, p.post_modified_gmt, p.post_title, p.post_name, p.post_content, p.post_excerpt,
                             p.post_status, p.post_type, COALESCE(parent.guid, '') AS parent_guid, p.search_description, p.search_category
                      FROM wp_posts p LEFT JOIN wp_posts parent ON parent.ID = p.post_parent`, 'p.guid', 'guid')],
  ['wp_postmeta', metaChunks],
  ['wp_image_uid.post', keyed('SELECT u.image_uid, p.guid FROM wp_image_uid u LEFT JOIN wp_posts p ON p.ID = u.post_id', 'u.image_uid', 'image_uid')],
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

export interface ChecksumOptions {
  /** Rows a statement reads at most. @default CHECKSUM_CHUNK_ROWS */
  readonly chunkRows?: number;
}

/** A stable SHA-256 of the ViewPort projection: equal for equal content, whatever order it was built in. */
export async function projectionChecksum(pool: Pool, database?: string, options: ChecksumOptions = {}): Promise<ProjectionChecksum> {
  const chunkRows = options.chunkRows ?? CHECKSUM_CHUNK_ROWS;
  const hash = createHash('sha256');
  const rows: Record<string, number> = {};
  const connection = await pool.getConnection();
  try {
    if (database) await connection.query(`USE \`${database.replace(/`/g, '``')}\``);
    // One moment of the projection: the projector's commits and a rebuild's swap of the tables land before or after it,
    // not between two of its tables (or two chunks of one). The swap gate (migration 0015) is held first: a rebuild renames tables only while
    // it holds the gate's row exclusively, so none can come between the snapshot (taken at the first table read, in
    // REPEATABLE READ) and the tables read. A snapshot taken before the gate let a swap in that instant have the
    // checksum read the new tables as they were before the snapshot.
    await connection.query('SET TRANSACTION ISOLATION LEVEL REPEATABLE READ');
    await connection.query('START TRANSACTION READ ONLY');
    let read = false;
    try {
      await connection.query('SELECT id FROM viewport_swap_gate WHERE id = 1 LOCK IN SHARE MODE');
      for (const [label, chunks] of PARTS) {
        let count = 0;
        hash.update(`${label}\n`);
        for await (const chunk of chunks(connection, chunkRows)) {
          count += chunk.length;
          for (const row of chunk) hash.update(`${JSON.stringify(Object.values(row).map(canonical))}\n`);
        }
        rows[label] = count;
      }
      read = true;
    } finally {
      // After a failed read the connection may be gone (the answer deadline drops a silent one): the COMMIT's
      // "Can't add new command when connection is in closed state" said nothing of which server did not answer.
      await connection.query('COMMIT').catch((error: unknown) => { if (read) throw error; });
    }
  } finally {
    connection.release();
  }
  return { sha256: hash.digest('hex'), rows };
}
