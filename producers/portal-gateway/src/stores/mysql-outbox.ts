import { childSpan, formatTraceparent, inTransaction, isRetriable, parseTraceparent, type EventEnvelope, type EventPublisher, type Logger, type TraceContext } from '@orbit/lib';
import type { Pool, PoolConnection, ResultSetHeader, RowDataPacket } from 'mysql2/promise';
import type { AcceptedRequest } from '../ports.js';
import { requestRowStatusOf } from './request-row.js';

/** The pid, correlationId and imageUID of a command, by which its request is followed through every service's logs. */
export interface CommandTrail {
  readonly pid: string;
  readonly correlationId: string;
  readonly imageUID: string;
}

const trailOf = (event: Pick<EventEnvelope, 'pid' | 'correlationId' | 'imageUID'>): CommandTrail => ({ pid: event.pid, correlationId: event.correlationId, imageUID: event.imageUID });

/** A command written to the outbox by a transaction that has not necessarily committed yet. */
export interface RecordedCommand {
  readonly id: number;
  readonly topic: string;
  readonly eventId: string;
  /** What a log line about it carries, as every service's lines about a message do. */
  readonly trail: CommandTrail;
  readonly payload: string;
  readonly traceparent: string;
}

export interface CommandOutbox {
  /**
   * Records the command, then publishes it. If Kafka cannot take it now the
   * command stays recorded and the sweep sends it later: an accepted request
   * is never lost to a broker restart, and the caller still gets its 202.
   */
  send(topic: string, event: EventEnvelope, trace: TraceContext, request?: AcceptedRequest): Promise<void>;
  /**
   * Writes the command (and its request row) inside the caller's transaction,
   * so it commits or vanishes with the caller's own writes. Hand the result to
   * `release` once that transaction has committed. The row is accepted, or,
   * for a refusal (a PipelineFailed), failed already (requestRowStatusOf).
   */
  record(connection: PoolConnection, topic: string, event: EventEnvelope, trace: TraceContext, request?: AcceptedRequest): Promise<RecordedCommand>;
  /** Publishes a committed command; one the broker cannot take now is left to the sweep. */
  release(command: RecordedCommand): Promise<void>;
  /** Publishes what earlier sends left behind, oldest first; returns how many. */
  sweep(): Promise<number>;
}

export function mysqlCommandOutbox(pool: Pool, publisher: Pick<EventPublisher, 'publish'>, logger: Logger, settleSeconds = 60): CommandOutbox {
  const publishRow = async (topic: string, payload: string, traceparent: string | null): Promise<EventEnvelope> => {
    const event = JSON.parse(payload) as EventEnvelope;
    await publisher.publish(topic, event, { trace: childSpan(parseTraceparent(traceparent ?? undefined)) });
    return event;
  };
  const record: CommandOutbox['record'] = async (connection, topic, event, trace, request) => {
    const payload = JSON.stringify(event);
    const traceparent = formatTraceparent(trace);
    if (request) {
      const row = requestRowStatusOf(topic, event);
      // INSERT IGNORE: a status the projector already wrote for this id is never pushed back to accepted.
      await connection.execute(
        `INSERT IGNORE INTO viewport_requests (request_id, kind, image_uid, image_version, target_env, notes, user_login, status, error_code, error_message, error_pid, created_at, updated_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, COALESCE(?, UTC_TIMESTAMP(3)), COALESCE(?, UTC_TIMESTAMP(3)))`,
        [request.requestId, request.kind, request.imageUID, request.imageVersion, request.targetEnvironment ?? null, request.notes ?? null, request.owner,
          row.status, row.errorCode, row.errorMessage, row.errorPid, row.at, row.at],
      );
    }
    const [row] = await connection.execute<ResultSetHeader>('INSERT INTO gateway_outbox (topic, payload, traceparent, created_at) VALUES (?, ?, ?, UTC_TIMESTAMP(3))', [topic, payload, traceparent]);
    return { id: row.insertId, topic, eventId: event.eventId, trail: trailOf(event), payload, traceparent };
  };
  const release: CommandOutbox['release'] = async (command) => {
    try {
      await publishRow(command.topic, command.payload, command.traceparent);
    } catch (error) {
      logger.warn({ err: error, ...command.trail, topic: command.topic, eventId: command.eventId }, 'command kept in the outbox; the sweep will publish it');
      return;
    }
    // The request's first line in the logs: the gateway's hop, as each consumer logs the message it handled.
    logger.info({ ...command.trail, topic: command.topic, eventId: command.eventId }, 'command published');
    // Published and committed: the request is accepted whatever happens now. A row left behind here
    // (MySQL gone a moment after the commit) is sent once more by the sweep; consumers take a repeat.
    await pool.execute('DELETE FROM gateway_outbox WHERE id = ?', [command.id]).catch((error: unknown) => {
      logger.warn({ err: error, ...command.trail, topic: command.topic, eventId: command.eventId }, 'published command left in the outbox; the sweep will send it again');
    });
  };
  return {
    record,
    release,
    async send(topic, event, trace, request) {
      await release(await inTransaction(pool, (connection) => record(connection, topic, event, trace, request)));
    },
    async sweep() {
      return inTransaction(pool, async (connection) => {
        // Only rows older than any send still under way (the producer gives up well within a minute), so nothing goes out twice.
        const [rows] = await connection.query<RowDataPacket[]>(
          'SELECT id, topic, payload, traceparent FROM gateway_outbox WHERE created_at < UTC_TIMESTAMP(3) - INTERVAL ? SECOND ORDER BY id LIMIT 200 FOR UPDATE SKIP LOCKED',
          [settleSeconds]);
        const sent: unknown[] = [];
        for (const row of rows) {
          try {
            const event = await publishRow(String(row['topic']), String(row['payload']), row['traceparent'] === null ? null : String(row['traceparent']));
            logger.info({ ...trailOf(event), topic: row['topic'], eventId: event.eventId }, 'command published by the outbox sweep');
          } catch (error) {
            if (isRetriable(error)) break; // still away: keep the rest in order for the next sweep
            // A row that can never go out as it is (edited by hand, or written before a schema changed) stays for an
            // operator, said here on every sweep, and does not hold back the commands behind it.
            logger.error({ err: error, outboxId: row['id'], topic: row['topic'] }, 'command in the outbox cannot be published; skipped');
            continue;
          }
          sent.push(row['id']);
        }
        if (sent.length > 0) await connection.query('DELETE FROM gateway_outbox WHERE id IN (?)', [sent]);
        return sent.length;
      });
    },
  };
}
