import { DEAD_LETTERED } from '@orbit/schemas';
import type { PoolConnection, RowDataPacket } from 'mysql2/promise';
import { imageUidOfGuid, type FinishedRequests, type KnownVersions, type PlannedPost, type ProjectionPlan, type Promotions, type RequestStatus } from './plan.js';
import { imageTextOfRow, type ImageText, type KnownImages, type StoredVersion, type TextGiven } from './image-text.js';

/**
 * Applies a ProjectionPlan with a handful of multi-row statements inside the
 * caller's transaction: the cost of a batch grows with its rows, not with its
 * round trips. Rows go in key order so concurrent batches lock in the same
 * order (fewer deadlocks).
 */

/** Rows per statement: far below max_allowed_packet even with large meta values. */
const ROWS_PER_STATEMENT = 1_000;

function chunks<T>(rows: readonly T[], size = ROWS_PER_STATEMENT): T[][] {
  const out: T[][] = [];
  for (let start = 0; start < rows.length; start += size) out.push(rows.slice(start, start + size));
  return out;
}

const byKey = <T>(entries: Iterable<[string, T]>): T[] => [...entries].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, value]) => value);

/** Reads the versions a plan needs (existence, status, environments, promotions) and locks them for the transaction. */
export async function readKnownVersions(connection: PoolConnection, guids: readonly string[]): Promise<KnownVersions> {
  const known = new Map<string, { status: string; environments: string[]; promotions?: Promotions }>();
  for (const part of chunks([...guids].sort())) {
    const [rows] = await connection.query<RowDataPacket[]>(
      `SELECT v.guid, v.post_status, e.meta_value AS environments, p.meta_value AS promotions FROM wp_posts v
       LEFT JOIN wp_postmeta e ON e.post_id = v.ID AND e.meta_key = 'environments'
       LEFT JOIN wp_postmeta p ON p.post_id = v.ID AND p.meta_key = 'promotions' WHERE v.guid IN (?) FOR UPDATE`, [part]);
    for (const row of rows) {
      known.set(String(row['guid']), {
        status: String(row['post_status']), environments: JSON.parse(String(row['environments'] ?? '[]')) as string[],
        ...(row['promotions'] === null ? {} : { promotions: JSON.parse(String(row['promotions'])) as Promotions }),
      });
    }
  }
  return known;
}

/**
 * Reads the description and category the images among `guids` show, with the uploads they are from, and locks them:
 * an upload that gives neither keeps them, one that does is compared with those uploads (image-text.ts). Images before
 * their versions, as the plan writes them.
 */
export async function readKnownImages(connection: PoolConnection, guids: readonly string[], given: ReadonlyMap<string, TextGiven>): Promise<KnownImages> {
  const known = new Map<string, ImageText>();
  for (const part of chunks([...guids].sort())) {
    const [rows] = await connection.query<RowDataPacket[]>(
      `SELECT p.ID, p.guid, p.post_content, c.meta_value AS category, d.meta_value AS description_from, f.meta_value AS category_from FROM wp_posts p
       LEFT JOIN wp_postmeta c ON c.post_id = p.ID AND c.meta_key = 'imageCategory'
       LEFT JOIN wp_postmeta d ON d.post_id = p.ID AND d.meta_key = 'descriptionFrom'
       LEFT JOIN wp_postmeta f ON f.post_id = p.ID AND f.meta_key = 'categoryFrom' WHERE p.guid IN (?) FOR UPDATE`, [part]);
    const givenTo = (row: RowDataPacket): TextGiven => given.get(String(row['guid'])) ?? { description: false, category: false };
    // A missing mark is read from the versions only where an upload of the batch gives that text: one no upload gives
    // is compared with nothing (most images without a category, for ever).
    const versions = await readStoredVersions(connection, {
      description: rows.filter((row) => row['description_from'] === null && givenTo(row).description).map((row) => String(row['ID'])),
      category: rows.filter((row) => row['category_from'] === null && givenTo(row).category).map((row) => String(row['ID'])),
    });
    for (const row of rows) {
      known.set(String(row['guid']), imageTextOfRow(
        { content: row['post_content'], category: row['category'], descriptionFrom: row['description_from'], categoryFrom: row['category_from'] },
        versions.get(String(row['ID'])),
        givenTo(row),
      ));
    }
  }
  return known;
}

