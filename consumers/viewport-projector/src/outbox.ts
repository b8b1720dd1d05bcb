import { childSpan, formatTraceparent, inTransaction, parseTraceparent, TOPICS, type EventPublisher, type Logger, type TraceContext } from '@orbit/lib';
import type { ViewportUpdated } from '@orbit/schemas';
import type { Pool, PoolConnection, ResultSetHeader, RowDataPacket } from 'mysql2/promise';

/**
 * How long a published event's id is remembered. A repeat of an event comes
 * from a message applied again: a rebuild's tail re-applies what the live
 * projector announced while the replay ran, so this must outlast the longest
 * rebuild, with a wide margin.
 */
export const SENT_RETENTION_HOURS = 7 * 24;

/**
 * Queues ViewportUpdated events inside the projection's transaction. A repeat
 * of an event id still queued or published within SENT_RETENTION_HOURS is
 * ignored, so it is announced once.
 */
export async function enqueueUpdates(connection: PoolConnection, updates: readonly { event: ViewportUpdated; trace: TraceContext }[]): Promise<void> {
  if (updates.length === 0) return;
  await connection.query(
    `INSERT IGNORE INTO viewport_outbox (event_id, payload, traceparent) VALUES ${updates.map(() => '(?, ?, ?)').join(', ')}`,
    updates.flatMap(({ event, trace }) => [event.eventId, JSON.stringify(event), formatTraceparent(trace)]),
  );
}

/**
 * Publishes what the outbox holds unsent, oldest first, and marks it sent
 * (only its id is kept: the event itself is on Kafka for good).
 * Rows being drained by another instance are skipped (SKIP LOCKED), so two
 * projectors never publish the same row at once.
 */
export async function drainOutbox(pool: Pool, publisher: Pick<EventPublisher, 'publish'>, log?: Pick<Logger, 'error'>, limit = 500): Promise<number> {
  return inTransaction(pool, async (connection) => {
    const [rows] = await connection.query<RowDataPacket[]>('SELECT id, payload, traceparent FROM viewport_outbox WHERE sent_at IS NULL ORDER BY id LIMIT ? FOR UPDATE SKIP LOCKED', [limit]);
    for (const row of rows) {
      const trace = childSpan(parseTraceparent(row['traceparent'] === null ? undefined : String(row['traceparent'])));
      let event: ViewportUpdated;
      try {
        event = JSON.parse(String(row['payload'])) as ViewportUpdated;
      } catch (error) {
        // A row no one can publish (edited by hand) must not hold back every announcement after it: it is set aside.
        log?.error({ err: error, outboxId: row['id'] }, 'unreadable ViewportUpdated in the outbox; marked sent without publishing');
        continue;
      }
      await publisher.publish(TOPICS.viewportUpdated, event, { trace });
    }
    if (rows.length > 0) await connection.query("UPDATE viewport_outbox SET sent_at = NOW(3), payload = '', traceparent = NULL WHERE id IN (?)", [rows.map((row) => row['id'])]);
    return rows.length;
  });
}

/** Forgets published events older than the retention, a bounded chunk at a time; returns how many rows went. */
export async function pruneSentOutbox(pool: Pool, retentionHours = SENT_RETENTION_HOURS, limit = 5_000): Promise<number> {
  const [result] = await pool.query<ResultSetHeader>('DELETE FROM viewport_outbox WHERE sent_at < NOW(3) - INTERVAL ? HOUR ORDER BY sent_at LIMIT ?', [retentionHours, limit]);
  return result.affectedRows;
}
