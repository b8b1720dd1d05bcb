import { setTimeout as sleep } from 'node:timers/promises';
import type { Pool, PoolConnection, ResultSetHeader, RowDataPacket } from 'mysql2/promise';
import { chartNameOf, chartVersionOf, inTransaction, newImageUID, StoreUnavailableError, type EventEnvelope, type TraceContext } from '@orbit/lib';
import type { UploadBodyDigest } from '@orbit/schemas';
import { ChartNameTaken, TransferKeyTaken, VersionUploadUnderWay, type AcceptedRequest, type HeldRequest, type ImageNames, type KeyedTransfer, type RequestRecord, type RequestStatus, type RequestStore, type TransferKey, type UploadClaims } from '../ports.js';
import type { TransferClaims } from '../routes/transfers.js';
import { differingAsk } from '../transfer-rules.js';
import { holdsChartName } from './chart-name-holders.js';
import type { CommandOutbox } from './mysql-outbox.js';
import { admitReferenceUpload, lockReferenceCounts, makeReferenceCountRows, referenceCountingOf, refusedAsPending, type ReferenceUploadLimits } from './pending-references.js';

/**
 * `beforeNewName` runs before a name gets its UID, and may refuse (a lost
 * projection would hand an existing name a second one). A new name whose
 * chart name another of the owner's names holds (holdsChartName) is refused
 * (ChartNameTaken): the owner's Helm repository could serve only one of the
 * two. One that has it but holds nothing gives it up (freeUnheld). A name with
 * no row whose image ViewPort has is given its row back first (restoredName).
 */
