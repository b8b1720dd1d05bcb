import { createHash } from 'node:crypto';
import type { Pool, PoolConnection, RowDataPacket } from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { privateViewport, type PrivateViewport } from '../../../test/helpers/viewport-db.js';
import { CHECKSUM_CHUNK_ROWS, projectionChecksum, type ProjectionChecksum } from './checksum.js';

/**
 * projectionChecksum as it was before it read in chunks (one statement a table, each read whole), kept to show the
 * chunked one gives the same sum: the sum is compared with a rebuild's and printed in the README.
 */
async function wholeTablesChecksum(pool: Pool): Promise<ProjectionChecksum> {
  const queries = [
    ['wp_image_uid', 'SELECT image_uid, user_login, image_name, created_at, updated_at FROM wp_image_uid ORDER BY image_uid'],
    ['wp_posts', `SELECT p.guid, p.post_author, p.post_date_gmt, p.post_modified_gmt, p.post_title, p.post_name, p.post_content, p.post_excerpt,
                         p.post_status, p.post_type, COALESCE(parent.guid, '') AS parent_guid, p.search_description, p.search_category
                  FROM wp_posts p LEFT JOIN wp_posts parent ON parent.ID = p.post_parent ORDER BY p.guid`],
    ['wp_postmeta', 'SELECT p.guid, m.meta_key, m.meta_value FROM wp_postmeta m JOIN wp_posts p ON p.ID = m.post_id ORDER BY p.guid, m.meta_key'],
    ['wp_image_uid.post', 'SELECT u.image_uid, p.guid FROM wp_image_uid u LEFT JOIN wp_posts p ON p.ID = u.post_id ORDER BY u.image_uid'],
  ] as const;
  const canonical = (value: unknown): unknown => (value instanceof Date ? value.toISOString() : Buffer.isBuffer(value) ? value.toString('base64') : value);
  const hash = createHash('sha256');
  const rows: Record<string, number> = {};
  for (const [label, sql] of queries) {
    const [result] = await pool.query<RowDataPacket[]>(sql);
    rows[label] = result.length;
    hash.update(`${label}\n`);
    for (const row of result) hash.update(`${JSON.stringify(Object.values(row).map(canonical))}\n`);
  }
  return { sha256: hash.digest('hex'), rows };
}

/** `pool` whose connections report each statement's rows read to `onRead`, after it answered. */
function watched(pool: Pool, onRead: (sql: string, rows: number) => Promise<void> | void): Pool {
  const watchedConnection = (connection: PoolConnection): PoolConnection => new Proxy(connection, {
    get(target, property, receiver) {
      const value: unknown = Reflect.get(target, property, receiver);
      if (property !== 'query' || typeof value !== 'function') return value;
      return async (sql: string, ...rest: unknown[]) => {
        const answer = await (value as (...args: unknown[]) => Promise<[unknown, unknown]>).apply(target, [sql, ...rest]);
        await onRead(sql, Array.isArray(answer[0]) ? answer[0].length : 0);
        return answer;
      };
    },
  });
  return new Proxy(pool, {
    get(target, property, receiver) {
      if (property === 'getConnection') return async () => watchedConnection(await target.getConnection());
      return Reflect.get(target, property, receiver);
    },
  });
}

const IMAGES = 12;
const VERSIONS = 9;
/** The metas of the one post that holds many: more than the others, and more than any chunk of the test. */
const MANY_METAS = 40;

/**
 * A projection written straight into the tables: image posts and their version posts, metas, a version post with
 * none, an image whose post is gone, keys in byte order unlike their insertion order, NULLs, dates and text beyond ASCII.
 */
