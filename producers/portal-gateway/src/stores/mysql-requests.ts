import type { Pool, RowDataPacket } from 'mysql2/promise';
import { newImageUID } from '@orbit/lib';
import type { ImageNames, RequestRecord, RequestStatus, RequestStore } from '../ports.js';

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
    async accept(record) {
      await pool.execute(
        `INSERT IGNORE INTO viewport_requests (request_id, kind, image_uid, image_version, user_login, status, created_at, updated_at)
         VALUES (?, ?, ?, ?, ?, 'accepted', UTC_TIMESTAMP(3), UTC_TIMESTAMP(3))`,
        [record.requestId, record.kind, record.imageUID, record.imageVersion, record.owner],
      );
    },
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
  };
}
