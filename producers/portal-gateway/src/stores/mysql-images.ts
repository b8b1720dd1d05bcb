import type { Pool, PoolConnection, RowDataPacket } from 'mysql2/promise';
import { chartVersionOf, inTransaction, searchCategory, searchQuery } from '@orbit/lib';
import { chartFileName, INDEXED_META } from '../helm-index.js';
import type { OwnerMark } from '../helm-index-cache.js';
import { planOverview, type OverviewPlan, type VersionReach } from '../image-overview.js';
import { environmentsOfVersion, type ImagePage, type ImageQuery, type ImageReader, type ImageView, type OverviewQuery, type VersionsPage, type VersionsQuery, type VersionStored, type ViewerQuery } from '../ports.js';
import { newestDescriptionOf, visibleImage } from '../read-access.js';

/**
 * A query narrowed to the versions present in one environment (`?environment=`): what is shown and counted is of those,
 * as a Harbor user filtering by environment expects; the image's `environments` stay every one its seen versions are in.
 */
export type InEnvironment<Query> = Query & { readonly environment?: string | undefined };

/** An ImageReader whose overviews and version pages take `environment` (InEnvironment). */
export interface ImageReaderInEnvironment extends ImageReader {
  overview(imageUID: string, query: InEnvironment<OverviewQuery>): Promise<ImageView | undefined>;
  versionsPage(imageUID: string, page: InEnvironment<VersionsQuery>): Promise<VersionsPage | undefined>;
}

/**
 * A meta value as the projector wrote it: plain strings as they are, lists
 * and objects as JSON. Only those are parsed back, so a string that happens
 * to read as JSON (a chart named "123") stays a string; the size is a number.
 */
function parsed(key: string, value: unknown): unknown {
  if (typeof value !== 'string') return value;
  if (key === 'sizeBytes') return Number(value);
  if (!value.startsWith('{') && !value.startsWith('[')) return value;
  try {
    return JSON.parse(value) as unknown;
  } catch {
    return value;
  }
}

/**
 * Meta only the view of one version reads (GET /v1/images/{uid}/versions/{version}): what the image says of itself,
 * up to 64 KiB a version (the projector's image-labels.ts), which a page of a hundred versions would carry a
 * hundredfold. Every read of several versions joins the other meta only.
 */
const ONE_VERSION_META = ['labels'] as const;

/** The join condition that leaves ONE_VERSION_META out of a read of several versions' meta (`alias`: the wp_postmeta alias). */
const listedMeta = (alias: string): string => `${alias}.meta_key NOT IN (${ONE_VERSION_META.map((key) => `'${key}'`).join(', ')})`;

/** Version records from rows of version posts joined with their meta, in the rows' order. */
function versionsOf(rows: readonly RowDataPacket[]): Record<string, unknown>[] {
  const byVersion = new Map<string, Record<string, unknown>>();
  for (const row of rows) {
    const name = String(row['post_name']);
    const entry: Record<string, unknown> = byVersion.get(name) ?? { imageVersion: name, status: row['post_status'], createdAt: new Date(row['post_date_gmt'] as string | Date).toISOString() };
    if (row['meta_key']) entry[String(row['meta_key'])] = parsed(String(row['meta_key']), row['meta_value']);
    byVersion.set(name, entry);
  }
  return [...byVersion.values()];
}

/**
 * A version's facts that a projector older than them wrote no meta row for, answered as null ("not known here", as
 * README's Upgrading says) until `npm run viewport:rebuild` projects the events that carry them: they were left out,
 * which a client could not tell from a version without them (found by an upgrade review: 32 of 32 versions of the
 * release of 2026-12-02). The projector writes `imageReference` and `imageTag` for every version (null when not
 * pushed); `archiveCompression` only for an archive compressed as a whole, so its null is also "not compressed";
 * `chartSha256` with the chart, so a version not charted yet stays without it as it stays without chartLocation.
 * Only for reads of a version's whole meta: a read of a few keys lacks the others.
 */
function withFactsNotKept(version: Record<string, unknown>): Record<string, unknown> {
  return {
    ...version,
    imageReference: version['imageReference'] ?? null, imageTag: version['imageTag'] ?? null, archiveCompression: version['archiveCompression'] ?? null,
    ...('chartLocation' in version ? { chartSha256: version['chartSha256'] ?? null } : {}),
  };
}