/**
 * The versions of the images (post ids) that gave a description (of those in `imageIds.description`) or a category (of
 * those in `imageIds.category`), in the order they were projected: what an image's text is marked by where it has no
 * mark (an image projected before them, image-text.ts). JSON_TYPE keeps the others out; what counts as given is judged
 * in marksOfVersions.
 */
async function readStoredVersions(connection: PoolConnection, imageIds: Readonly<Record<keyof TextGiven, readonly string[]>>): Promise<ReadonlyMap<string, StoredVersion[]>> {
  const versions = new Map<string, StoredVersion[]>();
  const wanted = [
    ...(imageIds.description.length > 0 ? [{ ids: imageIds.description, path: '$.description' }] : []),
    ...(imageIds.category.length > 0 ? [{ ids: imageIds.category, path: '$.imageCategory' }] : []),
  ];
  if (wanted.length === 0) return versions;
  const gave = wanted.map(() => "(v.post_parent IN (?) AND JSON_TYPE(JSON_EXTRACT(m.meta_value, ?)) = 'STRING')").join(' OR ');
  const [rows] = await connection.query<RowDataPacket[]>(
    `SELECT v.post_parent, v.post_date_gmt, v.post_name, r.meta_value AS request_id, q.meta_value AS requested_at, m.meta_value AS metadata FROM wp_posts v
     JOIN wp_postmeta m ON m.post_id = v.ID AND m.meta_key = 'metadata'
     LEFT JOIN wp_postmeta r ON r.post_id = v.ID AND r.meta_key = 'requestId'
     LEFT JOIN wp_postmeta q ON q.post_id = v.ID AND q.meta_key = 'requestedAt'
     WHERE v.post_parent IN (?) AND v.post_type = 'orbit_image_version' AND (${gave})
     ORDER BY v.post_parent, v.ID`, [[...new Set(wanted.flatMap(({ ids }) => ids))], ...wanted.flatMap(({ ids, path }) => [ids, path])]);
  for (const row of rows) {
    const parent = String(row['post_parent']);
    const list = versions.get(parent) ?? [];
    list.push({
      storedAt: new Date(row['post_date_gmt'] as Date), requestedAt: row['requested_at'], requestId: row['request_id'], imageVersion: row['post_name'],
      metadata: row['metadata'],
    });
    versions.set(parent, list);
  }
  return versions;
}

/** The versions among `guids` whose ImageStored this projection set aside (see VersionSetAsideError). */
export async function readSetAsideVersions(connection: PoolConnection, guids: readonly string[]): Promise<ReadonlySet<string>> {
  const setAside = new Set<string>();
  for (const part of chunks([...guids])) {
    const [rows] = await connection.query<RowDataPacket[]>('SELECT DISTINCT version_guid FROM viewport_set_aside WHERE version_guid IN (?)', [part]);
    for (const row of rows) setAside.add(String(row['version_guid']));
  }
  return setAside;
}

/**
 * The requests among `requestIds` that already succeeded or failed, and when
 * each one the database holds was accepted. Read without a lock: requests are
 * written last in a batch, and locking them here first would invert that
 * order against concurrent batches.
 */
export async function readRequestStates(connection: PoolConnection, requestIds: readonly string[]): Promise<{ finished: FinishedRequests; acceptedAt: ReadonlyMap<string, Date> }> {
  const finished = new Map<string, { status: RequestStatus; errorCode: string | null }>();
  const acceptedAt = new Map<string, Date>();
  for (const part of chunks([...requestIds])) {
    const [rows] = await connection.query<RowDataPacket[]>('SELECT request_id, status, error_code, created_at FROM viewport_requests WHERE request_id IN (?)', [part]);
    for (const row of rows) {
      const id = String(row['request_id']);
      acceptedAt.set(id, new Date(row['created_at'] as Date));
      const status = String(row['status']) as RequestStatus;
      if (status === 'succeeded' || status === 'failed') finished.set(id, { status, errorCode: row['error_code'] === null ? null : String(row['error_code']) });
    }
  }
  return { finished, acceptedAt };
}

