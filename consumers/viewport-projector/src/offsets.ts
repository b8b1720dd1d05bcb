import type { PoolConnection, RowDataPacket } from 'mysql2/promise';

export interface Position {
  readonly groupId: string;
  readonly topic: string;
  readonly partition: number;
  readonly offset: string;
}

/**
 * Locks the partition's row of applied offsets and returns the offset the
 * projection expects next (0 when it never saw the partition). Must run
 * inside the projection's transaction.
 */
export async function nextExpectedOffset(connection: PoolConnection, position: Position): Promise<bigint> {
  await connection.execute(
    `INSERT IGNORE INTO viewport_applied_offsets (consumer_group, topic, kafka_partition, next_offset, updated_at) VALUES (?, ?, ?, 0, UTC_TIMESTAMP(3))`,
    [position.groupId, position.topic, position.partition],
  );
  const [rows] = await connection.execute<RowDataPacket[]>(
    'SELECT next_offset FROM viewport_applied_offsets WHERE consumer_group = ? AND topic = ? AND kafka_partition = ? FOR UPDATE',
    [position.groupId, position.topic, position.partition],
  );
  return BigInt(String(rows[0]?.['next_offset'] ?? 0));
}

export async function markApplied(connection: PoolConnection, position: Position): Promise<void> {
  await connection.execute(
    'UPDATE viewport_applied_offsets SET next_offset = ?, updated_at = UTC_TIMESTAMP(3) WHERE consumer_group = ? AND topic = ? AND kafka_partition = ?',
    [(BigInt(position.offset) + 1n).toString(), position.groupId, position.topic, position.partition],
  );
}
