import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Pool, RowDataPacket } from 'mysql2/promise';
import { childSpan, createMysqlPool, isRetriable, newImageUID, SeekRequest, TOPICS, type ConsumedMessage, type EventEnvelope } from '@orbit/lib';
import { deadLetterFailure, sampleEvents, type OrbitEvent } from '@orbit/schemas';
import { quietLogger, testConfig, uniqueSuffix } from '../../../test/helpers/index.js';
import { privateViewport, type PrivateViewport } from '../../../test/helpers/viewport-db.js';
import { projectorHandler } from './handle.js';
import { drainOutbox, pruneSentOutbox } from './outbox.js';
import { VersionNotProjectedYetError } from './plan.js';

let viewport: PrivateViewport;
let pool: Pool;
beforeAll(async () => {
  viewport = await privateViewport('projector');
  pool = viewport.pool;
});
afterAll(async () => { await viewport.drop(); });

function harness() {
  const published: { topic: string; event: EventEnvelope }[] = [];
  const handler = projectorHandler({ pool, groupId: `test-${uniqueSuffix()}`, publisher: { publish: async (topic, event) => { published.push({ topic, event }); } } });
  const topicName = `test.projector.${uniqueSuffix()}`;
  let offset = 0;
  const deliver = (topic: string, event: OrbitEvent, at = offset++) => handler({
    topic, partition: 0, offset: String(at), key: event.imageUID, event, headers: {}, trace: childSpan(undefined), log: quietLogger, signal: new AbortController().signal,
  } satisfies ConsumedMessage<OrbitEvent>);
  return { published, deliver, topicName };
}

async function request(requestId: string): Promise<RowDataPacket | undefined> {
  const [rows] = await pool.execute<RowDataPacket[]>('SELECT * FROM viewport_requests WHERE request_id = ?', [requestId]);
  return rows[0];
}

