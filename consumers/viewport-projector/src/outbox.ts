import { childSpan, formatTraceparent, inTransaction, parseTraceparent, TOPICS, type EventPublisher, type TraceContext } from '@orbit/lib';
import type { ViewportUpdated } from '@orbit/schemas';
import type { Pool, PoolConnection, RowDataPacket } from 'mysql2/promise';

/** Queues ViewportUpdated events inside the projection's transaction (a repeat of the same event id is ignored). */
export async function enqueueUpdates(connection: PoolConnection, updates: readonly { event: ViewportUpdated; trace: TraceContext }[]): Promise<void> {
  if (updates.length === 0) return;
  await connection.query(
    `INSERT IGNORE INTO viewport_outbox (event_id, payload, traceparent) VALUES ${updates.map(() => '(?, ?, ?)').join(', ')}`,
    updates.flatMap(({ event, trace }) => [event.eventId, JSON.stringify(event), formatTraceparent(trace)]),
  );
}

/**
 * Publishes what the outbox holds, oldest first, and deletes it. Rows being
 * drained by another instance are skipped (SKIP LOCKED), so two projectors
 * never publish the same row at once.
 */
export async function drainOutbox(pool: Pool, publisher: Pick<EventPublisher, 'publish'>, limit = 500): Promise<number> {
  return inTransaction(pool, async (connection) => {
    const [rows] = await connection.query<RowDataPacket[]>('SELECT id, payload, traceparent FROM viewport_outbox ORDER BY id LIMIT ? FOR UPDATE SKIP LOCKED', [limit]);
    for (const row of rows) {
      const trace = childSpan(parseTraceparent(row['traceparent'] === null ? undefined : String(row['traceparent'])));
      await publisher.publish(TOPICS.viewportUpdated, JSON.parse(String(row['payload'])) as ViewportUpdated, { trace });
    }
    if (rows.length > 0) await connection.query('DELETE FROM viewport_outbox WHERE id IN (?)', [rows.map((row) => row['id'])]);
    return rows.length;
  });
}