export function mysqlImageNames(pool: Pool, beforeNewName: () => Promise<void> = async () => undefined): ImageNames {
  const known = async (owner: string, imageName: string): Promise<string | undefined> => {
    const [rows] = await pool.execute<RowDataPacket[]>('SELECT image_uid FROM image_names WHERE user_login = ? AND image_name = ?', [owner, imageName]);
    const uid = rows[0]?.['image_uid'];
    return uid === undefined ? undefined : String(uid);
  };
  /** Chart names for the owner's names from before the column (or restored by a rebuild); IGNORE leaves a clashing one of them null. */
  const fillChartNames = async (owner: string): Promise<void> => {
    const [rows] = await pool.execute<RowDataPacket[]>('SELECT image_name, image_uid FROM image_names WHERE user_login = ? AND chart_name IS NULL ORDER BY created_at', [owner]);
    for (const row of rows) {
      await pool.execute('UPDATE IGNORE image_names SET chart_name = ? WHERE user_login = ? AND image_name = ?', [chartNameOf(String(row['image_name']), String(row['image_uid'])), owner, String(row['image_name'])]);
    }
  };
  /**
   * The owner's image name that has `chartName` and holds it (holdsChartName), if any, and whether ViewPort has its
   * image (a version of it was stored). `anyRow`: whichever name has it, holding or not (to name the winner of a race).
   */
  const chartNameHolder = async (
    owner: string, chartName: string, options: { readonly anyRow?: boolean } = {},
  ): Promise<{ readonly imageName: string; readonly stored: boolean } | undefined> => {
    const holding = options.anyRow ? '' : `AND ${holdsChartName('n.image_uid', 'n.created_at')}`;
    const [holders] = await pool.execute<RowDataPacket[]>(
      `SELECT n.image_name, u.image_uid IS NOT NULL AS stored FROM image_names n LEFT JOIN wp_image_uid u ON u.image_uid = n.image_uid
       WHERE n.user_login = ? AND n.chart_name = ? ${holding}`, [owner, chartName]);
    const holder = holders[0];
    return holder === undefined ? undefined : { imageName: String(holder['image_name']), stored: Number(holder['stored']) === 1 };
  };
  /**
   * Deletes another of the owner's names that has `chartName` but does not hold it (holdsChartName): no image of it
   * was stored and none of its requests is under way or may still store one. A gateway that died between a first
   * upload's UID (uidFor, its own commit) and its request left such a name, and so did a first upload refused
   * (NOT_AN_ARCHIVE, CHECKSUM_MISMATCH…): each refused every name of its chart name for ever, though the owner had no
   * image of it (found by reviews; a registry reserves no name for a push that never landed). Its failed requests stay
   * as they are, naming its UID, so the owner still reads them (GET /v1/requests, and 404 IMAGE_UPLOAD_FAILED for the
   * UID); the name itself is new again, a later upload of it gets a new UID. Under the name row's lock, read after it:
   * an upload of it recording its request now (lockImageUploads, the same lock first) either committed before, and is
   * seen under way, or finds its row gone and is refused (answerFreedName), its staged copy deleted: of the owner's two
   * uploads of names with one chart name at once, one is refused, as before.
   */
  const freeUnheld = async (owner: string, imageName: string, chartName: string): Promise<void> => {
    const [holders] = await pool.execute<RowDataPacket[]>(
      'SELECT image_uid FROM image_names WHERE user_login = ? AND chart_name = ? AND image_name <> ?', [owner, chartName, imageName]);
    const holder = holders[0];
    if (holder === undefined) return;
    const imageUID = String(holder['image_uid']);
    await inTransaction(pool, async (connection) => {
      // Locked by its UID, as lockImageUploads locks it: taken through the chart name's index instead, the two waited on
      // each other (that index entry and the row against the UID's entry and the row), and MySQL killed one as a deadlock.
      const [locked] = await connection.execute<RowDataPacket[]>('SELECT user_login, image_name, chart_name FROM image_names WHERE image_uid = ? FOR UPDATE', [imageUID]);
      const row = locked[0];
      if (row === undefined || String(row['user_login']) !== owner || String(row['chart_name']) !== chartName) return;
      // Asked of the row just locked, so the UID is given once and read from its column, as chartNameHolder asks.
      const [holds] = await connection.execute<RowDataPacket[]>(`SELECT ${holdsChartName('n.image_uid', 'n.created_at')} AS holds FROM image_names n WHERE n.image_uid = ?`, [imageUID]);
      if (Number(holds[0]?.['holds']) === 1) return;
      await connection.execute('DELETE FROM image_names WHERE user_login = ? AND image_name = ?', [owner, String(row['image_name'])]);
    });
  };
  /**
   * The UID of the owner's stored image of this name, as ViewPort keeps it (wp_image_uid: the projector writes the
   * owner and name its ImageStored carried, compared as image_names compares them, utf8mb4_bin), given back to a name
   * that has no row: a partial restore of MySQL loses image_names rows that the projector's gap re-read then projects
   * again, and only viewport:rebuild refilled them, so the name's next upload got a second UID and became a second
   * image of the same name (a disaster-recovery review). Written as a first upload writes a name (INSERT IGNORE, the
   * name's primary key decides), so two uploads looking at once agree on one UID, whichever of them wrote it. Were a
   * name ever given two UIDs, the older keeps it, as a rebuild gives it back. Another of the owner's names that has
   * its chart name and holds nothing gives it up (freeUnheld); one that holds it keeps it, and this name is given
   * back without one, as a rebuild gives names back (the image is stored: a second UID would not make it less so).
   * Undefined when ViewPort has no image of the name, or the row could not be written (its UID has another name's row).
   */
  const restoredName = async (owner: string, imageName: string): Promise<string | undefined> => {
    const [stored] = await pool.execute<RowDataPacket[]>(
      'SELECT image_uid, created_at FROM wp_image_uid WHERE user_login = ? AND image_name = ? ORDER BY created_at, image_uid LIMIT 1', [owner, imageName]);
    const image = stored[0];
    if (image === undefined) return undefined;
    const imageUID = String(image['image_uid']);
    const chartName = chartNameOf(imageName, imageUID);
    await freeUnheld(owner, imageName, chartName);
    const give = 'INSERT IGNORE INTO image_names (user_login, image_name, image_uid, chart_name, created_at) VALUES (?, ?, ?, ?, ?)';
    await pool.execute(give, [owner, imageName, imageUID, chartName, image['created_at']]);
    const given = await known(owner, imageName);
    if (given !== undefined) return given;
    // Refused by the chart name's key: another name holds it.
    await pool.execute(give, [owner, imageName, imageUID, null, image['created_at']]);
    return known(owner, imageName);
  };
  /** The name's UID from its row, or from ViewPort's record of its image (restoredName). */
  const recorded = async (owner: string, imageName: string): Promise<string | undefined> =>
    (await known(owner, imageName)) ?? restoredName(owner, imageName);
  const uidMade = async (owner: string, imageName: string): Promise<{ readonly imageUID: string; readonly made: boolean }> => {
    const existing = await recorded(owner, imageName);
    if (existing !== undefined) return { imageUID: existing, made: false };
    await beforeNewName();
    await fillChartNames(owner);
    const imageUID = newImageUID();
    const chartName = chartNameOf(imageName, imageUID);
    await freeUnheld(owner, imageName, chartName);
    // INSERT IGNORE keeps the first UID when two first uploads race, and refuses a chart name the owner has already.
    const [inserted] = await pool.execute<ResultSetHeader>('INSERT IGNORE INTO image_names (user_login, image_name, image_uid, chart_name) VALUES (?, ?, ?, ?)', [owner, imageName, imageUID, chartName]);
    const assigned = await known(owner, imageName);
    if (assigned !== undefined) return { imageUID: assigned, made: inserted.affectedRows === 1 && assigned === imageUID };
    // Taken by a first upload of another name racing this one, with no request yet: named all the same.
    const holder = await chartNameHolder(owner, chartName, { anyRow: true });
    throw new ChartNameTaken(imageName, chartName, holder?.imageName ?? chartName, holder?.stored ?? true);
  };
  return {
    async peek(owner, imageName) {
      // A name given back from ViewPort's record assigns no new UID: it is the one its stored image has.
      const existing = await recorded(owner, imageName);
      if (existing !== undefined) return existing;
      await beforeNewName();
      await fillChartNames(owner);
      // A chart name made from a UID (a name with no letter or digit) is that UID's alone: any will do to ask.
      const chartName = chartNameOf(imageName, newImageUID());
      const holder = await chartNameHolder(owner, chartName);
      // A first upload of this very name, racing this one, may have taken it since the look above: then it is known, not taken.
      const raced = await known(owner, imageName);
      if (raced !== undefined) return raced;
      if (holder === undefined) return undefined;
      throw new ChartNameTaken(imageName, chartName, holder.imageName, holder.stored);
    },
    uidFor: async (owner, imageName) => (await uidMade(owner, imageName)).imageUID,
    uidMade,
  };
}