/** Adds the ids of `guids` not yet in `ids` (read in bulk) and returns `ids`. */
async function idsOf(connection: PoolConnection, guids: Iterable<string>, ids = new Map<string, number>()): Promise<Map<string, number>> {
  for (const part of chunks([...new Set(guids)].filter((guid) => !ids.has(guid)).sort())) {
    const [rows] = await connection.query<RowDataPacket[]>('SELECT ID, guid FROM wp_posts WHERE guid IN (?)', [part]);
    for (const row of rows) ids.set(String(row['guid']), Number(row['ID']));
  }
  return ids;
}

function idOf(ids: ReadonlyMap<string, number>, guid: string): number {
  const id = ids.get(guid);
  if (id === undefined) throw new TypeError(`post ${guid} was planned but is not in wp_posts`);
  return id;
}

async function insertPosts(connection: PoolConnection, posts: readonly PlannedPost[], ids: ReadonlyMap<string, number>): Promise<void> {
  for (const part of chunks(posts)) {
    // LAST write wins for status and content, post_modified_gmt only grows and post_date_gmt only moves back: what one-by-one upserts leave behind.
    await connection.query(
      `INSERT INTO wp_posts (post_author, post_date_gmt, post_modified_gmt, post_title, post_name, post_content, post_excerpt, post_status, post_parent, post_type, guid,
         search_description, search_category)
       VALUES ? ON DUPLICATE KEY UPDATE post_date_gmt = LEAST(post_date_gmt, VALUES(post_date_gmt)), post_modified_gmt = GREATEST(post_modified_gmt, VALUES(post_modified_gmt)),
         post_status = VALUES(post_status), post_content = VALUES(post_content),
         search_description = VALUES(search_description), search_category = VALUES(search_category)`,
      [part.map((post) => {
        const insert = post.insert;
        if (!insert) throw new TypeError(`post ${post.guid} has nothing to insert`);
        const parent = insert.parentGuid === null ? 0 : idOf(ids, insert.parentGuid);
        return [
          insert.author, insert.created, post.modified ?? insert.created, insert.title, insert.name, post.content ?? '', '', post.status ?? '', parent, insert.type, post.guid,
          post.search?.description ?? null, post.search?.category ?? null,
        ];
      })],
    );
  }
}

async function patchPosts(connection: PoolConnection, posts: readonly PlannedPost[]): Promise<void> {
  const byStatus = new Map<string, string[]>();
  for (const post of posts) {
    if (post.status === undefined) continue;
    const guids = byStatus.get(post.status) ?? [];
    guids.push(post.guid);
    byStatus.set(post.status, guids);
  }
  for (const [status, guids] of byStatus) for (const part of chunks(guids)) await connection.query('UPDATE wp_posts SET post_status = ? WHERE guid IN (?)', [status, part]);
  const modified = posts.filter((post) => post.modified !== undefined);
  for (const part of chunks(modified)) {
    await connection.query(
      `UPDATE wp_posts SET post_modified_gmt = GREATEST(post_modified_gmt, CASE guid ${part.map(() => 'WHEN ? THEN CAST(? AS DATETIME(3))').join(' ')} END) WHERE guid IN (?)`,
      [...part.flatMap((post) => [post.guid, post.modified]), part.map((post) => post.guid)],
    );
  }
}

/** The images whose rows a plan writes (posts, meta, UID rows): what their owners' indexes and listings are read from. */
function imagesWritten(plan: ProjectionPlan): string[] {
  const guids = [...plan.posts.keys(), ...plan.meta.keys()];
  return [...new Set([...plan.imageUids.keys(), ...guids.flatMap((guid) => imageUidOfGuid(guid) ?? [])])].sort();
}

/**
 * Gives the owner of every image the plan writes a new mark (migration 0020), in the plan's transaction: the gateway
 * keeps an owner's Helm index while the owner's mark stays. Keyed by ViewPort as a whole, every upload by anyone had
 * every owner's index rendered again (found by a scale review). The owner as wp_image_uid holds it, not an event's
 * actor: a promotion's actor is the release manager, not the owner whose index it changes. One statement a batch
 * (of up to ROWS_PER_STATEMENT images), owners in key order as every other write; UUID_SHORT() is unique and grows on
 * the server, so a rebuild's marks never equal earlier ones.
 */