async function seed(pool: Pool): Promise<void> {
  const at = (n: number) => new Date(Date.UTC(2026, 0, 1) + n * 61_001);
  const uids = Array.from({ length: IMAGES }, (_, i) => `${i % 2 === 0 ? 'Z' : 'a'}${String((i * 7) % IMAGES).padStart(3, '0')}`.padEnd(60, 'x'));
  let postId = 0;
  const posts: unknown[][] = [];
  const metas: unknown[][] = [];
  const images: unknown[][] = [];
  for (const [i, uid] of uids.entries()) {
    const imagePost = ++postId;
    posts.push([imagePost, `owner${i % 3}`, at(i), at(i + 1), `app-${i}`, `app-${i}`, `image ${i} «ünïcødé» "quoted"`, '', 'publish', 0, 'orbit_image', `orbit:image:${uid}`, i % 4 === 0 ? null : `desc ${i}`, i % 5 === 0 ? null : 'backend']);
    metas.push([imagePost, 'imageCategory', 'backend'], [imagePost, 'owner', `owner${i % 3}`]);
    if (i === 3) for (let k = 0; k < MANY_METAS; k++) metas.push([imagePost, `label-${String(k).padStart(2, '0')}`, k % 7 === 0 ? null : `value ${k}`]);
    for (let v = VERSIONS - 1; v >= 0; v--) {
      const version = ++postId;
      posts.push([version, `owner${i % 3}`, at(i * 100 + v), at(i * 100 + v + 1), `1.0.${v}`, `1.0.${v}`, `version ${v}`, 'x'.repeat(v), 'publish', imagePost, 'orbit_image_version', `orbit:image:${uid}:1.0.${v}`, `build ${v}`, null]);
      if (v === 4) continue; // a version with no meta
      metas.push([version, 'metadata', JSON.stringify({ v, note: 'ü' })], [version, 'environments', v % 2 === 0 ? '["Development","Testing"]' : '["Development"]'], [version, 'requestId', `req-${i}-${v}`]);
    }
    // The last image's post is gone: its guid reads NULL in the checksum.
    images.push([uid, i === IMAGES - 1 ? 999_999 : imagePost, `owner${i % 3}`, `app-${i}`, at(i), at(i + 2)]);
  }
  await pool.query('INSERT INTO wp_posts (ID, post_author, post_date_gmt, post_modified_gmt, post_title, post_name, post_content, post_excerpt, post_status, post_parent, post_type, guid, search_description, search_category) VALUES ?', [posts]);
  await pool.query('INSERT INTO wp_postmeta (post_id, meta_key, meta_value) VALUES ?', [metas]);
  await pool.query('INSERT INTO wp_image_uid (image_uid, post_id, user_login, image_name, created_at, updated_at) VALUES ?', [images]);
  await pool.query('INSERT IGNORE INTO viewport_swap_gate (id) VALUES (1)');
}

let live: PrivateViewport;
let whole: ProjectionChecksum;
beforeAll(async () => {
  live = await privateViewport('checksum');
  await seed(live.pool);
  whole = await wholeTablesChecksum(live.pool);
});
afterAll(async () => { await live.drop(); });

describe('projectionChecksum, read in chunks (found by a review: every table read whole before hashing, 1.8 GiB at 200k versions)', () => {
  it('is the sum one statement a table gave, for any chunk size', async () => {
    expect(whole.rows).toEqual({ 'wp_image_uid': IMAGES, 'wp_posts': IMAGES * (VERSIONS + 1), 'wp_postmeta': IMAGES * (2 + 3 * (VERSIONS - 1)) + MANY_METAS, 'wp_image_uid.post': IMAGES });
    for (const chunkRows of [1, 2, 3, 7, 26, 50, 1000, CHECKSUM_CHUNK_ROWS]) {
      expect(await projectionChecksum(live.pool, undefined, { chunkRows }), `chunks of ${chunkRows}`).toEqual(whole);
    }
    expect(await projectionChecksum(live.pool), 'by default').toEqual(whole);
  });

  it('holds a chunk at a time: no statement reads more than the chunk, or a run of posts\' metas', async () => {
    const reads: { readonly sql: string; readonly rows: number }[] = [];
    const pool = watched(live.pool, (sql, rows) => { reads.push({ sql, rows }); });
    expect(await projectionChecksum(pool, undefined, { chunkRows: 5 })).toEqual(whole);
    // A post's metas are read together (chunks of 5 rows take one post a statement): the post with many in one statement.
    const metaReads = reads.filter(({ sql }) => sql.includes('FROM wp_postmeta'));
    expect(Math.max(...metaReads.map(({ rows }) => rows))).toBe(2 + MANY_METAS);
    expect(Math.max(...reads.filter((read) => !metaReads.includes(read)).map(({ rows }) => rows))).toBe(5);
    // One a post, and one for the rest (none) after the last.
    expect(metaReads.length).toBe(IMAGES * (VERSIONS + 1) + 1);
  });

  it('reads every chunk in one snapshot: a post committed between two chunks is not in the sum', async () => {
    let written = false;
    const pool = watched(live.pool, async (sql) => {
      if (written || !sql.includes('FROM wp_posts p LEFT JOIN')) return;
      written = true;
      // Sorts after every guid of the seed ('orbit:image:' < 'orbit:z'): a chunk read after the commit would meet it.
      await live.pool.query("INSERT INTO wp_posts (post_author, post_date_gmt, post_modified_gmt, post_title, post_name, post_content, post_excerpt, post_status, post_type, guid) VALUES ('late', NOW(3), NOW(3), 'late', 'late', '', '', 'publish', 'orbit_image', 'orbit:zz-late')");
    });
    try {
      expect(await projectionChecksum(pool, undefined, { chunkRows: 4 })).toEqual(whole);
      expect(written).toBe(true);
      expect((await projectionChecksum(live.pool)).rows['wp_posts']).toBe((whole.rows['wp_posts'] ?? 0) + 1);
    } finally {
      await live.pool.query("DELETE FROM wp_posts WHERE guid = 'orbit:zz-late'");
    }
  });
});
