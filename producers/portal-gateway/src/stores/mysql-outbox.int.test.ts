import { randomUUID } from 'node:crypto';
import { Writable } from 'node:stream';
import { childSpan, createLogger, createMysqlPool, databaseOf, StoreUnavailableError, withAnswerDeadline, type EventEnvelope, type Logger } from '@orbit/lib';
import { sampleEvents } from '@orbit/schemas';
import type { Pool, RowDataPacket } from 'mysql2/promise';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { loadMigrations, migrate } from '../../../../deploy/local/src/provision/migrations.js';
import { quietLogger, testConfig, uniqueSuffix } from '../../../../test/helpers/index.js';
import { mysqlCommandOutbox, PUBLISH_WAIT_MS } from './mysql-outbox.js';

/**
 * A database of the file's own (the stack's user may create `<database>_…`), migrated as this checkout's migrations
 * have it: the outbox's table has the columns this build's sweep reads before the shared database is provisioned,
 * and the stack's own gateway, which sweeps the shared one, never publishes a row of these tests to the real Kafka.
 * Migrated to 0020 first, given a row as a gateway of then wrote it, then to the rest.
 */
const database = `${databaseOf(testConfig.MYSQL_URL)}_gwoutbox_${uniqueSuffix()}`;
const url = new URL(testConfig.MYSQL_URL);
url.pathname = `/${database}`;
const pool = createMysqlPool(url.toString(), 2);
/** A command an older gateway left in the outbox (no lease column yet), long enough ago for any sweep. */
const fromOlderGateway = sampleEvents(undefined, `req-${randomUUID()}`)['orbit.upload.requested'];
beforeAll(async () => {
  const migrations = loadMigrations();
  await migrate({ url: url.toString() }, migrations.filter((migration) => migration.version <= '0020'));
  await pool.query("INSERT INTO gateway_outbox (topic, payload, traceparent, created_at) VALUES ('orbit.upload.requested', ?, NULL, UTC_TIMESTAMP(3) - INTERVAL 1 HOUR)",
    [JSON.stringify(fromOlderGateway)]);
  await migrate({ url: url.toString() }, migrations);
}, 60_000);
afterAll(async () => {
  await pool.end();
  const admin = createMysqlPool(testConfig.MYSQL_URL, 1);
  await admin.query(`DROP DATABASE IF EXISTS \`${database}\``);
  await admin.end();
});

async function kept(eventId: string): Promise<number> {
  const [rows] = await pool.query<RowDataPacket[]>('SELECT COUNT(*) AS n FROM gateway_outbox WHERE payload LIKE ?', [`%${eventId}%`]);
  return Number(rows[0]?.['n']);
}

async function statusOf(requestId: string): Promise<string | undefined> {
  const [rows] = await pool.query<RowDataPacket[]>('SELECT status FROM viewport_requests WHERE request_id = ?', [requestId]);
  return rows[0] ? String(rows[0]['status']) : undefined;
}

/** A logger whose lines are kept, parsed. */
function keptLines(): { logger: Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const destination = new Writable({ write(chunk: Buffer, _encoding, done) { lines.push(JSON.parse(chunk.toString('utf8')) as Record<string, unknown>); done(); } });
  return { logger: createLogger({ service: 'test', level: 'info', destination }), lines };
}

/**
 * `pool`, for one gateway replica: the statements it runs, and `die()`, after which every one fails as with MySQL gone,
 * as a gateway that died no longer writes (its send may still be trying, somewhere).
 */
function replicaPool(): { pool: Pool; statements: string[]; die: () => void } {
  const statements: string[] = [];
  let dead = false;
  const lost = () => Promise.reject(Object.assign(new Error('Connection lost: The server closed the connection.'), { code: 'PROTOCOL_CONNECTION_LOST', fatal: true }));
  const replica = new Proxy(pool, {
    get(target, key, receiver) {
      if (key !== 'execute') return Reflect.get(target, key, receiver) as unknown;
      return (sql: string, values?: unknown) => {
        statements.push(sql);
        return dead ? lost() : target.execute(sql, values as never);
      };
    },
  });
  return { pool: replica, statements, die: () => { dead = true; } };
}