/** Version records from rows of version posts joined with their whole meta (ONE_VERSION_META aside), in the rows' order. */
const wholeVersionsOf = (rows: readonly RowDataPacket[]): Record<string, unknown>[] => versionsOf(rows).map(withFactsNotKept);

/**
 * Runs reads that join by row id (a version's `post_parent` is its image
 * post's ID) in one transaction: MySQL holds a table's metadata lock from a
 * transaction's first read of it to its end, so a rebuild's RENAME TABLE,
 * which swaps in tables numbered otherwise, waits for them instead of
 * landing between two of them. Between two autocommitted reads, an image's
 * ID could name another owner's image in the swapped-in tables (found by a
 * probe: its versions and a download link were answered). Plain queries,
 * not prepared statements: one prepared before a swap is prepared again, and
 * a swap during that fails it (ER_NEED_REPREPARE).
 */
const readTogether = <T>(pool: Pool, reads: (connection: PoolConnection) => Promise<T>): Promise<T> => inTransaction(pool, reads);

/** Rows grouped by their `post_parent` (an image post's ID), each group in the rows' order. */
function byParent<T>(rows: readonly RowDataPacket[], entry: (row: RowDataPacket) => T): Map<number, T[]> {
  const groups = new Map<number, T[]>();
  for (const row of rows) {
    const parent = Number(row['post_parent']);
    const group = groups.get(parent);
    if (group) group.push(entry(row));
    else groups.set(parent, [entry(row)]);
  }
  return groups;
}

/** The columns of an image a view or an overview starts from. */
const IMAGE_COLUMNS = 'u.image_uid, u.user_login, u.image_name, p.ID, p.post_content FROM wp_image_uid u JOIN wp_posts p ON p.ID = u.post_id';

/**
 * The overviews of `images` (rows of IMAGE_COLUMNS) as `query.viewer` sees
 * them, in their order, without those the viewer sees nothing of. Three
 * reads, whatever the number of images and versions: every version's position
 * and environments (one small meta row each), then the whole meta of the
 * versions shown only; and where another owner's image is among them, a
 * fourth, of the description, acceptance time and request id of every version
 * the viewer sees (descriptionsGiven). An image of a thousand versions was read whole, meta
 * of every version, for each look at it and for each image of a listing page.
 */
async function overviewsOf(connection: PoolConnection, images: readonly RowDataPacket[], query: InEnvironment<OverviewQuery>): Promise<ImageView[]> {
  if (images.length === 0) return [];
  const [reachRows] = await connection.query<RowDataPacket[]>(
    `SELECT v.post_parent, v.ID, e.meta_value FROM wp_posts v LEFT JOIN wp_postmeta e ON e.post_id = v.ID AND e.meta_key = 'environments'
     WHERE v.post_parent IN (?) AND v.post_type = 'orbit_image_version' ORDER BY v.ID`, [images.map((image) => image['ID'])]);
  const reaches = byParent(reachRows, (row): VersionReach => ({ at: Number(row['ID']), environments: environmentsOfVersion({ environments: parsed('environments', row['meta_value']) }) }));
  const plans = images.map((image) => ({ image, plan: planScoped(String(image['user_login']) === query.viewer, reaches.get(Number(image['ID'])) ?? [], query) }));
  const shown = plans.flatMap(({ plan }) => plan?.shown ?? []);
  const [rows] = shown.length === 0 ? [[] as RowDataPacket[]] : await connection.query<RowDataPacket[]>(
    `SELECT v.post_parent, v.ID, v.post_name, v.post_status, v.post_date_gmt, m.meta_key, m.meta_value
     FROM wp_posts v LEFT JOIN wp_postmeta m ON m.post_id = v.ID AND ${listedMeta('m')} WHERE v.ID IN (?) ORDER BY v.ID`, [shown]);
  const metaRows = byParent(rows, (row) => row);
  const given = await descriptionsGiven(connection, plans.flatMap(({ image, plan }) => (plan && String(image['user_login']) !== query.viewer ? plan.seen : [])));
  return plans.flatMap(({ image, plan }) => {
    if (!plan) return [];
    const versions = wholeVersionsOf(metaRows.get(Number(image['ID'])) ?? []);
    const owned = String(image['user_login']) === query.viewer;
    return [{
      imageUID: String(image['image_uid']), owner: String(image['user_login']), imageName: String(image['image_name']),
      // Another owner's description is the newest upload's that gave one among every version the caller sees, shown or
      // not: a listing shows 10, and showed "" where none of those gave one (found by a review).
      description: owned ? String(image['post_content'] ?? '') : newestDescriptionOf(given.get(Number(image['ID'])) ?? []),
      environments: plan.environments, versions, versionCount: plan.versionCount,
    }];
  });
}