describe('viewport-projector against MariaDB', () => {
  it('projects a stored image and its chart, once, and publishes ViewportUpdated after each commit', async () => {
    const { published, deliver } = harness();
    const events = sampleEvents(newImageUID(), `req-${uniqueSuffix()}`);
    await deliver(TOPICS.imageStored, events['orbit.image.stored'], 0);
    await deliver(TOPICS.imageStored, events['orbit.image.stored'], 0); // redelivered: recognised by its offset
    const [uids] = await pool.execute<RowDataPacket[]>('SELECT * FROM wp_image_uid WHERE image_uid = ?', [events['orbit.image.stored'].imageUID]);
    expect(uids).toHaveLength(1);
    expect((await request(events['orbit.image.stored'].requestId))?.['status']).toBe('running');
    await deliver(TOPICS.chartGenerated, events['orbit.chart.generated'], 0);
    expect((await request(events['orbit.image.stored'].requestId))?.['status']).toBe('succeeded');
    const [versions] = await pool.execute<RowDataPacket[]>("SELECT p.post_status, m.meta_value FROM wp_posts p JOIN wp_postmeta m ON m.post_id = p.ID AND m.meta_key = 'environments' WHERE p.guid = ?", [`orbit:image:${events['orbit.image.stored'].imageUID}:v1-0-00`]);
    expect(versions[0]).toMatchObject({ post_status: 'ready', meta_value: '["Development"]' });
    expect(published.map((entry) => entry.topic)).toEqual([TOPICS.viewportUpdated, TOPICS.viewportUpdated]);
    // A late event of an earlier step never moves a finished request back, and its announcement says so.
    await deliver(TOPICS.imageValidated, events['orbit.image.validated'], 0);
    expect((await request(events['orbit.image.stored'].requestId))?.['status']).toBe('succeeded');
    expect(published.map((entry) => (entry.event as EventEnvelope & { status?: string }).status)).toEqual(['running', 'succeeded', 'succeeded']);
  });

  it('waits, with nothing written, while a table is not there (a database being restored), and projects once it is back', async () => {
    const { deliver } = harness();
    const events = sampleEvents(newImageUID(), `req-${uniqueSuffix()}`);
    await pool.query('RENAME TABLE wp_postmeta TO wp_postmeta_restoring');
    try {
      const missing = await deliver(TOPICS.imageStored, events['orbit.image.stored'], 0).then(() => undefined, (error: unknown) => error);
      expect(missing).toMatchObject({ code: 'ER_NO_SUCH_TABLE' });
      // Retriable: the consume loop pauses the partition and tries again; it never goes to the DLQ.
      expect(isRetriable(missing)).toBe(true);
      const [uids] = await pool.execute<RowDataPacket[]>('SELECT * FROM wp_image_uid WHERE image_uid = ?', [events['orbit.image.stored'].imageUID]);
      expect(uids).toHaveLength(0);
    } finally {
      await pool.query('RENAME TABLE wp_postmeta_restoring TO wp_postmeta');
    }
    await deliver(TOPICS.imageStored, events['orbit.image.stored'], 0);
    expect((await request(events['orbit.image.stored'].requestId))?.['status']).toBe('running');
  });

  it('waits at the swap gate while a rebuild swaps a projection in, writes nothing meanwhile, and projects once the gate opens', async () => {
    const { deliver } = harness();
    const events = sampleEvents(newImageUID(), `req-${uniqueSuffix()}`);
    const stored = events['orbit.image.stored'];
    const swapping = await pool.getConnection();
    try {
      // What rebuild.ts's swap holds while it renames tables: the gate, exclusively.
      await swapping.query('INSERT IGNORE INTO viewport_swap_gate (id) VALUES (1)');
      await swapping.beginTransaction();
      await swapping.query('SELECT id FROM viewport_swap_gate WHERE id = 1 FOR UPDATE');
      let settled = false;
      const held = deliver(TOPICS.imageStored, stored, 0).finally(() => { settled = true; });
      await new Promise((resolve) => setTimeout(resolve, 1500));
      expect(settled).toBe(false);
      expect(await request(stored.requestId)).toBeUndefined();
      await swapping.commit();
      await held;
      expect((await request(stored.requestId))?.['status']).toBe('running');
    } finally {
      swapping.release();
    }
  });

  it('gives up a wait at the swap gate longer than the lock timeout as retriable, with nothing written', async () => {
    const url = new URL(testConfig.MYSQL_URL);
    url.pathname = `/${viewport.database}`;
    const impatient = createMysqlPool(url.toString(), 2);
    impatient.pool.on('connection', (connection) => { connection.query('SET SESSION innodb_lock_wait_timeout = 1'); });
    const swapping = await pool.getConnection();
    try {
      await swapping.query('INSERT IGNORE INTO viewport_swap_gate (id) VALUES (1)');
      await swapping.beginTransaction();
      await swapping.query('SELECT id FROM viewport_swap_gate WHERE id = 1 FOR UPDATE');
      const stored = sampleEvents(newImageUID(), `req-${uniqueSuffix()}`)['orbit.image.stored'];
      const handler = projectorHandler({ pool: impatient, groupId: `test-${uniqueSuffix()}`, publisher: { publish: async () => undefined } });
      const waited = await handler({
        topic: TOPICS.imageStored, partition: 0, offset: '0', key: stored.imageUID, event: stored, headers: {}, trace: childSpan(undefined), log: quietLogger, signal: new AbortController().signal,
      }).then(() => undefined, (error: unknown) => error);
      expect(waited).toMatchObject({ code: 'ER_LOCK_WAIT_TIMEOUT' });
      // The consume loop backs off and delivers it again; it never goes to the DLQ for a rebuild's swap.
      expect(isRetriable(waited)).toBe(true);
      await swapping.commit();
      expect(await request(stored.requestId)).toBeUndefined();
    } finally {
      swapping.release();
      await impatient.end();
    }
  });

  it('in a rebuild shadow, projects the image but announces nothing, and writes request rows only when asked to', async () => {
    const published: EventEnvelope[] = [];
    const shadow = projectorHandler({ pool, groupId: `test-${uniqueSuffix()}`, shadow: true, publisher: { publish: async (_topic, event) => { published.push(event); } } });
    const stored = sampleEvents(newImageUID(), `req-${uniqueSuffix()}`)['orbit.image.stored'];
    await shadow({ topic: TOPICS.imageStored, partition: 0, offset: '0', key: stored.imageUID, event: stored, headers: {}, trace: childSpan(undefined), log: quietLogger, signal: new AbortController().signal });
    const [uids] = await pool.execute<RowDataPacket[]>('SELECT * FROM wp_image_uid WHERE image_uid = ?', [stored.imageUID]);
    expect(uids).toHaveLength(1);
    expect(await request(stored.requestId)).toBeUndefined();
    const [queued] = await pool.query<RowDataPacket[]>('SELECT COUNT(*) AS n FROM viewport_outbox WHERE payload LIKE ?', [`%${stored.correlationId}%`]);
    expect(Number(queued[0]?.['n'])).toBe(0);
    expect(published).toEqual([]);
    // A rebuild giving back lost requests: the request as the history tells it.
    const restoring = projectorHandler({ pool, groupId: `test-${uniqueSuffix()}`, shadow: true, requests: true, publisher: { publish: async (_topic, event) => { published.push(event); } } });
    const next = sampleEvents(newImageUID(), `req-${uniqueSuffix()}`)['orbit.image.stored'];
    await restoring({ topic: TOPICS.imageStored, partition: 0, offset: '0', key: next.imageUID, event: next, headers: {}, trace: childSpan(undefined), log: quietLogger, signal: new AbortController().signal });
    expect(await request(next.requestId)).toMatchObject({ kind: 'upload', status: 'running', image_version: 'v1-0-00', user_login: 'dev1' });
    expect(published).toEqual([]);
  });

  it('fails a request whose message was dead-lettered, and lets the re-driven flow finish it', async () => {
    const { published, deliver } = harness();
    const events = sampleEvents(newImageUID(), `req-${uniqueSuffix()}`);
    const requestId = events['orbit.image.stored'].requestId;
    await deliver(TOPICS.imageStored, events['orbit.image.stored'], 0);
    // The chart-generator set the ImageStored aside: the request fails, visibly.
    const setAside = deadLetterFailure({ topic: TOPICS.imageStored, message: { event: events['orbit.image.stored'] }, error: new TypeError('bug') }, 'chart-generator');
    if (!setAside) throw new Error('a request to fail');
    await deliver(TOPICS.pipelineFailed, setAside, 0);
    expect(await request(requestId)).toMatchObject({ status: 'failed', error_code: 'DEAD_LETTERED' });
    // A late event of an earlier step leaves it failed; the re-driven chart finishes it.
    await deliver(TOPICS.imageValidated, events['orbit.image.validated'], 0);
    expect(await request(requestId)).toMatchObject({ status: 'failed', error_code: 'DEAD_LETTERED' });
    await deliver(TOPICS.chartGenerated, events['orbit.chart.generated'], 0);
    expect(await request(requestId)).toMatchObject({ status: 'succeeded', error_code: null, error_message: null });
    expect(published.map((entry) => (entry.event as EventEnvelope & { status?: string }).status)).toEqual(['running', 'failed', 'failed', 'succeeded']);
  });

  it('ends a rejected request failed with its reason code and the error PID', async () => {
    const { deliver } = harness();
    const rejected = sampleEvents(newImageUID(), `req-${uniqueSuffix()}`)['orbit.image.rejected'];
    await deliver(TOPICS.imageRejected, rejected);
    expect(await request(rejected.requestId)).toMatchObject({ status: 'failed', error_code: 'DIGEST_MISMATCH', error_pid: 'c12bms03-c20bre24-911' });
  });

  it('never stamps a request as changed before it was made: the gateway commits its row after the event it publishes was made (found by a probe)', async () => {
    const { deliver } = harness();
    const rejected = sampleEvents(newImageUID(), `req-${uniqueSuffix()}`)['orbit.image.rejected'];
    // The gateway's row, committed a moment after the event's time.
    await pool.execute(
      "INSERT INTO viewport_requests (request_id, kind, image_uid, image_version, user_login, status, created_at, updated_at) VALUES (?, 'upload', ?, 'v1-0-00', 'dev1', 'accepted', ?, ?)",
      [rejected.requestId, rejected.imageUID, new Date(rejected.occurredAt + 5), new Date(rejected.occurredAt + 5)],
    );
    await deliver(TOPICS.imageRejected, rejected);
    const row = await request(rejected.requestId);
    expect(row?.['status']).toBe('failed');
    expect((row?.['updated_at'] as Date).getTime()).toBeGreaterThanOrEqual((row?.['created_at'] as Date).getTime());
  });

  it('waits for the ImageStored of a chart that was read first, and re-reads a partition the database is behind on', async () => {
    const { deliver } = harness();
    const events = sampleEvents(newImageUID(), `req-${uniqueSuffix()}`);
    await expect(deliver(TOPICS.chartGenerated, events['orbit.chart.generated'], 0)).rejects.toBeInstanceOf(VersionNotProjectedYetError);
    await deliver(TOPICS.imageStored, events['orbit.image.stored'], 0);
    await deliver(TOPICS.chartGenerated, events['orbit.chart.generated'], 0);
    expect((await request(events['orbit.image.stored'].requestId))?.['status']).toBe('succeeded');
    const gap = deliver(TOPICS.imageStored, events['orbit.image.stored'], 5);
    await expect(gap).rejects.toBeInstanceOf(SeekRequest);
    await expect(gap).rejects.toMatchObject({ offset: '1' });
  });

  it('keeps a ViewportUpdated whose publish failed after the commit, and publishes it once on the next drain', async () => {
    const groupId = `test-${uniqueSuffix()}`;
    const events = sampleEvents(newImageUID(), `req-${uniqueSuffix()}`);
    const failing = projectorHandler({ pool, groupId, publisher: { publish: async () => { throw new Error('broker gone'); } } });
    const message = {
      topic: TOPICS.imageStored, partition: 0, offset: '0', key: events['orbit.image.stored'].imageUID, event: events['orbit.image.stored'] as OrbitEvent,
      headers: {}, trace: childSpan(undefined), log: quietLogger, signal: new AbortController().signal,
    } satisfies ConsumedMessage<OrbitEvent>;
    // The projection is committed, so the message is done (a failure here would dead-letter it and fail its request);
    // the announcement waits in the outbox, and a redelivery is skipped.
    await expect(failing(message)).resolves.toBeUndefined();
    const published: EventEnvelope[] = [];
    const publisher = { publish: async (_topic: string, event: EventEnvelope) => { published.push(event); } };
    await projectorHandler({ pool, groupId, publisher })(message);
    expect((await request(events['orbit.image.stored'].requestId))?.['status']).toBe('running');
    await waitForDrain(publisher, () => published.some((event) => event.correlationId === events['orbit.image.stored'].correlationId));
    const mine = published.filter((event) => event.correlationId === events['orbit.image.stored'].correlationId);
    expect(mine).toHaveLength(1);
    await drainOutbox(pool, publisher);
    expect(published.filter((event) => event.correlationId === events['orbit.image.stored'].correlationId)).toHaveLength(1);
  });

  it('announces a message applied a second time (a rebuild tail after the live projector) once, and forgets sent ids after their retention', async () => {
    const published: EventEnvelope[] = [];
    const publisher = { publish: async (_topic: string, event: EventEnvelope) => { published.push(event); } };
    const events = sampleEvents(newImageUID(), `req-${uniqueSuffix()}`);
    const message = {
      topic: TOPICS.imageStored, partition: 0, offset: '0', key: events['orbit.image.stored'].imageUID, event: events['orbit.image.stored'] as OrbitEvent,
      headers: {}, trace: childSpan(undefined), log: quietLogger, signal: new AbortController().signal,
    } satisfies ConsumedMessage<OrbitEvent>;
    await projectorHandler({ pool, groupId: `test-${uniqueSuffix()}`, publisher })(message);
    // Rebuilt tables do not hold the live projector's applied offsets: the same message is applied again there.
    await projectorHandler({ pool, groupId: `test-${uniqueSuffix()}`, publisher })(message);
    await drainOutbox(pool, publisher);
    const mine = (): EventEnvelope[] => published.filter((event) => event.correlationId === events['orbit.image.stored'].correlationId);
    expect(mine()).toHaveLength(1);

    const [sent] = await pool.query<RowDataPacket[]>('SELECT id FROM viewport_outbox WHERE event_id = ? AND sent_at IS NOT NULL', [mine()[0]?.eventId]);
    expect(sent).toHaveLength(1);
    await pool.query('UPDATE viewport_outbox SET sent_at = NOW(3) - INTERVAL 8 DAY WHERE event_id = ?', [mine()[0]?.eventId]);
    expect(await pruneSentOutbox(pool, 7 * 24)).toBeGreaterThanOrEqual(1);
    const [left] = await pool.query<RowDataPacket[]>('SELECT id FROM viewport_outbox WHERE event_id = ?', [mine()[0]?.eventId]);
    expect(left).toHaveLength(0);
  });
});