const until = async (what: () => Promise<boolean>, withinMs: number): Promise<boolean> => {
  for (const started = Date.now(); Date.now() - started < withinMs; await new Promise((resolve) => setTimeout(resolve, 100))) if (await what()) return true;
  return false;
};

describe('the gateway command outbox of two gateway replicas (multi-replica review: a command sent twice, the stale copy after a later one of its image)', () => {
  // The sweep's minute, shortened; a lease runs as long, renewed every third of it.
  const SETTLE_SECONDS = 2;
  const WAIT_MS = 200;
  const sweptBy = (outbox: ReturnType<typeof mysqlCommandOutbox>, published: readonly EventEnvelope[], eventId: string) =>
    until(async () => { await outbox.sweep(); return published.some((sent) => sent.eventId === eventId); }, 10_000);

  it('sweeps a command an older gateway left (written before the lease column) as before', async () => {
    const published: EventEnvelope[] = [];
    const outbox = mysqlCommandOutbox(pool, { publish: async (_topic, sent) => { published.push(sent); } }, quietLogger, SETTLE_SECONDS);
    expect(await sweptBy(outbox, published, fromOlderGateway.eventId)).toBe(true);
    expect(await kept(fromOlderGateway.eventId)).toBe(0);
  }, 30_000);

  it('another replica\'s sweep leaves a command whose send is still trying, and the commands behind it, until that replica is gone and its lease ran out', async () => {
    const kafkaOfA = silentKafka();
    const a = replicaPool();
    const logOfA = keptLines();
    const replicaA = mysqlCommandOutbox(a.pool, kafkaOfA, logOfA.logger, SETTLE_SECONDS, WAIT_MS);
    const published: EventEnvelope[] = [];
    const replicaB = mysqlCommandOutbox(pool, { publish: async (_topic, sent) => { published.push(sent); } }, quietLogger, SETTLE_SECONDS, WAIT_MS);
    const first = sampleEvents(undefined, `req-${randomUUID()}`)['orbit.upload.requested'];
    const second = { ...sampleEvents(undefined, `req-${randomUUID()}`)['orbit.upload.requested'], imageUID: first.imageUID };
    try {
      // A accepts the first command; its Kafka send does not end (a silent broker: kafkajs tries for minutes).
      await replicaA.send('orbit.upload.requested', first, childSpan(undefined));
      expect(kafkaOfA.calls()).toBe(1);
      // Another command of the image, left to the sweep (B's broker refused it a moment): behind the first, in order.
      await mysqlCommandOutbox(pool, { publish: async () => { throw new StoreUnavailableError('kafka', 'broker restarting'); } }, quietLogger, SETTLE_SECONDS, WAIT_MS)
        .send('orbit.upload.requested', second, childSpan(undefined));
      // Past the settle time, twice over: the lease first written would have run out; A renews it.
      for (const waitMs of [SETTLE_SECONDS * 1000 + 500, SETTLE_SECONDS * 1000]) {
        await new Promise((resolve) => setTimeout(resolve, waitMs));
        expect(await replicaB.sweep()).toBe(0);
        expect(await replicaA.sweep()).toBe(0);
      }
      expect(published.map((sent) => sent.eventId)).toEqual([]);
      expect(await kept(first.eventId)).toBe(1);
      expect(await kept(second.eventId)).toBe(1);
      // A dies, its send never ended: once the lease runs out, B's sweep sends both, in order.
      a.die();
      expect(await sweptBy(replicaB, published, second.eventId)).toBe(true);
      expect(published.map((sent) => sent.eventId)).toEqual([first.eventId, second.eventId]);
      expect(await kept(first.eventId)).toBe(0);
      expect(await kept(second.eventId)).toBe(0);
      expect(logOfA.lines.filter((line) => line['eventId'] === first.eventId).map((line) => line['msg'])).toContain(
        'could not renew the outbox lease of a command whose send is still trying; once it runs out another gateway\'s sweep may send it again');
    } finally {
      kafkaOfA.answer(false);
      for (const event of [first, second]) await pool.query('DELETE FROM gateway_outbox WHERE payload LIKE ?', [`%${event.eventId}%`]);
    }
  }, 60_000);

  it('a send that ends without Kafka gives its row to the sweep at once; a send Kafka confirms in time writes no lease', async () => {
    const kafkaOfA = silentKafka();
    const a = replicaPool();
    const replicaA = mysqlCommandOutbox(a.pool, kafkaOfA, quietLogger, SETTLE_SECONDS, WAIT_MS);
    const published: EventEnvelope[] = [];
    const replicaB = mysqlCommandOutbox(pool, { publish: async (_topic, sent) => { published.push(sent); } }, quietLogger, SETTLE_SECONDS, WAIT_MS);
    const slow = sampleEvents(undefined, `req-${randomUUID()}`)['orbit.upload.requested'];
    try {
      await replicaA.send('orbit.upload.requested', slow, childSpan(undefined));
      await new Promise((resolve) => setTimeout(resolve, SETTLE_SECONDS * 1000 + 500));
      expect(await replicaB.sweep()).toBe(0);
      // Kafka gives up on it (kafkajs' retries spent): its lease goes with the send, not a settle time later.
      kafkaOfA.answer(false);
      expect(await until(async () => {
        const [rows] = await pool.query<RowDataPacket[]>('SELECT sending_until FROM gateway_outbox WHERE payload LIKE ?', [`%${slow.eventId}%`]);
        return rows[0]?.['sending_until'] === null;
      }, 2_000)).toBe(true);
      expect(await replicaB.sweep()).toBe(1);
      expect(published.map((sent) => sent.eventId)).toEqual([slow.eventId]);
    } finally {
      await pool.query('DELETE FROM gateway_outbox WHERE payload LIKE ?', [`%${slow.eventId}%`]);
    }
    // The normal send: published within the wait, its row deleted, and nothing else said to MySQL.
    const fast = replicaPool();
    await mysqlCommandOutbox(fast.pool, { publish: async () => undefined }, quietLogger, SETTLE_SECONDS, WAIT_MS)
      .send('orbit.upload.requested', sampleEvents(undefined, `req-${randomUUID()}`)['orbit.upload.requested'], childSpan(undefined));
    await new Promise((resolve) => setTimeout(resolve, WAIT_MS * 2));
    expect(fast.statements.map((sql) => sql.split(' ')[0])).toEqual(['DELETE']);
  }, 60_000);
});