function requestOf(row: RowDataPacket): RequestRecord {
  const optional = (value: unknown): string | null => (value === null || value === undefined ? null : String(value));
  return {
    requestId: String(row['request_id']),
    kind: row['kind'] === 'transfer' ? 'transfer' : 'upload',
    imageUID: String(row['image_uid']),
    imageVersion: optional(row['image_version']),
    owner: String(row['user_login']),
    status: String(row['status']) as RequestStatus,
    error: row['error_code'] ? { code: String(row['error_code']), message: String(row['error_message'] ?? ''), pid: String(row['error_pid'] ?? '') } : null,
    targetEnvironment: optional(row['target_env']),
    notes: optional(row['notes']),
    createdAt: new Date(row['created_at'] as Date), updatedAt: new Date(row['updated_at'] as Date),
  };
}

export function mysqlRequestStore(pool: Pool): RequestStore {
  return {
    async get(requestId): Promise<RequestRecord | undefined> {
      const [rows] = await pool.execute<RowDataPacket[]>('SELECT * FROM viewport_requests WHERE request_id = ?', [requestId]);
      const row = rows[0];
      return row ? requestOf(row) : undefined;
    },
    async list(query) {
      const conditions = ['user_login = ?'];
      const values: unknown[] = [query.owner];
      if (query.kind) {
        conditions.push('kind = ?');
        values.push(query.kind);
      }
      if (query.status) {
        conditions.push('status = ?');
        values.push(query.status);
      }
      if (query.imageUID) {
        conditions.push('image_uid = ?');
        values.push(query.imageUID);
      }
      if (query.imageVersion) {
        conditions.push('image_version = ?');
        values.push(query.imageVersion);
      }
      if (query.after) {
        conditions.push('(created_at < ? OR (created_at = ? AND request_id < ?))');
        values.push(query.after.createdAt, query.after.createdAt, query.after.requestId);
      }
      // One more than asked: whether there is a next page, without counting.
      const [rows] = await pool.query<RowDataPacket[]>(
        `SELECT * FROM viewport_requests WHERE ${conditions.join(' AND ')} ORDER BY created_at DESC, request_id DESC LIMIT ?`, [...values, query.limit + 1]);
      const requests = rows.slice(0, query.limit).map(requestOf);
      const last = requests.at(-1);
      return rows.length > query.limit && last?.createdAt ? { requests, next: { createdAt: last.createdAt, requestId: last.requestId } } : { requests };
    },
    async finishedAmong(requestIds) {
      if (requestIds.length === 0) return new Set();
      const [rows] = await pool.query<RowDataPacket[]>("SELECT request_id FROM viewport_requests WHERE request_id IN (?) AND status IN ('succeeded', 'failed')", [requestIds]);
      return new Set(rows.map((row) => String(row['request_id'])));
    },
  };
}

/**
 * Rows a claim's transaction writes besides the claim. `before` runs first and must read only with locks (a plain
 * read would fix the transaction's snapshot before the claim's row lock is waited for, and the holder read after it
 * would miss a claim committed meanwhile); `after` gets the holder, ours or not.
 */
interface ClaimAlongside {
  before(connection: PoolConnection): Promise<void>;
  after(connection: PoolConnection, holder: string): Promise<void>;
}

/**
 * A table of claims: one row per thing only one request may do (promote a
 * version into an environment, complete a presigned upload), naming that
 * request. The claim, the request row and its command are written in one
 * transaction, so a gateway that dies or fails half way leaves no claim behind
 * that points at a request nobody recorded. Concurrent requests queue on the
 * claim row's lock and agree on one holder; a failed holder is replaced, so
 * what failed can be asked for again.
 */
