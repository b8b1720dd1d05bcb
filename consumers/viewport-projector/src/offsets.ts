import { OrbitError } from '@orbit/lib';
import type { PoolConnection, RowDataPacket } from 'mysql2/promise';

export interface Position {
  readonly groupId: string;
  readonly topic: string;
  readonly partition: number;
  readonly offset: string;
}

/**
 * The projection has no applied offset for a partition whose consumer is
 * past its first message: the database was lost and created again (or
 * restored) empty while Kafka kept the group's place. Projecting on would
 * replay the whole history into it and announce every step again, so the
 * partition waits (retriable) for `viewport:rebuild` to swap a projection in.
 */
export class ProjectionLostError extends OrbitError {
  constructor(readonly position: Position) {
    super('ORBIT_ERR_PROJECTION_LOST',
      `ViewPort has applied nothing of ${position.topic}/${position.partition} but its consumer is at offset ${position.offset}: ` +
      'the projection was lost (its database created again or restored empty). Run `npm run viewport:rebuild`; the partition waits until then',
      { retriable: true });
  }
}

async function lockedNextOffset(connection: PoolConnection, position: Position): Promise<bigint | undefined> {
  const [rows] = await connection.execute<RowDataPacket[]>(
    'SELECT next_offset FROM viewport_applied_offsets WHERE consumer_group = ? AND topic = ? AND kafka_partition = ? FOR UPDATE',
    [position.groupId, position.topic, position.partition],
  );
  const row = rows[0];
  return row ? BigInt(String(row['next_offset'])) : undefined;
}

/**
 * Locks the partition's row of applied offsets and returns the offset the
 * projection expects next (0 when it never saw the partition and the message
 * at hand is its first). Throws ProjectionLostError when it never saw the
 * partition but `position` is further on. Must run inside the projection's
 * transaction (the throw rolls the row's creation back with the rest).
 *
 * `replayFromStart`: a rebuild's shadow, read by a new group from the
 * beginning, so a partition it never saw is at its first delivered record,
 * whatever its offset: a topic may open with a transaction's marker or
 * aborted records, which are never delivered.
 */
export async function nextExpectedOffset(connection: PoolConnection, position: Position, options: { readonly replayFromStart?: boolean } = {}): Promise<bigint> {
  const known = await lockedNextOffset(connection, position);
  if (known !== undefined) return known;
  const start = options.replayFromStart ? BigInt(position.offset) : 0n;
  if (BigInt(position.offset) > start) throw new ProjectionLostError(position);
  await connection.execute(
    `INSERT IGNORE INTO viewport_applied_offsets (consumer_group, topic, kafka_partition, next_offset, updated_at) VALUES (?, ?, ?, ?, UTC_TIMESTAMP(3))`,
    [position.groupId, position.topic, position.partition, start.toString()],
  );
  return (await lockedNextOffset(connection, position)) ?? start;
}

export async function markApplied(connection: PoolConnection, position: Position): Promise<void> {
  await connection.execute(
    'UPDATE viewport_applied_offsets SET next_offset = ?, updated_at = UTC_TIMESTAMP(3) WHERE consumer_group = ? AND topic = ? AND kafka_partition = ?',
    [(BigInt(position.offset) + 1n).toString(), position.groupId, position.topic, position.partition],
  );
}

/**
 * Waits at the swap gate (migration 0015) until no rebuild is swapping, then holds it open (a shared lock)
 * for the rest of the transaction, so a swap never happens between this transaction's reads and writes and
 * never puts in tables without what it commits. The first statement of every live projector transaction.
 */
export async function passSwapGate(connection: PoolConnection): Promise<void> {
  await connection.query('SELECT id FROM viewport_swap_gate WHERE id = 1 LOCK IN SHARE MODE');
}