describe('the gateway command outbox against MariaDB', () => {
  it('logs each command it publishes, at once or by the sweep, with its pid, correlationId and imageUID, as every service logs a message', async () => {
    const at = (lines: Record<string, unknown>[], eventId: string) => lines.filter((line) => line['eventId'] === eventId)
      .map((line) => [line['level'], line['msg'], line['pid'], line['correlationId'], line['imageUID']]);
    const event = sampleEvents(undefined, `req-${randomUUID()}`)['orbit.upload.requested'];
    const trail = [event.pid, event.correlationId, event.imageUID];
    const up = keptLines();
    await mysqlCommandOutbox(pool, { publish: async () => undefined }, up.logger).send('orbit.upload.requested', event, childSpan(undefined));
    expect(at(up.lines, event.eventId)).toEqual([['info', 'command published', ...trail]]);

    const later = sampleEvents(undefined, `req-${randomUUID()}`)['orbit.upload.requested'];
    const down = keptLines();
    await mysqlCommandOutbox(pool, { publish: async () => { throw new Error('broker restarting'); } }, down.logger, 0).send('orbit.upload.requested', later, childSpan(undefined));
    expect(at(down.lines, later.eventId)).toEqual([['warn', 'command kept in the outbox; the sweep will publish it', later.pid, later.correlationId, later.imageUID]]);
    const sweeper = keptLines();
    const outbox = mysqlCommandOutbox(pool, { publish: async () => undefined }, sweeper.logger, 0);
    for (let i = 0; i < 10 && at(sweeper.lines, later.eventId).length === 0; i++) await outbox.sweep();
    expect(at(sweeper.lines, later.eventId)).toEqual([['info', 'command published by the outbox sweep', later.pid, later.correlationId, later.imageUID]]);
  });

  it('keeps a command the broker refused and publishes it once on a later sweep', async () => {
    const event = sampleEvents()['orbit.upload.requested'];
    const down = mysqlCommandOutbox(pool, { publish: async () => { throw new Error('broker restarting'); } }, quietLogger, 0);
    await down.send('orbit.upload.requested', event, childSpan(undefined));
    expect(await kept(event.eventId)).toBe(1);

    const published: EventEnvelope[] = [];
    const up = mysqlCommandOutbox(pool, { publish: async (_topic, sent) => { published.push(sent); } }, quietLogger, 0);
    for (let i = 0; i < 10 && !published.some((sent) => sent.eventId === event.eventId); i++) await up.sweep();
    expect(published.filter((sent) => sent.eventId === event.eventId)).toHaveLength(1);
    expect(published.find((sent) => sent.eventId === event.eventId)).toEqual(event);
    expect(await kept(event.eventId)).toBe(0);
  });

  it('accepts a request whose command went out even when MySQL goes away before the outbox row is cleared', async () => {
    const event = sampleEvents(undefined, `req-${randomUUID()}`)['orbit.upload.requested'];
    const request = { requestId: event.requestId, kind: 'upload' as const, imageUID: event.imageUID, imageVersion: 'v1-0-00', owner: 'dev1' };
    // The same pool, except that MariaDB is gone by the time the published command's row is deleted.
    const goneAfterCommit = new Proxy(pool, {
      get(target, key, receiver) {
        if (key !== 'execute') return Reflect.get(target, key, receiver) as unknown;
        return (sql: string, values?: unknown) => (sql.startsWith('DELETE FROM gateway_outbox')
          ? Promise.reject(Object.assign(new Error('Connection lost: The server closed the connection.'), { code: 'PROTOCOL_CONNECTION_LOST', fatal: true }))
          : target.execute(sql, values as never));
      },
    });
    const published: EventEnvelope[] = [];
    const outbox = mysqlCommandOutbox(goneAfterCommit, { publish: async (_topic, sent) => { published.push(sent); } }, quietLogger);
    await expect(outbox.send('orbit.upload.requested', event, childSpan(undefined), request)).resolves.toBeUndefined();
    expect(published.map((sent) => sent.eventId)).toEqual([event.eventId]);
    expect(await statusOf(event.requestId)).toBe('accepted');
    // The row stays for the sweep (a repeat the consumers recognise), not lost.
    expect(await kept(event.eventId)).toBe(1);
    await pool.query('DELETE FROM gateway_outbox WHERE payload LIKE ?', [`%${event.eventId}%`]);
  });

  it('goes past a command that can never be published, keeping it, instead of holding back the ones behind it', async () => {
    const stuck = randomUUID();
    await pool.query("INSERT INTO gateway_outbox (topic, payload, traceparent, created_at) VALUES ('orbit.upload.requested', ?, NULL, UTC_TIMESTAMP(3) - INTERVAL 1 HOUR)", [`not json ${stuck}`]);
    const event = sampleEvents()['orbit.upload.requested'];
    const down = mysqlCommandOutbox(pool, { publish: async () => { throw new StoreUnavailableError('kafka', 'broker restarting'); } }, quietLogger, 0);
    await down.send('orbit.upload.requested', event, childSpan(undefined));
    const published: EventEnvelope[] = [];
    const up = mysqlCommandOutbox(pool, { publish: async (_topic, sent) => { published.push(sent); } }, quietLogger, 0);
    for (let i = 0; i < 10 && !published.some((sent) => sent.eventId === event.eventId); i++) await up.sweep();
    expect(published.filter((sent) => sent.eventId === event.eventId)).toHaveLength(1);
    expect(await kept(stuck)).toBe(1);
    await pool.query('DELETE FROM gateway_outbox WHERE payload LIKE ?', [`%${stuck}%`]);
  });

  it('records the request and its command together, or neither', async () => {
    const event = sampleEvents(undefined, `req-${randomUUID()}`)['orbit.upload.requested'];
    const request = { requestId: event.requestId, kind: 'upload' as const, imageUID: event.imageUID, imageVersion: 'v1-0-00', owner: 'dev1' };
    const down = mysqlCommandOutbox(pool, { publish: async () => { throw new Error('broker restarting'); } }, quietLogger);
    await down.send('orbit.upload.requested', event, childSpan(undefined), request);
    expect(await statusOf(event.requestId)).toBe('accepted');
    expect(await kept(event.eventId)).toBe(1);
    await pool.query('DELETE FROM gateway_outbox WHERE payload LIKE ?', [`%${event.eventId}%`]);

    // The command cannot be stored (a topic longer than its column): the request row goes with it.
    const lost = sampleEvents(undefined, `req-${randomUUID()}`)['orbit.upload.requested'];
    await expect(down.send('t'.repeat(300), lost, childSpan(undefined), { ...request, requestId: lost.requestId })).rejects.toThrow();
    expect(await statusOf(lost.requestId)).toBeUndefined();
  });

  it('publishes at once and keeps nothing when the broker takes it', async () => {
    const event = sampleEvents()['orbit.upload.requested'];
    const published: EventEnvelope[] = [];
    await mysqlCommandOutbox(pool, { publish: async (_topic, sent) => { published.push(sent); } }, quietLogger).send('orbit.upload.requested', event, childSpan(undefined));
    expect(published).toEqual([event]);
    expect(await kept(event.eventId)).toBe(0);
  });
});

