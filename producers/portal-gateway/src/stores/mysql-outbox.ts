import { setTimeout as sleep } from 'node:timers/promises';
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
  /**
   * Publishes a committed command, waiting for Kafka's confirmation at most `publishWaitMs`: past that the request is
   * answered as accepted (its row and command are committed) while the send goes on; one the broker cannot take is left
   * to the sweep.
   */
  release(command: RecordedCommand): Promise<void>;
  /** Publishes what earlier sends left behind, oldest first; returns how many. */
  sweep(): Promise<number>;
}

/**
 * How long a request's answer waits for Kafka to confirm its command. A broker that is there confirms in milliseconds;
 * one away had kafkajs retry for up to a minute, and one request in flight at a time queued the sends behind it, so
 * the 202 came after 31 s and two concurrent uploads got none within a client's 90 s, though both were committed (and
 * stored once Kafka was back: their retries met 409). The command is in the outbox row committed with the request, so
 * the 202 does not need the broker: it only waits long enough that a healthy broker's request is on Kafka when the
 * caller hears of it.
 */
export const PUBLISH_WAIT_MS = 2_000;

/**
 * One sweep at a time across every gateway on the database (a MySQL named lock; the projector's outbox has its own): two
 * sweeping at once would send every row left behind twice. Per database, as the projector names its drainer's.
 */
const SWEEPER_LOCK = "CONCAT('orbit-gateway-outbox-', LEFT(SHA2(DATABASE(), 256), 40))";

/**
 * How many times per `settleSeconds` a send outlasting the request's wait renews its row's lease (each to `settleSeconds`
 * from then): two renewals may fail (MySQL away a moment) before another gateway's sweep may take the row.
 */
const LEASE_RENEWALS_PER_SETTLE = 3;