/**
 * planOverview, with the versions shown and counted narrowed to `query.environment` when one is asked: the listing
 * under ?environment=Testing showed an image's newest 10, all Development-only, and not its one Testing version.
 * Description and environments stay over every version seen.
 */
function planScoped(owned: boolean, reaches: readonly VersionReach[], query: InEnvironment<OverviewQuery>): OverviewPlan | undefined {
  const plan = planOverview(owned, reaches, query.readable, query.newest);
  const { environment } = query;
  if (plan === undefined || environment === undefined) return plan;
  // A set: an image of 10 000 versions is 10 000 looks, not 10 000 scans of them.
  const seen = new Set(plan.seen);
  const inEnvironment = planOverview(true, reaches.filter((reach) => seen.has(reach.at) && reach.environments.includes(environment)), [], query.newest);
  return { ...plan, shown: inEnvironment?.shown ?? [], versionCount: inEnvironment?.versionCount ?? 0 };
}

/**
 * Of the versions `ids`, those uploaded with a description, by image post ID, in upload order, each with only what
 * newestDescriptionOf reads: its description (taken out of its metadata here, not the whole metadata read), when its
 * request was accepted and when it was stored, and its request id. Every other meta row stays unread.
 */
async function descriptionsGiven(connection: PoolConnection, ids: readonly number[]): Promise<Map<number, Record<string, unknown>[]>> {
  if (ids.length === 0) return new Map();
  const [rows] = await connection.query<RowDataPacket[]>(
    `SELECT v.post_parent, v.post_date_gmt, ${metadataText('m.meta_value', 'description')} AS description, a.meta_value AS requested_at, q.meta_value AS request_id
     FROM wp_posts v JOIN wp_postmeta m ON m.post_id = v.ID AND m.meta_key = 'metadata'
     LEFT JOIN wp_postmeta a ON a.post_id = v.ID AND a.meta_key = 'requestedAt'
     LEFT JOIN wp_postmeta q ON q.post_id = v.ID AND q.meta_key = 'requestId'
     WHERE v.ID IN (?) AND JSON_TYPE(JSON_EXTRACT(m.meta_value, '$.description')) = 'STRING' ORDER BY v.ID`, [ids]);
  return byParent(rows, (row) => ({
    metadata: { description: String(row['description']) }, createdAt: new Date(row['post_date_gmt'] as string | Date).toISOString(),
    ...(row['requested_at'] === null ? {} : { requestedAt: String(row['requested_at']) }), requestId: row['request_id'] === null ? null : String(row['request_id']),
  }));
}

/** Reads the ViewPort projection: one image post, its version posts and their meta. */
/**
 * A metadata field's text in SQL both MariaDB and MySQL read alike: MySQL's
 * JSON_VALUE without RETURNING is a VARCHAR(512), and a longer description
 * became NULL there (never found by a search); JSON null or a number is no text.
 */
function metadataText(column: string, field: string): string {
  const value = `JSON_EXTRACT(${column}, '$.${field}')`;
  return `CASE WHEN JSON_TYPE(${value}) = 'STRING' THEN JSON_UNQUOTE(${value}) END`;
}