/** A broker that does not answer (away, or its port silent): each publish waits until `answer` is called, then fails as kafkajs does once its retries are spent, or goes through. */
function silentKafka(): { publish: () => Promise<void>; calls: () => number; answer: (up: boolean) => void } {
  const waiting: { resolve: () => void; reject: (error: Error) => void }[] = [];
  let calls = 0;
  let answered: boolean | undefined;
  return {
    publish: () => {
      calls += 1;
      if (answered !== undefined) return answered ? Promise.resolve() : Promise.reject(new StoreUnavailableError('kafka', 'broker unreachable'));
      return new Promise<void>((resolve, reject) => { waiting.push({ resolve, reject }); });
    },
    calls: () => calls,
    answer: (up) => {
      answered = up;
      for (const call of waiting.splice(0)) {
        if (up) call.resolve();
        else call.reject(new StoreUnavailableError('kafka', 'broker unreachable'));
      }
    },
  };
}

/**
 * A sweep that has reached the silent broker (it waits on a publish), in an object (an async function's promise would
 * adopt the sweep's and wait for it). A sweep that found another at work (a gateway of the
 * stack sweeping this database, holding the lock a moment) returns at once without publishing, and is started again.
 */
async function sweepReaching(outbox: ReturnType<typeof mysqlCommandOutbox>, kafka: ReturnType<typeof silentKafka>): Promise<{ readonly sweeping: Promise<number> }> {
  for (let attempt = 0; attempt < 20; attempt++) {
    let settled = false;
    const sweeping = outbox.sweep().finally(() => { settled = true; });
    for (let i = 0; i < 50 && kafka.calls() === 0 && !settled; i++) await new Promise((resolve) => setTimeout(resolve, 20));
    if (kafka.calls() > 0) return { sweeping };
    await sweeping;
  }
  throw new Error('the sweep never reached the broker');
}