export function mysqlCommandOutbox(pool: Pool, publisher: Pick<EventPublisher, 'publish'>, logger: Logger, settleSeconds = 60, publishWaitMs = PUBLISH_WAIT_MS): CommandOutbox {
  /**
   * Rows whose own send (release) is still trying: this gateway's sweep leaves them to it, however old they are by now.
   * Other gateways' sweeps know of them by the row's lease (holdLease).
   */
  const releasing = new Set<number>();
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
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        [request.requestId, request.kind, request.imageUID, request.imageVersion, request.targetEnvironment ?? null, request.notes ?? null, request.owner,
          row.status, row.errorCode, row.errorMessage, row.errorPid, row.at, row.at],
      );
    }
    const [row] = await connection.execute<ResultSetHeader>('INSERT INTO gateway_outbox (topic, payload, traceparent, created_at) VALUES (?, ?, ?, UTC_TIMESTAMP(3))', [topic, payload, traceparent]);
    return { id: row.insertId, topic, eventId: event.eventId, trail: trailOf(event), payload, traceparent };
  };
  /**
   * Publishes the command, then deletes its row; never fails: a command not published stays for the sweep. Whether its
   * row is gone.
   */
  const publishAndClear = async (command: RecordedCommand): Promise<boolean> => {
    try {
      await publishRow(command.topic, command.payload, command.traceparent);
    } catch (error) {
      logger.warn({ err: error, ...command.trail, topic: command.topic, eventId: command.eventId }, 'command kept in the outbox; the sweep will publish it');
      return false;
    }
    // The request's first line in the logs: the gateway's hop, as each consumer logs the message it handled.
    logger.info({ ...command.trail, topic: command.topic, eventId: command.eventId }, 'command published');
    // Published and committed: the request is accepted whatever happens now. A row left behind here
    // (MySQL gone a moment after the commit) is sent once more by the sweep; consumers take a repeat.
    return pool.execute('DELETE FROM gateway_outbox WHERE id = ?', [command.id]).then(() => true, (error: unknown) => {
      logger.warn({ err: error, ...command.trail, topic: command.topic, eventId: command.eventId }, 'published command left in the outbox; the sweep will send it again');
      return false;
    });
  };
  /**
   * Holds the command's row (its lease, `sending_until`) while its send, which outlasted the request's wait, goes on:
   * every gateway's sweep stops there (sweepRows), as this one's stops at a row in `releasing`. Renewed to
   * `settleSeconds` from now every third of that, on MySQL's clock (every gateway's sweep compares with the same
   * clock); a gateway that died renews no more, and the sweep takes its row once the lease runs out. A renewal that
   * fails (MySQL away) is said and the send goes on: the lease may run out, and another sweep send the row again (a
   * repeat, as before the lease). A send that ended without clearing its row gives up the lease at once, for the
   * sweep. Only sends slower than the wait come here: the normal one costs no statement.
   */
  const holdLease = async (command: RecordedCommand, sending: Promise<boolean>): Promise<void> => {
    if (settleSeconds <= 0) return; // the sweep takes every row at once: no lease would hold one
    const ended = new AbortController();
    let cleared = false;
    void sending.then((gone) => { cleared = gone; ended.abort(); });
    const about = { ...command.trail, topic: command.topic, eventId: command.eventId };
    let leased = false;
    while (!ended.signal.aborted) {
      try {
        await pool.execute('UPDATE gateway_outbox SET sending_until = UTC_TIMESTAMP(3) + INTERVAL ? SECOND WHERE id = ?', [settleSeconds, command.id]);
        leased = true;
      } catch (error) {
        logger.warn({ err: error, ...about, settleSeconds },
          'could not renew the outbox lease of a command whose send is still trying; once it runs out another gateway\'s sweep may send it again');
      }
      await sleep(settleSeconds * 1000 / LEASE_RENEWALS_PER_SETTLE, undefined, { signal: ended.signal, ref: false }).catch(() => undefined);
    }
    if (!leased || cleared) return;
    await pool.execute('UPDATE gateway_outbox SET sending_until = NULL WHERE id = ?', [command.id]).catch((error: unknown) => {
      logger.warn({ err: error, ...about }, 'could not give up the outbox lease of a command its send left behind; the sweep sends it once the lease runs out');
    });
  };
  const release: CommandOutbox['release'] = async (command) => {
    releasing.add(command.id);
    const sending = publishAndClear(command).finally(() => releasing.delete(command.id));
    const timer = new AbortController();
    const waited = sleep(publishWaitMs, 'waited' as const, { signal: timer.signal }).catch(() => 'sent' as const);
    const first = await Promise.race([sending.then(() => 'sent' as const), waited]);
    timer.abort();
    if (first === 'sent') return;
    // Committed with its request, so accepted: the send goes on (its outcome is logged as above), and a command it
    // cannot deliver is published by the sweep once Kafka is back. The request reads `accepted` until then.
    logger.warn({ ...command.trail, topic: command.topic, eventId: command.eventId, waitedMs: publishWaitMs },
      'Kafka has not confirmed the command yet; the request is accepted and its command stays in the outbox until it is published');
    void holdLease(command, sending);
  };
  /**
   * Publishes, outside any transaction, the rows no send is still trying (older than `settleSeconds`; not one this
   * gateway's release still has, nor one whose lease another gateway's release holds: holdLease), each deleted once
   * Kafka took it. The read takes no lock: the sweep used to publish inside a `FOR UPDATE` transaction, whose scan (no index on
   * created_at, REPEATABLE READ) locked every row and the gap after the last, where every new request's command goes,
   * so with Kafka away each new request's INSERT waited for the sweep's publish and was answered 503 "MySQL is
   * unavailable" after the 10 s answer deadline (an SRE review). The named lock keeps two sweeps apart; a row sent
   * twice all the same (its lease not renewed while MySQL was away, a sweep whose DELETE failed) is a repeat, which
   * every consumer bears (at least once, docs/architecture.md "Delivery"). A row an older gateway wrote, without a
   * lease (NULL), is taken as before.
   */
  const sweepRows = async (connection: PoolConnection): Promise<number> => {
    const [rows] = await connection.query<RowDataPacket[]>(
      `SELECT id, topic, payload, traceparent, COALESCE(sending_until > UTC_TIMESTAMP(3), 0) AS leased
       FROM gateway_outbox WHERE created_at < UTC_TIMESTAMP(3) - INTERVAL ? SECOND ORDER BY id LIMIT 200`,
      [settleSeconds]);
    let sent = 0;
    for (const row of rows) {
      const id = Number(row['id']);
      // Its own send is still trying, here or in another gateway (its lease runs): the rows after it wait for the next
      // sweep, in order (found by a reread: skipping it published a later command of the same image first; and by a
      // multi-replica review: another gateway's sweep sent it again, after a later command of the image).
      if (releasing.has(id) || Number(row['leased']) === 1) break;
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
      // At once, each: a sweep cut off later (the gateway stopped, MySQL away) sends again only what it had not cleared.
      await connection.execute('DELETE FROM gateway_outbox WHERE id = ?', [id]);
      sent += 1;
    }
    return sent;
  };
  return {
    record,
    release,
    async send(topic, event, trace, request) {
      await release(await inTransaction(pool, (connection) => record(connection, topic, event, trace, request)));
    },
    async sweep() {
      const connection = await pool.getConnection();
      // A connection that may still hold the lock never goes back to the pool: every other sweep would give up for good.
      let holding = false;
      try {
        const [taken] = await connection.query<RowDataPacket[]>(`SELECT GET_LOCK(${SWEEPER_LOCK}, 0) AS taken`);
        if (Number(taken[0]?.['taken']) !== 1) return 0; // another gateway is sweeping
        holding = true;
        try {
          return await sweepRows(connection);
        } finally {
          await connection.query(`SELECT RELEASE_LOCK(${SWEEPER_LOCK})`).then(() => { holding = false; }, () => undefined);
        }
      } finally {
        if (holding) connection.destroy();
        else connection.release();
      }
    },
  };
}