function requestClaims(
  pool: Pool, outbox: Pick<CommandOutbox, 'record' | 'release'>, topic: string, table: 'transfer_claims' | 'upload_completions' | 'upload_idempotency_keys', keyColumns: readonly string[],
  expiresAfterSeconds?: number,
) {
  // Upload claims keep what their request was sent with (migration 0013), so a repeat of the key with another body is told apart.
  const withDigest = table !== 'transfer_claims';
  const keyMatches = keyColumns.map((column) => `${column} = ?`).join(' AND ');
  // An expired claim is no claim: it is not found, and the next claim of its key replaces it (the clock is the database's).
  const live = expiresAfterSeconds === undefined ? '' : ' AND c.created_at >= NOW(3) - INTERVAL ? SECOND';
  const liveValues = expiresAfterSeconds === undefined ? [] : [expiresAfterSeconds];
  const holder = async (db: Pool | PoolConnection, key: readonly string[]): Promise<HeldRequest | undefined> => {
    const [rows] = await db.execute<RowDataPacket[]>(
      `SELECT c.request_id, r.status, r.image_uid${withDigest ? ', c.metadata_sha256, c.content_sha256' : ''} FROM ${table} c LEFT JOIN viewport_requests r ON r.request_id = c.request_id
       WHERE ${keyColumns.map((column) => `c.${column} = ?`).join(' AND ')}${live}`, [...key, ...liveValues]);
    const row = rows[0];
    if (!row) return undefined;
    const held = { requestId: String(row['request_id']), status: row['status'] === null ? null : String(row['status']), imageUID: row['image_uid'] === null ? null : String(row['image_uid']) };
    if (!withDigest) return held;
    const metadataSha256 = row['metadata_sha256'];
    const bodyDigest = typeof metadataSha256 === 'string' ? { metadataSha256, contentSha256: typeof row['content_sha256'] === 'string' ? row['content_sha256'] : null } : null;
    return { ...held, bodyDigest };
  };
  return {
    find: (key: readonly string[]) => holder(pool, key),
    /** find, after waiting for the key's row lock: a claim being written meanwhile is then committed or undone. */
    findSettled: (key: readonly string[]) => inTransaction(pool, async (connection) => {
      await connection.execute(`SELECT request_id FROM ${table} WHERE ${keyMatches} LOCK IN SHARE MODE`, [...key]);
      return holder(connection, key);
    }),
    /** `alongside`: more of the same unit, before the claim's row is locked and once its holder is known; what it throws undoes the claim. */
    async claim(
      key: readonly string[], request: AcceptedRequest, command: EventEnvelope & { readonly bodyDigest?: UploadBodyDigest | null }, trace: TraceContext,
      beforeCommit?: () => Promise<void>, alongside?: ClaimAlongside,
    ): Promise<HeldRequest> {
      const { held, recorded } = await inTransaction(pool, async (connection) => {
        await alongside?.before(connection);
        // The upsert takes the row's exclusive lock at once (no shared-then-exclusive upgrade to deadlock on)
        // and swaps in our request only where the holder failed.
        const failedHolder = `(SELECT r.status FROM viewport_requests r WHERE r.request_id = ${table}.request_id) = 'failed'`;
        const digest = command.bodyDigest ?? null;
        const digestColumns = withDigest ? ['metadata_sha256', 'content_sha256'] : [];
        const columns = [...keyColumns, 'request_id', ...digestColumns];
        await connection.execute(
          `INSERT INTO ${table} (${columns.join(', ')}) VALUES (${columns.map(() => '?').join(', ')})
           ON DUPLICATE KEY UPDATE ${digestColumns.map((column) => `${column} = IF(${failedHolder}, VALUES(${column}), ${column}),`).join(' ')}
                                   created_at = IF(${failedHolder}, CURRENT_TIMESTAMP(3), created_at),
                                   request_id = IF(${failedHolder}, VALUES(request_id), request_id)`,
          [...key, request.requestId, ...(withDigest ? [digest?.metadataSha256 ?? null, digest?.contentSha256 ?? null] : [])]);
        if (expiresAfterSeconds !== undefined) {
          // The upsert holds the row's lock now: an expired holder is replaced under it. (A DELETE before the upsert took
          // gap locks where no row was, and two concurrent first uploads under one key deadlocked on them.)
          await connection.execute(
            `UPDATE ${table} SET ${withDigest ? 'metadata_sha256 = ?, content_sha256 = ?, ' : ''}request_id = ?, created_at = CURRENT_TIMESTAMP(3)
             WHERE ${keyMatches} AND created_at < NOW(3) - INTERVAL ? SECOND`,
            [...(withDigest ? [digest?.metadataSha256 ?? null, digest?.contentSha256 ?? null] : []), request.requestId, ...key, expiresAfterSeconds]);
        }
        const now = await holder(connection, key);
        await alongside?.after(connection, now?.requestId ?? request.requestId);
        if (now && now.requestId !== request.requestId) return { held: now, recorded: undefined };
        const ours = { requestId: request.requestId, status: null, imageUID: request.imageUID };
        const recorded = await outbox.record(connection, topic, command, trace, request);
        await beforeCommit?.();
        return { held: withDigest ? { ...ours, bodyDigest: digest } : ours, recorded };
      });
      if (recorded) await outbox.release(recorded);
      return held;
    },
    /** Removes claims past their expiry, a batch at a time; answers how many went. */
    async purgeExpired(): Promise<number> {
      if (expiresAfterSeconds === undefined) return 0;
      // Found by a plain read, then deleted one by its key (re-checked): a ranged DELETE would lock every row it scans, and
      // the gaps between, against the uploads claiming keys meanwhile.
      const [expired] = await pool.query<RowDataPacket[]>(`SELECT ${keyColumns.join(', ')} FROM ${table} WHERE created_at < NOW(3) - INTERVAL ? SECOND LIMIT 1000`, [expiresAfterSeconds]);
      let purged = 0;
      for (const row of expired) {
        const [result] = await pool.execute<ResultSetHeader>(`DELETE FROM ${table} WHERE ${keyMatches} AND created_at < NOW(3) - INTERVAL ? SECOND`, [...keyColumns.map((column) => String(row[column])), expiresAfterSeconds]);
        purged += result.affectedRows;
      }
      return purged;
    },
  };
}