/** How long `work` took, or 'unanswered' if it took longer than `withinMs` (it goes on). */
async function timed(work: Promise<unknown>, withinMs: number): Promise<number | 'unanswered'> {
  const started = Date.now();
  const late = new Promise<'unanswered'>((resolve) => { setTimeout(() => resolve('unanswered'), withinMs).unref(); });
  return Promise.race([work.then(() => Date.now() - started), late]);
}

describe('the gateway command outbox while Kafka does not answer (SRE review: uploads unanswered past 90 s, then 503 naming MySQL)', () => {
  // As the gateway's pool: MySQL's answers bounded (ORBIT_MYSQL_ANSWER_TIMEOUT_SECONDS, shortened), which a lock wait ran into.
  const gatewayPool = withAnswerDeadline(createMysqlPool(url.toString(), 6), 4_000);
  afterAll(async () => { await gatewayPool.end(); });
  // Every command a test here writes is deleted after it, passed or not: a later test's sweep would publish a row left behind.
  const written: string[] = [];
  const newEvent = () => {
    const event = sampleEvents(undefined, `req-${randomUUID()}`)['orbit.upload.requested'];
    written.push(event.eventId);
    return event;
  };
  afterEach(async () => {
    for (const eventId of written.splice(0)) await pool.query('DELETE FROM gateway_outbox WHERE payload LIKE ?', [`%${eventId}%`]);
  });
  const requestOf = (event: { readonly requestId: string; readonly imageUID: string }) => ({ requestId: event.requestId, kind: 'upload' as const, imageUID: event.imageUID, imageVersion: 'v1-0-00', owner: 'dev1' });

  it('answers concurrent requests within the publish wait, each committed as accepted with its command in the outbox, and publishes them once Kafka is back', async () => {
    const kafka = silentKafka();
    const log = keptLines();
    const outbox = mysqlCommandOutbox(gatewayPool, kafka, log.logger);
    const sent = [newEvent(), newEvent(), newEvent()];
    const took = await Promise.all(sent.map((event) => timed(outbox.send('orbit.upload.requested', event, childSpan(undefined), requestOf(event)), PUBLISH_WAIT_MS + 3_000)));
    for (const ms of took) expect(ms).not.toBe('unanswered');
    for (const event of sent) {
      expect(await statusOf(event.requestId)).toBe('accepted');
      expect(await kept(event.eventId)).toBe(1);
    }
    expect(log.lines.filter((line) => line['msg'] === 'Kafka has not confirmed the command yet; the request is accepted and its command stays in the outbox until it is published')
      .map((line) => line['eventId']).sort()).toEqual(sent.map((event) => event.eventId).sort());
    // Kafka takes them: each send still under way goes through and clears its row.
    kafka.answer(true);
    for (let i = 0; i < 50 && (await Promise.all(sent.map((event) => kept(event.eventId)))).some((n) => n > 0); i++) await new Promise((resolve) => setTimeout(resolve, 100));
    for (const event of sent) expect(await kept(event.eventId)).toBe(0);
    expect(log.lines.filter((line) => line['msg'] === 'command published').map((line) => line['eventId']).sort()).toEqual(sent.map((event) => event.eventId).sort());
  }, 30_000);

  it('a sweep publishing to a silent Kafka holds no lock a new request\'s command waits for (it was answered 503 "MySQL is unavailable")', async () => {
    // A command the broker refused, left for the sweep.
    const left = newEvent();
    const next = newEvent();
    await mysqlCommandOutbox(gatewayPool, { publish: async () => { throw new StoreUnavailableError('kafka', 'broker unreachable'); } }, quietLogger)
      .send('orbit.upload.requested', left, childSpan(undefined), requestOf(left));
    expect(await kept(left.eventId)).toBe(1);
    // The sweep (every row is old enough for it) meets the silent broker and waits on its publish.
    const kafka = silentKafka();
    const { sweeping } = await sweepReaching(mysqlCommandOutbox(gatewayPool, kafka, quietLogger, 0), kafka);
    // Meanwhile a new request is recorded (its own publish goes through at once).
    const published: EventEnvelope[] = [];
    const recording = mysqlCommandOutbox(gatewayPool, { publish: async (_topic, sent) => { published.push(sent); } }, quietLogger)
      .send('orbit.upload.requested', next, childSpan(undefined), requestOf(next));
    const took = await timed(recording.catch((error: unknown) => error), 3_000);
    await recording.then(() => undefined, () => undefined); // settled either way before the sweep is let go
    kafka.answer(false);
    await sweeping;
    await expect(recording).resolves.toBeUndefined();
    expect(took).not.toBe('unanswered');
    expect(await statusOf(next.requestId)).toBe('accepted');
    expect(published.map((sent) => sent.eventId)).toEqual([next.eventId]);
    // The sweep left its unpublished row for the next one.
    expect(await kept(left.eventId)).toBe(1);
  }, 90_000);

  it('one gateway sweeps at a time: a second sweep while the first waits on the broker publishes nothing', async () => {
    const left = newEvent();
    await mysqlCommandOutbox(gatewayPool, { publish: async () => { throw new StoreUnavailableError('kafka', 'broker unreachable'); } }, quietLogger)
      .send('orbit.upload.requested', left, childSpan(undefined));
    const kafka = silentKafka();
    const { sweeping: first } = await sweepReaching(mysqlCommandOutbox(gatewayPool, kafka, quietLogger, 0), kafka);
    const other: EventEnvelope[] = [];
    await expect(mysqlCommandOutbox(gatewayPool, { publish: async (_topic, sent) => { other.push(sent); } }, quietLogger, 0).sweep()).resolves.toBe(0);
    expect(other).toEqual([]);
    kafka.answer(false);
    await first;
    expect(await kept(left.eventId)).toBe(1);
  }, 30_000);
});
