import type { EventEnvelope } from '@orbit/lib';
import type { Pool, PoolConnection, RowDataPacket } from 'mysql2/promise';
import { ReferenceUploadsPending, type AcceptedRequest } from '../ports.js';

/**
 * How long an upload by reference that never finished counts against its owner's limit: the staging bucket's one-day
 * expiry, as an unfinished upload holds its version (UPLOAD_HOLDS_VERSION_SECONDS). A request no consumer ever ended
 * (its command lost with a broker's data, say) must not take one of the owner's places for ever; a pipeline that is
 * merely down or behind finishes its requests within that, and until then the owner is refused (429), not let pile on.
 */
export const REFERENCE_UPLOAD_COUNTS_SECONDS = 24 * 3600;

/** Whether `command` is an upload the validator pulls from a registry (POST /v1/uploads/references, or JSON at /v1/uploads). */
export function isReferenceUpload(command: EventEnvelope): boolean {
  return 'source' in command && command.source === 'REFERENCE';
}

/**
 * Makes the owner's row in reference_upload_owners, in a statement of its own (committed at once), before the
 * acceptance's transaction: a transaction that inserted the row itself and then rolled back (a version under way, the
 * owner over their limit) while two other first acceptances of the owner waited on its insert left those two each
 * holding a lock where the row was and waiting for the other's to insert it (InnoDB's insert-then-rollback deadlock,
 * suspected by a review). Made at once, the row is only ever locked in a transaction, never inserted there.
 */
export async function makeOwnerReferences(pool: Pool, owner: string): Promise<void> {
  await pool.execute('INSERT IGNORE INTO reference_upload_owners (user_login) VALUES (?)', [owner]);
}

/**
 * Takes the owner's row lock in reference_upload_owners (made before the transaction by makeOwnerReferences): every
 * acceptance of one of the owner's uploads by reference queues on it, so two sent at once cannot both see one place
 * left. An upsert, as the claims' are, of a row that is there: it takes the row's exclusive lock at once, with no
 * shared-then-exclusive upgrade to deadlock on (and makes a row deleted meanwhile again). A locking statement: it fixes
 * no snapshot, so a plain read after it sees every acceptance committed before (see lockImageUploads, which is taken
 * before it: image, then owner, then any key).
 */
export async function lockOwnerReferences(connection: PoolConnection, owner: string): Promise<void> {
  await connection.execute('INSERT INTO reference_upload_owners (user_login) VALUES (?) ON DUPLICATE KEY UPDATE user_login = user_login', [owner]);
}

/** The statuses a request ends with; before them it is accepted or running. */
const finished = (status: unknown): boolean => status === 'succeeded' || status === 'failed';

/**
 * Under the owner's lock (lockOwnerReferences): refuses the upload (ReferenceUploadsPending, nothing recorded) when the
 * owner has `limit` uploads by reference accepted and not finished, else notes it as one of them. "Finished" is the
 * request's status in viewport_requests, which the gateway writes (accepted) in this very transaction and the
 * projector moves on: a projector that lags, or a pipeline that is down, keeps the requests unfinished, so the owner
 * is refused until they end, never let through by a status that is late. A request whose row a rebuild has not
 * projected back yet counts as unfinished. Rows of finished requests are dropped here, by key (no ranged locks).
 */
export async function admitReferenceUpload(connection: PoolConnection, request: AcceptedRequest, limit: number): Promise<void> {
  const [rows] = await connection.execute<RowDataPacket[]>(
    `SELECT p.request_id, r.status, p.created_at < NOW(3) - INTERVAL ${REFERENCE_UPLOAD_COUNTS_SECONDS} SECOND AS lapsed
     FROM reference_uploads p LEFT JOIN viewport_requests r ON r.request_id = p.request_id
     WHERE p.user_login = ? ORDER BY p.created_at, p.request_id`, [request.owner]);
  const over = (row: RowDataPacket): boolean => finished(row['status']) || Number(row['lapsed']) === 1;
  const pending = rows.filter((row) => !over(row)).map((row) => String(row['request_id']));
  if (pending.length >= limit) throw new ReferenceUploadsPending(pending, limit);
  const done = rows.filter(over).map((row) => String(row['request_id']));
  if (done.length > 0) await connection.query('DELETE FROM reference_uploads WHERE request_id IN (?)', [done]);
  await connection.execute('INSERT INTO reference_uploads (request_id, user_login) VALUES (?, ?)', [request.requestId, request.owner]);
}