export function mysqlImageReader(pool: Pool): ImageReaderInEnvironment {
  /** The image, with every version or only `onlyVersion` (by its parent index, then its name: its siblings' meta is not read). */
  const view = (imageUID: string, onlyVersion?: string): Promise<ImageView | undefined> => readTogether(pool, async (connection) => {
    const [images] = await connection.query<RowDataPacket[]>(`SELECT ${IMAGE_COLUMNS} WHERE u.image_uid = ?`, [imageUID]);
    const image = images[0];
    if (!image) return undefined;
    const [versions] = await connection.query<RowDataPacket[]>(
      `SELECT v.ID, v.post_name, v.post_status, v.post_date_gmt, m.meta_key, m.meta_value
       FROM wp_posts v LEFT JOIN wp_postmeta m ON m.post_id = v.ID${onlyVersion === undefined ? ` AND ${listedMeta('m')}` : ''}
       WHERE v.post_parent = ? AND v.post_type = 'orbit_image_version'${onlyVersion === undefined ? '' : ' AND v.post_name = ?'} ORDER BY v.ID`,
      onlyVersion === undefined ? [image['ID']] : [image['ID'], onlyVersion]);
    // The collation pads with spaces ('v1 ' = 'v1'): the name is compared exactly here.
    const list = wholeVersionsOf(versions).filter((version) => onlyVersion === undefined || version['imageVersion'] === onlyVersion);
    const environments = [...new Set(list.flatMap(environmentsOfVersion))];
    return { imageUID, owner: String(image['user_login']), imageName: String(image['image_name']), description: String(image['post_content'] ?? ''), environments, versions: list };
  });
  return {
    get: (imageUID) => view(imageUID),
    getVersion: (imageUID, imageVersion) => view(imageUID, imageVersion),
    overview: (imageUID, query: InEnvironment<OverviewQuery>) => readTogether(pool, async (connection) => {
      const [images] = await connection.query<RowDataPacket[]>(`SELECT ${IMAGE_COLUMNS} WHERE u.image_uid = ?`, [imageUID]);
      return (await overviewsOf(connection, images, query))[0];
    }),
    outline: (imageUID: string, query: ViewerQuery): Promise<ImageView | undefined> => readTogether(pool, async (connection) => {
      const [images] = await connection.query<RowDataPacket[]>(`SELECT ${IMAGE_COLUMNS} WHERE u.image_uid = ?`, [imageUID]);
      const image = images[0];
      if (!image) return undefined;
      // One small row a version (its name and environments), not its twenty-odd meta rows: 220 000 rows and 33 MB were read
      // for an image of 10 000 versions, for each page of its events (found by a review: 8 at once took the gateway to 1 GB).
      const [rows] = await connection.query<RowDataPacket[]>(
        `SELECT v.ID, v.post_name, v.post_status, v.post_date_gmt, e.meta_key, e.meta_value
         FROM wp_posts v LEFT JOIN wp_postmeta e ON e.post_id = v.ID AND e.meta_key = 'environments'
         WHERE v.post_parent = ? AND v.post_type = 'orbit_image_version' ORDER BY v.ID`, [image['ID']]);
      const versions = versionsOf(rows).map((version) => ({ imageVersion: version['imageVersion'], environments: environmentsOfVersion(version) }));
      const seen = visibleImage({ imageUID, owner: String(image['user_login']), imageName: String(image['image_name']), description: '', environments: [], versions }, query.viewer, query.readable);
      return seen && { ...seen, description: '', environments: [...new Set(seen.versions.flatMap(environmentsOfVersion))] };
    }),
    getChart: (imageUID: string, fileName: string): Promise<ImageView | undefined> => readTogether(pool, async (connection) => {
      const [images] = await connection.query<RowDataPacket[]>(`SELECT ${IMAGE_COLUMNS} WHERE u.image_uid = ?`, [imageUID]);
      const image = images[0];
      if (!image) return undefined;
      // The file's versions by their chart name and version meta (an index look each), then only their meta: a chart
      // download of an image of 10 000 versions read all of them whole to find one (found by a review).
      const [ids] = await connection.query<RowDataPacket[]>(
        `SELECT v.ID FROM wp_posts v
         JOIN wp_postmeta n ON n.post_id = v.ID AND n.meta_key = 'chartName' JOIN wp_postmeta c ON c.post_id = v.ID AND c.meta_key = 'chartVersion'
         WHERE v.post_parent = ? AND v.post_type = 'orbit_image_version' AND CONCAT(n.meta_value, '-', c.meta_value, '.tgz') = ?`, [image['ID'], fileName]);
      const [rows] = ids.length === 0 ? [[] as RowDataPacket[]] : await connection.query<RowDataPacket[]>(
        `SELECT v.ID, v.post_name, v.post_status, v.post_date_gmt, m.meta_key, m.meta_value
         FROM wp_posts v LEFT JOIN wp_postmeta m ON m.post_id = v.ID AND ${listedMeta('m')} WHERE v.ID IN (?) ORDER BY v.ID`, [ids.map((row) => row['ID'])]);
      // The collation pads with spaces ('a-1.0.0.tgz ' = 'a-1.0.0.tgz'): the file is compared exactly here.
      const versions = wholeVersionsOf(rows).filter((version) => chartFileName(version) === fileName);
      return {
        imageUID, owner: String(image['user_login']), imageName: String(image['image_name']), description: String(image['post_content'] ?? ''),
        environments: [...new Set(versions.flatMap(environmentsOfVersion))], versions,
      };
    }),
    charted: async (owner: string, environment: string): Promise<ImageView[]> => {
      // The owner's versions present in the environment (by the owner's index, not every owner's images), with only the
      // meta an index entry is made of, in one read: an index of 10 000 charts read each image's every version whole,
      // 4.5–13.7 s (found by a review).
      const [rows] = await pool.query<RowDataPacket[]>(
        `SELECT u.image_uid, u.user_login, u.image_name, v.ID, v.post_name, v.post_status, v.post_date_gmt, m.meta_key, m.meta_value
         FROM wp_image_uid u JOIN wp_posts v ON v.post_parent = u.post_id AND v.post_type = 'orbit_image_version'
         JOIN wp_postmeta e ON e.post_id = v.ID AND e.meta_key = 'environments' AND JSON_CONTAINS(e.meta_value, JSON_QUOTE(?))
         LEFT JOIN wp_postmeta m ON m.post_id = v.ID AND m.meta_key IN (?)
         WHERE u.user_login = ? ORDER BY u.image_name, u.image_uid, v.ID`, [environment, INDEXED_META, owner]);
      const byImage = new Map<string, RowDataPacket[]>();
      for (const row of rows) {
        const uid = String(row['image_uid']);
        const group = byImage.get(uid);
        if (group) group.push(row);
        else byImage.set(uid, [row]);
      }
      return [...byImage.values()].map((group) => {
        const versions = versionsOf(group);
        const image = group[0] as RowDataPacket;
        // The image's own description is not read: an index lists each version's.
        return {
          imageUID: String(image['image_uid']), owner: String(image['user_login']), imageName: String(image['image_name']), description: '',
          environments: [...new Set(versions.flatMap(environmentsOfVersion))], versions,
        };
      });
    },
    versionsPage: (imageUID: string, page: InEnvironment<VersionsQuery>): Promise<VersionsPage | undefined> => readTogether(pool, async (connection) => {
      const [images] = await connection.query<RowDataPacket[]>('SELECT u.user_login, u.post_id FROM wp_image_uid u WHERE u.image_uid = ?', [imageUID]);
      const image = images[0];
      if (!image) return undefined;
      const own = String(image['user_login']) === page.viewer;
      if (!own && page.readable.length === 0) return undefined;
      // Another owner's image: only versions present in an environment the caller reads, as visibleImage shows them.
      const seenOnly = own ? '' : "JOIN wp_postmeta e ON e.post_id = v.ID AND e.meta_key = 'environments' AND JSON_OVERLAPS(e.meta_value, ?)";
      const seenArgs = own ? [] : [JSON.stringify(page.readable)];
      if (!own) {
        const [seen] = await connection.query<RowDataPacket[]>(`SELECT 1 FROM wp_posts v ${seenOnly} WHERE v.post_parent = ? AND v.post_type = 'orbit_image_version' LIMIT 1`, [...seenArgs, image['post_id']]);
        if (seen.length === 0) return undefined;
      }
      // ?environment=: of those, the versions present there (an image seen but with none there is an empty page, not a 404).
      const inEnvironment = page.environment === undefined ? '' : " JOIN wp_postmeta f ON f.post_id = v.ID AND f.meta_key = 'environments' AND JSON_CONTAINS(f.meta_value, JSON_QUOTE(?))";
      const reach = `${seenOnly}${inEnvironment}`;
      const reachArgs = page.environment === undefined ? seenArgs : [...seenArgs, page.environment];
      // The cursor's version where it stands now (the collation pads spaces: its name is compared exactly here), among
      // those the caller sees: cursors are not signed, and one naming a hidden version answered otherwise than one
      // naming no version, which told a role holder that it existed and where (found by a review).
      const [anchor] = page.beforeVersion === undefined ? [[] as RowDataPacket[]] : await connection.query<RowDataPacket[]>(
        `SELECT v.ID, v.post_name FROM wp_posts v ${reach} WHERE v.post_parent = ? AND v.post_type = 'orbit_image_version' AND v.post_name = ?`, [...reachArgs, image['post_id'], page.beforeVersion]);
      const anchored = anchor.find((row) => String(row['post_name']) === page.beforeVersion);
      const before = anchored ? Number(anchored['ID']) : page.before;
      // Newest first (upload order), one more than asked for to tell whether there is a next page.
      const [ids] = await connection.query<RowDataPacket[]>(
        `SELECT v.ID FROM wp_posts v ${reach} WHERE v.post_parent = ? AND v.post_type = 'orbit_image_version'${before === undefined ? '' : ' AND v.ID < ?'} ORDER BY v.ID DESC LIMIT ?`,
        [...reachArgs, image['post_id'], ...(before === undefined ? [] : [before]), page.limit + 1]);
      const chosen = ids.slice(0, page.limit).map((row) => Number(row['ID']));
      if (chosen.length === 0) return { versions: [] };
      const [rows] = await connection.query<RowDataPacket[]>(
        `SELECT v.ID, v.post_name, v.post_status, v.post_date_gmt, m.meta_key, m.meta_value
         FROM wp_posts v LEFT JOIN wp_postmeta m ON m.post_id = v.ID AND ${listedMeta('m')} WHERE v.ID IN (?) ORDER BY v.ID DESC`, [chosen]);
      const last = chosen.at(-1);
      return { versions: wholeVersionsOf(rows), ...(ids.length > page.limit && last !== undefined ? { next: last } : {}) };
    }),
    async search(query: ImageQuery): Promise<ImagePage> {
      const conditions: string[] = [];
      const args: string[] = [];
      if (query.after) {
        // The listing's order, binary collation: names then UIDs, so a page boundary falls between two images, never inside one.
        conditions.push('(u.image_name > ? OR (u.image_name = ? AND u.image_uid > ?))');
        args.push(query.after.imageName, query.after.imageName, query.after.imageUID);
      }
      if (query.alsoIn && query.alsoIn.length > 0) {
        conditions.push("(u.user_login = ? OR EXISTS (SELECT 1 FROM wp_posts r JOIN wp_postmeta re ON re.post_id = r.ID AND re.meta_key = 'environments' WHERE r.post_parent = p.ID AND JSON_OVERLAPS(re.meta_value, ?)))");
        args.push(query.owner, JSON.stringify(query.alsoIn));
      } else {
        conditions.push('u.user_login = ?');
        args.push(query.owner);
      }
      // The image's description and category are its latest upload's, which may be a version hidden from a role holder:
      // of another owner's image, only what the versions the caller reads were uploaded with counts.
      const readsOthers = query.alsoIn !== undefined && query.alsoIn.length > 0;
      // A version's text is its search copy, or its upload's metadata as sent where the row predates the copy (NULL).
      const versionText = (copy: 'search_description' | 'search_category', metadataField: string): string =>
        `COALESCE(d.${copy}, CONVERT(${metadataText('dm.meta_value', metadataField)} USING utf8mb4))`;
      const whatCallerSees = (imageLevel: string, versionLevel: string): string => (readsOthers
        ? `((u.user_login = ? AND ${imageLevel}) OR (u.user_login <> ? AND EXISTS (SELECT 1 FROM wp_posts d
            JOIN wp_postmeta de ON de.post_id = d.ID AND de.meta_key = 'environments' AND JSON_OVERLAPS(de.meta_value, ?)
            JOIN wp_postmeta dm ON dm.post_id = d.ID AND dm.meta_key = 'metadata'
            WHERE d.post_parent = p.ID AND ${versionLevel})))`
        : imageLevel);
      const seenArgs = (value: string): string[] => (readsOthers ? [query.owner, value, query.owner, JSON.stringify(query.alsoIn), value] : [value]);
      if (query.q) {
        // The database collates binary (names order and compare exactly); a search, as in Harbor and ECR, ignores letter case.
        // Descriptions by their search copy (NFKC, search-text.ts): a decomposed and a composed "Béla" were two words.
        const like = `%${searchQuery(query.q).replace(/[\\%_]/g, (char) => `\\${char}`)}%`;
        const ci = 'LIKE ? COLLATE utf8mb4_unicode_ci';
        conditions.push(`(u.image_name ${ci} OR ${whatCallerSees(
          `COALESCE(p.search_description, p.post_content) ${ci}`, `${versionText('search_description', 'description')} ${ci}`)})`);
        args.push(like, ...seenArgs(like));
      }
      if (query.category) {
        // Exactly, as bytes: the column's collation pads with spaces, and `Béla ` filtered as `Béla`.
        const imageCategory = "COALESCE(p.search_category, (SELECT c.meta_value FROM wp_postmeta c WHERE c.post_id = p.ID AND c.meta_key = 'imageCategory'))";
        conditions.push(whatCallerSees(`CAST(${imageCategory} AS BINARY) = CAST(? AS BINARY)`, `CAST(${versionText('search_category', 'imageCategory')} AS BINARY) = CAST(? AS BINARY)`));
        args.push(...seenArgs(searchCategory(query.category)));
      }
      if (query.environment) {
        // A version there that the caller sees: another owner's image found by a version the caller does not read was
        // listed under that environment with none of its versions shown.
        const seen = readsOthers ? ' AND (u.user_login = ? OR JSON_OVERLAPS(e.meta_value, ?))' : '';
        conditions.push(`EXISTS (SELECT 1 FROM wp_posts v JOIN wp_postmeta e ON e.post_id = v.ID AND e.meta_key = 'environments' WHERE v.post_parent = p.ID AND JSON_CONTAINS(e.meta_value, JSON_QUOTE(?))${seen})`);
        args.push(query.environment, ...(readsOthers ? [query.owner, JSON.stringify(query.alsoIn)] : []));
      }
      // One row more than asked for says whether there is a next page.
      const found = async (connection: Pool | PoolConnection) => (await connection.query<RowDataPacket[]>(
        `SELECT ${IMAGE_COLUMNS} WHERE ${conditions.join(' AND ')} ORDER BY u.image_name, u.image_uid LIMIT ?`, [...args, query.limit + 1]))[0];
      const { newest } = query;
      let rows: RowDataPacket[];
      let views: (ImageView | undefined)[];
      if (newest === undefined) {
        rows = await found(pool);
        views = await Promise.all(rows.slice(0, query.limit).map((row) => view(String(row['image_uid']))));
      } else {
        // Overviews, read with the page in one transaction: its images' row ids join their versions (readTogether).
        ({ rows, views } = await readTogether(pool, async (connection) => {
          const page = await found(connection);
          return { rows: page, views: await overviewsOf(connection, page.slice(0, query.limit), { viewer: query.owner, readable: query.alsoIn ?? [], newest, environment: query.environment }) };
        }));
      }
      const last = rows.slice(0, query.limit).at(-1);
      return {
        images: views.filter((entry): entry is ImageView => entry !== undefined),
        ...(rows.length > query.limit && last ? { next: { imageName: String(last['image_name']), imageUID: String(last['image_uid']) } } : {}),
      };
    },
  };
}