/**
 * Takes the image's image_names row lock: every transaction accepting an upload of the image queues on it. Taken as the
 * transaction's first statement, so its plain reads after it (the snapshot is fixed by the first) see every upload of
 * the image committed before; a locking read of viewport_requests instead would take gap locks that other images'
 * request rows are inserted into, and deadlock with them.
 */
async function lockImageUploads(connection: PoolConnection, request: AcceptedRequest, command: EventEnvelope): Promise<void> {
  if (await nameRowLocked(connection, request.imageUID)) return;
  throw new NameFreedMeanwhile(request.owner, request.imageUID, imageNameOf(command));
}

async function nameRowLocked(connection: PoolConnection, imageUID: string): Promise<boolean> {
  const [rows] = await connection.execute<RowDataPacket[]>('SELECT image_uid FROM image_names WHERE image_uid = ? FOR UPDATE', [imageUID]);
  return rows.length > 0;
}

function imageNameOf(command: EventEnvelope): string | undefined {
  if (!('metadata' in command) || typeof command.metadata !== 'object' || command.metadata === null) return undefined;
  return 'imageName' in command.metadata && typeof command.metadata.imageName === 'string' ? command.metadata.imageName : undefined;
}

/**
 * The upload's name row was gone when its request was to be recorded: another of the owner's names with its chart
 * name freed it (freeUnheld) between its UID (or the look that found it) and this transaction. Thrown inside the
 * transaction, which then records nothing; answered outside it (answerFreedName), where a read sees what committed since.
 */
class NameFreedMeanwhile extends Error {
  constructor(readonly owner: string, readonly imageUID: string, readonly imageName: string | undefined) {
    super(`the name of image ${imageUID} was freed while its upload was being recorded`);
  }
}

/** How long, and how often, answerFreedName looks for the name that freed this one to take the chart name. */
const FREER_WAIT = { timeoutMs: 3000, intervalMs: 50 } as const;

/**
 * The answer to an upload whose name was freed meanwhile (NameFreedMeanwhile; anything else is thrown as it is):
 * ChartNameTaken naming the name that has the chart name now, as any later upload of this name is answered. The name
 * that freed it writes its own row just after (uidFor: its own statement, once the free has committed), so it is
 * waited for a moment: read at once, in the recording transaction, it was often not there yet, and the upload was
 * answered 503 (found by a race review: twins sent at once). A 503 to send again is left only for a chart name still
 * free after the wait, the name that freed it gone (its gateway stopped in between).
 */
async function answerFreedName(pool: Pool, error: unknown): Promise<never> {
  if (!(error instanceof NameFreedMeanwhile)) throw error;
  const { owner, imageUID, imageName } = error;
  if (imageName !== undefined) {
    const chartName = chartNameOf(imageName, imageUID);
    const started = Date.now();
    for (;;) {
      const holder = await chartNameRow(pool, owner, chartName);
      if (holder !== undefined) throw new ChartNameTaken(imageName, chartName, holder.imageName, holder.stored);
      if (Date.now() - started >= FREER_WAIT.timeoutMs) break;
      await sleep(FREER_WAIT.intervalMs);
    }
  }
  throw new StoreUnavailableError('MySQL', new Error(`the name of image ${imageUID} was freed while its upload was being recorded; send it again`));
}

/**
 * Runs `accept` once more when the upload's name was freed meanwhile (NameFreedMeanwhile) and this upload could take
 * it back, with its own UID, its chart name still free: most often a concurrent upload of the same name refused 429
 * (ReferenceUploadsPending) freed the row this one was about to record its request under, and this one, nothing wrong
 * with it, was answered 503 (a re-probe: 6 of 45 archive uploads racing a refused reference). Once only: freed again,
 * it is answered as answerFreedName answers.
 */
async function retakingFreedName<T>(pool: Pool, accept: () => Promise<T>): Promise<T> {
  try {
    return await accept();
  } catch (error) {
    if (!(error instanceof NameFreedMeanwhile) || !(await retakeFreedName(pool, error))) throw error;
    return accept();
  }
}

/** Gives the freed name its UID again, unless another name took its chart name or another upload of it a new UID: whether it has this UID now. */
async function retakeFreedName(pool: Pool, { owner, imageUID, imageName }: NameFreedMeanwhile): Promise<boolean> {
  if (imageName === undefined) return false;
  // INSERT IGNORE: the chart name's unique key refuses it when another of the owner's names has taken the chart name meanwhile.
  await pool.execute('INSERT IGNORE INTO image_names (user_login, image_name, image_uid, chart_name) VALUES (?, ?, ?, ?)',
    [owner, imageName, imageUID, chartNameOf(imageName, imageUID)]);
  const [rows] = await pool.execute<RowDataPacket[]>('SELECT image_uid FROM image_names WHERE user_login = ? AND image_name = ?', [owner, imageName]);
  return rows[0] !== undefined && String(rows[0]['image_uid']) === imageUID;
}

/** The owner's name that has `chartName`, holding it or not, and whether ViewPort has its image. */
async function chartNameRow(pool: Pool, owner: string, chartName: string): Promise<{ readonly imageName: string; readonly stored: boolean } | undefined> {
  const [rows] = await pool.execute<RowDataPacket[]>(
    `SELECT n.image_name, u.image_uid IS NOT NULL AS stored FROM image_names n LEFT JOIN wp_image_uid u ON u.image_uid = n.image_uid
     WHERE n.user_login = ? AND n.chart_name = ?`, [owner, chartName]);
  const row = rows[0];
  return row === undefined ? undefined : { imageName: String(row['image_name']), stored: Number(row['stored']) === 1 };
}

