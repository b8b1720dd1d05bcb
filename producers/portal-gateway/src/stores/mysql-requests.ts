import type { Pool, RowDataPacket } from 'mysql2/promise';
import { newImageUID } from '@orbit/lib';
import type { ImageNames, RequestRecord, RequestStatus, RequestStore } from '../ports.js';
import type { TransferClaims } from '../routes/transfers.js';

export function mysqlImageNames(pool: Pool): ImageNames {
  return {
    async uidFor(owner, imageName) {
      // INSERT IGNORE keeps the first UID when two first uploads race.
      await pool.execute('INSERT IGNORE INTO image_names (user_login, image_name, image_uid) VALUES (?, ?, ?)', [owner, imageName, newImageUID()]);
      const [rows] = await pool.execute<RowDataPacket[]>('SELECT image_uid FROM image_names WHERE user_login = ? AND image_name = ?', [owner, imageName]);
      return String(rows[0]?.['image_uid']);
    },
  };
}

export function mysqlRequestStore(pool: Pool): RequestStore {
  return {
    async get(requestId): Promise<RequestRecord | undefined> {
      const [rows] = await pool.execute<RowDataPacket[]>('SELECT * FROM viewport_requests WHERE request_id = ?', [requestId]);
      const row = rows[0];
      if (!row) return undefined;
      return {
        requestId: String(row['request_id']),
        kind: row['kind'] === 'transfer' ? 'transfer' : 'upload',
        imageUID: String(row['image_uid']),
        imageVersion: row['image_version'] === null ? null : String(row['image_version']),
        owner: String(row['user_login']),
        status: String(row['status']) as RequestStatus,
        error: row['error_code'] ? { code: String(row['error_code']), message: String(row['error_message'] ?? ''), pid: String(row['error_pid'] ?? '') } : null,
      };
    },
    async finishedAmong(requestIds) {
      if (requestIds.length === 0) return new Set();
      const [rows] = await pool.query<RowDataPacket[]>("SELECT request_id FROM viewport_requests WHERE request_id IN (?) AND status IN ('succeeded', 'failed')", [requestIds]);
      return new Set(rows.map((row) => String(row['request_id'])));
    },
  };
}

/**
 * transfer_claims: one row per (image, version, target). INSERT IGNORE makes
 * concurrent requests agree on one holder; a failed holder is replaced, so a
 * failed transfer can be asked for again.
 */
export function mysqlTransferClaims(pool: Pool): TransferClaims {
  const holder = async (imageUID: string, imageVersion: string, target: string): Promise<{ requestId: string; status: string | null } | undefined> => {
    const [rows] = await pool.execute<RowDataPacket[]>(
      `SELECT c.request_id, r.status FROM transfer_claims c LEFT JOIN viewport_requests r ON r.request_id = c.request_id
       WHERE c.image_uid = ? AND c.image_version = ? AND c.target_env = ?`, [imageUID, imageVersion, target]);
    const row = rows[0];
    return row ? { requestId: String(row['request_id']), status: row['status'] === null ? null : String(row['status']) } : undefined;
  };
  return {
    find: holder,
    async claim(imageUID, imageVersion, target, requestId) {
      await pool.execute('INSERT IGNORE INTO transfer_claims (image_uid, image_version, target_env, request_id) VALUES (?, ?, ?, ?)', [imageUID, imageVersion, target, requestId]);
      const held = await holder(imageUID, imageVersion, target);
      if (held && held.status === 'failed') {
        await pool.execute('UPDATE transfer_claims SET request_id = ? WHERE image_uid = ? AND image_version = ? AND target_env = ? AND request_id = ?', [requestId, imageUID, imageVersion, target, held.requestId]);
        return (await holder(imageUID, imageVersion, target)) ?? { requestId, status: null };
      }
      return held ?? { requestId, status: null };
    },
  };
}