/** One indexed look (the image's UID, then its version posts by parent), for refusing a stored version before its upload. */
export function mysqlVersionStored(pool: Pool): VersionStored {
  return async (imageUID, imageVersion) => {
    // The version names of one image only (an index look); their chart versions are compared here, where chartVersionOf is.
    const [rows] = await pool.execute<RowDataPacket[]>(
      `SELECT v.post_name FROM wp_image_uid u JOIN wp_posts v ON v.post_parent = u.post_id AND v.post_type = 'orbit_image_version'
       WHERE u.image_uid = ?`, [imageUID]);
    const stored = rows.map((row) => String(row['post_name']));
    if (stored.includes(imageVersion)) return imageVersion;
    const chartVersion = chartVersionOf(imageVersion);
    return chartVersion === null ? undefined : stored.find((version) => chartVersionOf(version) === chartVersion);
  };
}

/**
 * An owner's mark (migration 0020): the projector gives it a new value in the transaction of every change it commits
 * to that owner's images, versions and their meta (a rebuild swaps in new ones), so it moves whenever what the
 * owner's Helm index lists does, and not with anyone else's uploads. `none` for an owner nothing was projected for,
 * whose index lists nothing until a commit writes the row. One primary-key look.
 */
export function mysqlOwnerMark(pool: Pool): OwnerMark {
  return async (owner) => {
    // A plain query, not a prepared statement: a rebuild's RENAME TABLE swaps this table (see readTogether).
    const [rows] = await pool.query<RowDataPacket[]>('SELECT CAST(mark AS CHAR) AS mark FROM viewport_owner_marks WHERE user_login = ?', [owner]);
    const row = rows[0];
    return row ? String(row['mark']) : 'none';
  };
}