/**
 * Frees the name of an upload refused before its request was recorded (ReferenceUploadsPending,
 * RegistryUploadsPending) when nothing else holds it: no request names its UID and ViewPort has no image of it. Its
 * first upload gave it its UID just before (uidFor), and a name with a UID and no request holds its chart name for
 * NAME_RECORDING_SECONDS, as its request is being recorded: kept, it refused its chart-name twin (`a.b` for `a_b`) 409
 * naming it for a minute though nothing of it was accepted (found by a review). Under the name row's lock, as freeUnheld frees a name: an upload of the same
 * name recording its request now either committed before, and the name is kept, or finds it gone (NameFreedMeanwhile).
 */
async function freeUnrecordedName(pool: Pool, imageUID: string): Promise<void> {
  await inTransaction(pool, async (connection) => {
    if (!(await nameRowLocked(connection, imageUID))) return;
    await connection.execute(
      `DELETE FROM image_names WHERE image_uid = ?
         AND NOT EXISTS (SELECT 1 FROM viewport_requests r WHERE r.image_uid = ?) AND NOT EXISTS (SELECT 1 FROM wp_image_uid s WHERE s.image_uid = ?)`,
      [imageUID, imageUID, imageUID]);
  });
}

/**
 * What an acceptance refused before recording anything leaves behind is undone: the name it gave a UID, if nothing else
 * holds it. Only a name this upload made (madeItsName): one another upload of it made may be that upload's, recording its
 * request now, which was then answered 503 (found by a re-probe: 6 of 45 archives racing a reference refused 429).
 */
async function undoRefused(pool: Pool, request: AcceptedRequest, error: unknown): Promise<never> {
  if (refusedAsPending(error) && request.madeItsName !== false) await freeUnrecordedName(pool, request.imageUID);
  throw error;
}

/** How often an acceptance's transaction is run again when InnoDB killed it as a deadlock (it undid all of it). */
const DEADLOCK_ATTEMPTS = 3;

/**
 * Runs `transaction` again when InnoDB chose it as a deadlock's victim: it was rolled back whole, so running it again is
 * what the user's request would otherwise need, and a lock order that two acceptances still cross now and then is
 * answered as if they had queued, not with a 5xx.
 */
async function retryingDeadlocks<T>(transaction: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await transaction();
    } catch (error) {
      const code = typeof error === 'object' && error !== null ? (error as { code?: unknown }).code : undefined;
      if (code !== 'ER_LOCK_DEADLOCK' || attempt >= DEADLOCK_ATTEMPTS) throw error;
      await sleep(10 * attempt);
    }
  }
}

/** How long an unfinished upload holds its version: the staging bucket's expiry (deploy/local/src/provision/buckets.ts). */
export const UPLOAD_HOLDS_VERSION_SECONDS = 24 * 3600;

/**
 * Throws VersionUploadUnderWay when another upload of the request's version, or of another spelling of its chart
 * version (`5.0.0` while `v5-0-0` is under way), is accepted and not finished. With the image's lock held
 * (lockImageUploads), two uploads of one chart version cannot both pass: one is uploaded at a time, and a failed upload
 * (its status) frees it. (A version already stored is refused before this, from ViewPort, and another spelling of a
 * stored one by the validator.) Two spellings in flight at once both used to pass every check, the validator's included
 * (it sees stored versions only), and both were stored with one chart version: the second's chart lost the tag and the
 * Helm index entry (an error-contract review).
 */
async function refuseVersionUnderWay(connection: PoolConnection, request: AcceptedRequest): Promise<void> {
  if (request.kind !== 'upload' || request.imageVersion === null) return;
  const chartVersion = chartVersionOf(request.imageVersion);
  // Only uploads accepted within the staging bucket's one-day expiry: past it the staged archive is gone, so an upload
  // still unfinished (a command an operator must look at, a request no consumer ever failed) can never be stored and
  // must not hold its version for ever. An image has few uploads under way, so its spellings are compared here.
  const [rows] = await connection.execute<RowDataPacket[]>(
    `SELECT request_id, image_version FROM viewport_requests
     WHERE image_uid = ? AND kind = 'upload' AND status IN ('accepted', 'running') AND request_id <> ?
       AND created_at > UTC_TIMESTAMP(3) - INTERVAL ${UPLOAD_HOLDS_VERSION_SECONDS} SECOND
     ORDER BY created_at, request_id`,
    [request.imageUID, request.requestId]);
  const holder = rows.find((row) => {
    const version = String(row['image_version']);
    return version === request.imageVersion || (chartVersion !== null && chartVersionOf(version) === chartVersion);
  });
  if (holder) throw new VersionUploadUnderWay(String(holder['request_id']), String(holder['image_version']));
}

