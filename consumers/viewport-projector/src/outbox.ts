import { childSpan, formatTraceparent, parseTraceparent, TOPICS, type EventPublisher, type Logger, type TraceContext } from '@orbit/lib';
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

/** Rounds one drain takes at most; rows committed meanwhile beyond them are the next drain's or the sweep's. */
const DRAIN_ROUNDS = 10;

/** One drainer per database at a time: a named lock is server-wide, and its name at most 64 characters. */
const DRAINER_LOCK = "CONCAT('orbit-outbox-', LEFT(SHA2(DATABASE(), 256), 40))";

/**
 * Publishes what the outbox holds unsent, oldest first, and marks it sent
 * (only its id is kept: the event itself is on Kafka for good).
 *
 * One drain at a time (a named lock), each round at READ COMMITTED: at
 * REPEATABLE READ the locking read also locked the gap after the last unsent
 * row, where every new row goes, so a projection transaction enqueueing its
 * announcement waited for the whole publish (up to the 50 s lock wait on a
 * stalled broker). A drain that finds another at work leaves the outbox to it
 * rather than skipping the rows it publishes, which would publish the rows
 * after them first (a request's "succeeded" before its "running"); the one at
 * work looks again after letting go, so a row committed meanwhile is not left
 * for the sweep. Rows still being inserted (locked) are skipped: their own
 * transaction drains after its commit. Publishing stays inside each round's
 * transaction: a crash before its commit leaves the rows unsent, to be
 * published again (at least once).
 */
export async function drainOutbox(pool: Pool, publisher: Pick<EventPublisher, 'publish'>, log?: Pick<Logger, 'error'>, limit = 500): Promise<number> {
  const connection = await pool.getConnection();
  let published = 0;
  // A connection that may still hold the lock never goes back to the pool: every other drain would give up for good.
  let holding = false;
  try {
    for (let round = 0; round < DRAIN_ROUNDS;) {
      const [taken] = await connection.query<RowDataPacket[]>(`SELECT GET_LOCK(${DRAINER_LOCK}, 0) AS taken`);
      if (Number(taken[0]?.['taken']) !== 1) return published;
      holding = true;
      try {
        for (; round < DRAIN_ROUNDS; round += 1) {
          const drained = await drainRound(connection, publisher, log, limit);
          published += drained;
          if (drained === 0) break;
        }
      } finally {
        await connection.query(`SELECT RELEASE_LOCK(${DRAINER_LOCK})`).then(() => { holding = false; }, () => undefined);
      }
      const [left] = await connection.query<RowDataPacket[]>('SELECT 1 FROM viewport_outbox WHERE sent_at IS NULL LIMIT 1');
      if (left.length === 0) break;
      round += 1;
    }
    return published;
  } finally {
    if (holding) connection.destroy();
    else connection.release();
  }
}

/** One transaction's worth, on the connection holding the drainer's lock. */
async function drainRound(connection: PoolConnection, publisher: Pick<EventPublisher, 'publish'>, log: Pick<Logger, 'error'> | undefined, limit: number): Promise<number> {
  await connection.query('SET TRANSACTION ISOLATION LEVEL READ COMMITTED');
  await connection.beginTransaction();
  try {
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
    await connection.commit();
    return rows.length;
  } catch (error) {
    await connection.rollback().catch(() => undefined);
    throw error;
  }
}

/** Forgets published events older than the retention, a bounded chunk at a time; returns how many rows went. */
export async function pruneSentOutbox(pool: Pool, retentionHours = SENT_RETENTION_HOURS, limit = 5_000): Promise<number> {
  const [result] = await pool.query<ResultSetHeader>('DELETE FROM viewport_outbox WHERE sent_at < NOW(3) - INTERVAL ? HOUR ORDER BY sent_at LIMIT ?', [retentionHours, limit]);
  return result.affectedRows;
}