describe('the ViewportUpdated outbox', () => {
  it('sets aside a row no one can read instead of holding back every announcement after it', async () => {
    const events = sampleEvents(newImageUID(), `req-${uniqueSuffix()}`);
    await pool.query("INSERT INTO viewport_outbox (event_id, payload) VALUES (?, 'not json')", [randomUUID()]);
    const published: EventEnvelope[] = [];
    await projectorHandler({ pool, groupId: `test-${uniqueSuffix()}`, publisher: { publish: async (_topic, event) => { published.push(event); } } })({
      topic: TOPICS.imageStored, partition: 0, offset: '0', key: events['orbit.image.stored'].imageUID, event: events['orbit.image.stored'] as OrbitEvent,
      headers: {}, trace: childSpan(undefined), log: quietLogger, signal: new AbortController().signal,
    });
    await drainOutbox(pool, { publish: async (_topic, event) => { published.push(event); } }, quietLogger);
    expect(published.filter((event) => event.correlationId === events['orbit.image.stored'].correlationId)).toHaveLength(1);
    const [left] = await pool.query<RowDataPacket[]>('SELECT COUNT(*) AS n FROM viewport_outbox WHERE sent_at IS NULL');
    expect(Number(left[0]?.['n'])).toBe(0);
  });
});

async function waitForDrain(publisher: { publish: (topic: string, event: EventEnvelope) => Promise<void> }, done: () => boolean): Promise<void> {
  for (let i = 0; i < 20 && !done(); i++) await drainOutbox(pool, publisher);
}