/**
 * Records an upload's request and command (then publishes it) unless another upload of its version is under way
 * (VersionUploadUnderWay, nothing recorded), or, for one by reference, the owner has their most of those under way
 * (ReferenceUploadsPending), or its registry has (RegistryUploadsPending): CommandPublisher.uploadRequested for
 * uploads sent without a key. Other uploads take no owner or registry lock.
 */
export function mysqlUploadRequests(pool: Pool, outbox: Pick<CommandOutbox, 'record' | 'release'>, topic: string, limits: ReferenceUploadLimits = {}) {
  return async (command: EventEnvelope, trace: TraceContext, request: AcceptedRequest): Promise<void> => {
    const counting = referenceCountingOf(command, request.owner, limits);
    if (counting !== undefined) await makeReferenceCountRows(pool, counting);
    const recorded = await retakingFreedName(pool, () => retryingDeadlocks(() => inTransaction(pool, async (connection) => {
      await lockImageUploads(connection, request, command);
      if (counting !== undefined) await lockReferenceCounts(connection, counting);
      await refuseVersionUnderWay(connection, request);
      if (counting !== undefined) await admitReferenceUpload(connection, request, counting);
      return outbox.record(connection, topic, command, trace, request);
    })).catch((error: unknown) => undoRefused(pool, request, error))).catch((error: unknown) => answerFreedName(pool, error));
    await outbox.release(recorded);
  };
}

/** How long an Idempotency-Key names its transfer when the caller does not say (ORBIT_IDEMPOTENCY_KEY_TTL_HOURS' default). */
const DEFAULT_KEY_SECONDS = 24 * 3600;

const KEYED_TRANSFER_COLUMNS = 'k.request_id, k.image_uid, k.image_version, k.target_env, k.notes';

function keyedTransferOf(row: RowDataPacket, status: unknown): KeyedTransfer {
  return {
    requestId: String(row['request_id']), status: status === null || status === undefined ? null : String(status),
    imageUID: String(row['image_uid']), imageVersion: String(row['image_version']), targetEnvironment: String(row['target_env']),
    notes: row['notes'] === null ? null : String(row['notes']),
  };
}

/** The transfer a caller's Idempotency-Key names, while it is live (younger than `expiresAfterSeconds`). */
async function keyedTransfer(pool: Pool, owner: string, key: string, expiresAfterSeconds: number): Promise<KeyedTransfer | undefined> {
  const [rows] = await pool.execute<RowDataPacket[]>(
    `SELECT ${KEYED_TRANSFER_COLUMNS}, r.status FROM transfer_idempotency_keys k LEFT JOIN viewport_requests r ON r.request_id = k.request_id
     WHERE k.user_login = ? AND k.idempotency_key = ? AND k.created_at >= NOW(3) - INTERVAL ? SECOND`, [owner, key, expiresAfterSeconds]);
  return rows[0] ? keyedTransferOf(rows[0], rows[0]['status']) : undefined;
}

/**
 * Binds `key` to `requestId` in the caller's transaction, before the transfer claim's row is locked: keys first, so
 * calls under one key queue on its row and never hold a claim while they wait for a key (a call that then finds the
 * key taken rolls back holding nothing another waits on). A key held, live, by another request that has not failed
 * stays with it: the same ask keeps it (answers false), another is TransferKeyTaken. Every read here locks (see
 * ClaimAlongside); the upsert takes the key row's lock first, so calls under one new key queue on it instead of
 * deadlocking on gap locks.
 */
async function bindTransferKey(connection: PoolConnection, key: TransferKey, requestId: string, expiresAfterSeconds: number): Promise<boolean> {
  const values = [key.owner, key.key, requestId, key.imageUID, key.imageVersion, key.targetEnvironment, key.notes];
  await connection.execute(
    `INSERT INTO transfer_idempotency_keys (user_login, idempotency_key, request_id, image_uid, image_version, target_env, notes) VALUES (?, ?, ?, ?, ?, ?, ?)
     ON DUPLICATE KEY UPDATE request_id = request_id`, values);
  const [rows] = await connection.execute<RowDataPacket[]>(
    `SELECT ${KEYED_TRANSFER_COLUMNS} FROM transfer_idempotency_keys k WHERE k.user_login = ? AND k.idempotency_key = ? AND k.created_at >= NOW(3) - INTERVAL ? SECOND FOR UPDATE`,
    [key.owner, key.key, expiresAfterSeconds]);
  const row = rows[0];
  if (row && String(row['request_id']) === requestId) return true;
  if (row) {
    const [requests] = await connection.execute<RowDataPacket[]>('SELECT status FROM viewport_requests WHERE request_id = ? LOCK IN SHARE MODE', [String(row['request_id'])]);
    const held = keyedTransferOf(row, requests[0]?.['status']);
    if (held.status !== 'failed') {
      if (differingAsk(held, key).length > 0) throw new TransferKeyTaken(held);
      return false;
    }
  }
  // Expired, or its transfer failed: the key is free for this one.
  await connection.execute(
    `UPDATE transfer_idempotency_keys SET request_id = ?, image_uid = ?, image_version = ?, target_env = ?, notes = ?, created_at = CURRENT_TIMESTAMP(3)
     WHERE user_login = ? AND idempotency_key = ?`, [...values.slice(2), key.owner, key.key]);
  return true;
}

