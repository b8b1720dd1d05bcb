import { childSpan, formatTraceparent, parseTraceparent, type EventEnvelope, type EventPublisher, type Logger, type TraceContext } from '@orbit/lib';
import type { Pool, ResultSetHeader, RowDataPacket } from 'mysql2/promise';

export interface CommandOutbox {
  /**
   * Records the command, then publishes it. If Kafka cannot take it now the
   * command stays recorded and the sweep sends it later: an accepted request
   * is never lost to a broker restart, and the caller still gets its 202.
   */
  send(topic: string, event: EventEnvelope, trace: TraceContext): Promise<void>;
  /** Publishes what earlier sends left behind, oldest first; returns how many. */
  sweep(): Promise<number>;
}

export function mysqlCommandOutbox(pool: Pool, publisher: Pick<EventPublisher, 'publish'>, logger: Logger, settleSeconds = 60): CommandOutbox {
  const publishRow = async (topic: string, payload: string, traceparent: string | null): Promise<void> => {
    await publisher.publish(topic, JSON.parse(payload) as EventEnvelope, { trace: childSpan(parseTraceparent(traceparent ?? undefined)) });
  };
  return {
    async send(topic, event, trace) {
      const payload = JSON.stringify(event);
      const traceparent = formatTraceparent(trace);
      const [inserted] = await pool.execute<ResultSetHeader>('INSERT INTO gateway_outbox (topic, payload, traceparent, created_at) VALUES (?, ?, ?, UTC_TIMESTAMP(3))', [topic, payload, traceparent]);
      try {
        await publishRow(topic, payload, traceparent);
      } catch (error) {
        logger.warn({ err: error, topic, eventId: event.eventId }, 'command kept in the outbox; the sweep will publish it');
        return;
      }
      await pool.execute('DELETE FROM gateway_outbox WHERE id = ?', [inserted.insertId]);
    },
    async sweep() {
      const connection = await pool.getConnection();
      try {
        await connection.beginTransaction();
        // Only rows older than any send still under way (the producer gives up well within a minute), so nothing goes out twice.
        const [rows] = await connection.query<RowDataPacket[]>(
          'SELECT id, topic, payload, traceparent FROM gateway_outbox WHERE created_at < UTC_TIMESTAMP(3) - INTERVAL ? SECOND ORDER BY id LIMIT 200 FOR UPDATE SKIP LOCKED',
          [settleSeconds]);
        const sent: unknown[] = [];
        for (const row of rows) {
          try {
            await publishRow(String(row['topic']), String(row['payload']), row['traceparent'] === null ? null : String(row['traceparent']));
          } catch {
            break; // still away: keep the rest in order for the next sweep
          }
          sent.push(row['id']);
        }
        if (sent.length > 0) await connection.query('DELETE FROM gateway_outbox WHERE id IN (?)', [sent]);
        await connection.commit();
        return sent.length;
      } catch (error) {
        await connection.rollback().catch(() => undefined);
        throw error;
      } finally {
        connection.release();
      }
    },
  };
}