async function markOwners(connection: PoolConnection, plan: ProjectionPlan): Promise<void> {
  for (const part of chunks(imagesWritten(plan))) {
    await connection.query(
      `INSERT INTO viewport_owner_marks (user_login, mark)
       SELECT o.user_login, UUID_SHORT() FROM (SELECT DISTINCT user_login FROM wp_image_uid WHERE image_uid IN (?)) o ORDER BY o.user_login
       ON DUPLICATE KEY UPDATE mark = UUID_SHORT()`, [part]);
  }
}

export async function writePlan(connection: PoolConnection, plan: ProjectionPlan, options: { readonly requests: boolean } = { requests: true }): Promise<void> {
  const posts = byKey(plan.posts);
  const inserted = posts.filter((post) => post.insert !== undefined);
  // Parents first: a version's post_parent is its image's id.
  const parents = inserted.filter((post) => post.insert?.parentGuid === null);
  const children = inserted.filter((post) => post.insert?.parentGuid !== null);
  await insertPosts(connection, parents, new Map());
  const parentIds = await idsOf(connection, children.map((post) => post.insert?.parentGuid ?? ''));
  await insertPosts(connection, children, parentIds);
  await patchPosts(connection, posts.filter((post) => post.insert === undefined));

  const ids = await idsOf(connection, [...plan.meta.keys(), ...[...plan.imageUids.values()].map((uid) => uid.postGuid)], parentIds);
  const uids = byKey(plan.imageUids);
  for (const part of chunks(uids)) {
    await connection.query(
      `INSERT INTO wp_image_uid (image_uid, post_id, user_login, image_name, created_at, updated_at) VALUES ?
       ON DUPLICATE KEY UPDATE created_at = LEAST(created_at, VALUES(created_at)), updated_at = GREATEST(updated_at, VALUES(updated_at))`,
      [part.map((uid) => [uid.imageUID, idOf(ids, uid.postGuid), uid.userLogin, uid.imageName, uid.created, uid.updated])],
    );
  }
  const meta = byKey([...plan.meta].map(([guid, entries]) => [guid, byKey([...entries].map(([key, value]) => [key, [idOf(ids, guid), key, value]]))])).flat();
  for (const part of chunks(meta)) {
    await connection.query('INSERT INTO wp_postmeta (post_id, meta_key, meta_value) VALUES ? ON DUPLICATE KEY UPDATE meta_value = VALUES(meta_value)', [part]);
  }

  await markOwners(connection, plan);

  if (!options.requests) return;
  // A request failed only because its message was dead-lettered takes the end its re-driven flow reaches:
  // it is reopened here, and the forward-only upsert below then finishes it.
  const finishing = byKey(plan.requests).filter((request) => request.status === 'succeeded' || request.status === 'failed').map((request) => request.requestId);
  for (const part of chunks(finishing)) {
    await connection.query("UPDATE viewport_requests SET status = 'running' WHERE request_id IN (?) AND status = 'failed' AND error_code = ?", [part, DEAD_LETTERED]);
  }
  // Forward-only status, as one-by-one: a finished request keeps everything; otherwise the batch's last word wins.
  // The gateway dates a request's row by its command's occurredAt, the time the projector's events start from.
  for (const part of chunks(byKey(plan.requests))) {
    await connection.query(
      `INSERT INTO viewport_requests (request_id, kind, image_uid, image_version, target_env, notes, user_login, status, error_code, error_message, error_pid, created_at, updated_at)
       VALUES ?
       ON DUPLICATE KEY UPDATE
         image_version = COALESCE(image_version, VALUES(image_version)),
         target_env = COALESCE(target_env, VALUES(target_env)),
         notes = COALESCE(notes, VALUES(notes)),
         error_code = IF(status IN ('succeeded', 'failed'), error_code, VALUES(error_code)),
         error_message = IF(status IN ('succeeded', 'failed'), error_message, VALUES(error_message)),
         error_pid = IF(status IN ('succeeded', 'failed'), error_pid, VALUES(error_pid)),
         updated_at = IF(status IN ('succeeded', 'failed'), updated_at, GREATEST(created_at, VALUES(updated_at))),
         status = IF(status IN ('succeeded', 'failed'), status, VALUES(status))`,
      [part.map((request) => [request.requestId, request.kind, request.imageUID, request.imageVersion, request.targetEnvironment, request.notes, request.userLogin, request.status, request.errorCode, request.errorMessage, request.errorPid, request.created, request.updated])],
    );
  }
}