/**
 * transfer_claims: one row per (image, version, target); see requestClaims. A transfer sent with an Idempotency-Key
 * binds it (transfer_idempotency_keys) in the claim's transaction, for `keyExpiresAfterSeconds`.
 */
export function mysqlTransferClaims(pool: Pool, outbox: Pick<CommandOutbox, 'record' | 'release'>, topic: string, keyExpiresAfterSeconds = DEFAULT_KEY_SECONDS): TransferClaims {
  const claims = requestClaims(pool, outbox, topic, 'transfer_claims', ['image_uid', 'image_version', 'target_env']);
  return {
    find: (imageUID, imageVersion, target) => claims.find([imageUID, imageVersion, target]),
    claim: async (target, request, command, trace, key) => {
      let bound = false;
      // The key is bound to this request first; a transfer already under way that the claim then answers with takes it over.
      const alongside: ClaimAlongside | undefined = key && {
        before: async (connection) => { bound = await bindTransferKey(connection, key, request.requestId, keyExpiresAfterSeconds); },
        after: async (connection, holder) => {
          if (bound && holder !== request.requestId) {
            await connection.execute('UPDATE transfer_idempotency_keys SET request_id = ? WHERE user_login = ? AND idempotency_key = ?', [holder, key.owner, key.key]);
          }
        },
      };
      const held = await claims.claim([request.imageUID, request.imageVersion ?? '', target], request, command, trace, undefined, alongside);
      // Not bound: the key named this ask's live transfer already, bound by a concurrent call after this one read it (findKey).
      return key && !bound ? { ...held, keyNamedItBefore: true } : held;
    },
    findKey: (owner, key) => keyedTransfer(pool, owner, key, keyExpiresAfterSeconds),
    bindKey: async (key, requestId) => { await inTransaction(pool, (connection) => bindTransferKey(connection, key, requestId, keyExpiresAfterSeconds)); },
    async purgeExpiredKeys(): Promise<number> {
      // As the upload keys' purge: found by a plain read, deleted one by one by key (re-checked), no ranged locks.
      const [expired] = await pool.query<RowDataPacket[]>(
        'SELECT user_login, idempotency_key FROM transfer_idempotency_keys WHERE created_at < NOW(3) - INTERVAL ? SECOND LIMIT 1000', [keyExpiresAfterSeconds]);
      let purged = 0;
      for (const row of expired) {
        const [result] = await pool.execute<ResultSetHeader>(
          'DELETE FROM transfer_idempotency_keys WHERE user_login = ? AND idempotency_key = ? AND created_at < NOW(3) - INTERVAL ? SECOND',
          [String(row['user_login']), String(row['idempotency_key']), keyExpiresAfterSeconds]);
        purged += result.affectedRows;
      }
      return purged;
    },
  };
}

/**
 * One row per (owner, key) in `table`: upload_completions (presigned upload
 * ids) or upload_idempotency_keys; see requestClaims. `expiresAfterSeconds`:
 * how long a key names its request (Idempotency-Keys, as the IETF draft lets
 * a server say); after that the key is free again and its row is purged.
 */
export function mysqlUploadClaims(
  pool: Pool, outbox: Pick<CommandOutbox, 'record' | 'release'>, topic: string, table: 'upload_completions' | 'upload_idempotency_keys', expiresAfterSeconds?: number,
  options: { readonly oneUploadPerVersion?: boolean } & ReferenceUploadLimits = {},
): UploadClaims {
  const claims = requestClaims(pool, outbox, topic, table, ['user_login', table === 'upload_completions' ? 'upload_id' : 'idempotency_key'], expiresAfterSeconds);
  return {
    claim: async (key, request, command, trace, beforeCommit) => {
      // `oneUploadPerVersion` and the limits of uploads by reference: as mysqlUploadRequests. The image's lock first,
      // then the owner's, then the registry's, then the key's; the version and the uploads under way are looked at only
      // once the key is ours: a key held by an upload under way is that upload's repeat, answered with it, neither
      // refused nor counted again.
      const counting = referenceCountingOf(command, request.owner, options);
      const alongside: ClaimAlongside | undefined = options.oneUploadPerVersion || counting !== undefined ? {
        before: async (connection) => {
          if (options.oneUploadPerVersion) await lockImageUploads(connection, request, command);
          if (counting !== undefined) await lockReferenceCounts(connection, counting);
        },
        after: async (connection, holder) => {
          if (holder !== request.requestId) return;
          if (options.oneUploadPerVersion) await refuseVersionUnderWay(connection, request);
          if (counting !== undefined) await admitReferenceUpload(connection, request, counting);
        },
      } : undefined;
      if (counting !== undefined) await makeReferenceCountRows(pool, counting);
      return retakingFreedName(pool, () => retryingDeadlocks(() => claims.claim([request.owner, key], request, command, trace, beforeCommit, alongside))
        .catch((error: unknown) => undoRefused(pool, request, error))).catch((error: unknown) => answerFreedName(pool, error));
    },
    find: (owner, key) => claims.find([owner, key]),
    findSettled: (owner, key) => claims.findSettled([owner, key]),
    purgeExpired: () => claims.purgeExpired(),
  };
}
