import { randomUUID } from 'node:crypto';
import { childSpan, createMysqlPool, EventPublisher, PROJECTED_TOPICS, TOPICS } from '@orbit/lib';
import { DEAD_LETTERED, sampleEvents, type OrbitEvent, type UploadRequested } from '@orbit/schemas';
import type { Pool, RowDataPacket } from 'mysql2/promise';
import { afterAll, describe, expect, it } from 'vitest';
import { projectionChecksum } from '../../../../consumers/viewport-projector/src/checksum.js';
import { projectorBatchHandler } from '../../../../consumers/viewport-projector/src/handle.js';
import { rebuildProjection } from '../../../../consumers/viewport-projector/src/rebuild.js';
import { quietLogger, testConfig, uniqueSuffix } from '../../../../test/helpers/index.js';
import { privateLifecycleTopics } from '../../../../test/helpers/lifecycle-topics.js';
import { privateViewport } from '../../../../test/helpers/viewport-db.js';
import { ChartNameTaken } from '../ports.js';
import { mysqlCommandOutbox } from './mysql-outbox.js';
import { mysqlImageNames, mysqlRequestStore, mysqlUploadRequests } from './mysql-requests.js';

const pool = createMysqlPool(testConfig.MYSQL_URL, 4);
const owners: string[] = [];
afterAll(async () => {
  if (owners.length > 0) {
    await pool.query('DELETE FROM viewport_requests WHERE user_login IN (?)', [owners]);
    await pool.query('DELETE FROM image_names WHERE user_login IN (?)', [owners]);
  }
  await pool.end();
});

function newOwner(label: string): string {
  const owner = `${label}-${randomUUID()}`;
  owners.push(owner);
  return owner;
}

/** A request of the image as the upload or the pipeline left it (`status`, and its reason code when it failed). */
async function requested(imageUID: string, owner: string, status: string, errorCode: string | null = null, db: Pool = pool): Promise<string> {
  const requestId = `req-${randomUUID()}`;
  await db.query(
    "INSERT INTO viewport_requests (request_id, kind, image_uid, user_login, status, error_code, created_at, updated_at) VALUES (?, 'upload', ?, ?, ?, ?, NOW(3), NOW(3))",
    [requestId, imageUID, owner, status, errorCode],
  );
  return requestId;
}

/** Records an upload's request as the route does once its name has its UID: the image's name row locked first. */
const recordUpload = mysqlUploadRequests(pool, mysqlCommandOutbox(pool, { publish: async () => undefined }, quietLogger), TOPICS.uploadRequested);

async function acceptUpload(owner: string, imageName: string, imageUID: string, requestId = `req-${randomUUID()}`): Promise<string> {
  const sample = sampleEvents(imageUID, requestId)[TOPICS.uploadRequested];
  const command: UploadRequested = { ...sample, requestId, metadata: { ...sample.metadata, imageName } };
  await recordUpload(command, childSpan(undefined), { requestId, kind: 'upload', imageUID, imageVersion: sample.metadata.imageVersion, owner });
  return requestId;
}

async function namesOf(owner: string, db: Pool = pool): Promise<string[]> {
  const [rows] = await db.query<RowDataPacket[]>('SELECT image_name FROM image_names WHERE user_login = ? ORDER BY image_name', [owner]);
  return rows.map((row) => String(row['image_name']));
}

describe('a name whose every upload failed before anything was stored holds no chart name, against MariaDB', () => {
  it('gives its chart name to a new name of it, keeps its failed requests readable, and takes the name back only once the new one holds nothing (found by a review: NAME_CONFLICT for ever after a refused first upload)', async () => {
    const names = mysqlImageNames(pool);
    const store = mysqlRequestStore(pool);
    const owner = newOwner('yield');
    const base = `billing${randomUUID().slice(0, 8)}`;
    // The first upload of `_api` was refused by the validator, and one more at the door: nothing of it was stored.
    const refusedName = await names.uidFor(owner, `${base}_api`);
    const validated = await acceptUpload(owner, `${base}_api`, refusedName);
    await pool.query("UPDATE viewport_requests SET status = 'failed', error_code = 'NOT_AN_ARCHIVE' WHERE request_id = ?", [validated]);
    const atTheDoor = await requested(refusedName, owner, 'failed', 'CHECKSUM_MISMATCH');

    expect(await names.peek(owner, `${base}.api`)).toBeUndefined();
    const renamed = await names.uidFor(owner, `${base}.api`);
    expect(renamed).not.toBe(refusedName);
    expect(await namesOf(owner)).toEqual([`${base}.api`]);
    // What GET /v1/requests and the 404 IMAGE_UPLOAD_FAILED of the old UID read: still there, the owner's.
    const failed = await store.list({ owner, imageUID: refusedName, status: 'failed', limit: 10 });
    expect(failed.requests.map((request) => request.requestId).sort()).toEqual([validated, atTheDoor].sort());

    // Once the new name's upload is under way, the old name is a new name of a chart name held: refused, naming it.
    await acceptUpload(owner, `${base}.api`, renamed);
    await expect(names.uidFor(owner, `${base}_api`)).rejects.toMatchObject({ imageName: `${base}_api`, chartName: `${base}-api`, holder: `${base}.api`, holderStored: false });
    await expect(names.peek(owner, `${base}_api`)).rejects.toMatchObject({ holder: `${base}.api` });
    // That upload refused too: the old name gets the chart name back, under a new UID (its old requests keep theirs).
    await pool.query("UPDATE viewport_requests SET status = 'failed', error_code = 'NO_MANIFEST' WHERE image_uid = ?", [renamed]);
    const back = await names.uidFor(owner, `${base}_api`);
    expect([refusedName, renamed]).not.toContain(back);
    expect(await namesOf(owner)).toEqual([`${base}_api`]);
    expect((await store.list({ owner, imageUID: refusedName, limit: 10 })).requests).toHaveLength(2);
  });

  it('keeps the chart name with a name whose image is stored, or whose upload is under way or may still be stored (dead-lettered, or failed at its chart after it was stored)', async () => {
    // A private ViewPort: an image row in the stack's own would count in its projection checksum.
    const viewport = await privateViewport('chartkeep');
    try {
      const names = mysqlImageNames(viewport.pool);
      const owner = `keep-${randomUUID()}`;
      const holders: [string, (uid: string) => Promise<unknown>][] = [
        ['accepted', (uid) => requested(uid, owner, 'accepted', null, viewport.pool)],
        ['running', (uid) => requested(uid, owner, 'running', null, viewport.pool)],
        ['dead-lettered', (uid) => requested(uid, owner, 'failed', DEAD_LETTERED, viewport.pool)],
        ['chart step failed', (uid) => requested(uid, owner, 'failed', 'CHART_INPUT', viewport.pool)],
        ['stored', (uid) => viewport.pool.query("INSERT INTO wp_image_uid (image_uid, post_id, user_login, image_name, created_at, updated_at) VALUES (?, 1, ?, 'x', NOW(3), NOW(3))", [uid, owner])],
      ];
      for (const [label, hold] of holders) {
        const base = `app${label.replace(/[^a-z]/g, '')}`;
        const uid = await names.uidFor(owner, `${base}_x`);
        // A refused upload beside it changes nothing.
        await requested(uid, owner, 'failed', 'NOT_AN_ARCHIVE', viewport.pool);
        await hold(uid);
        await expect(names.peek(owner, `${base}.x`), label).rejects.toMatchObject({ holder: `${base}_x`, holderStored: label === 'stored' });
        await expect(names.uidFor(owner, `${base}.x`), label).rejects.toBeInstanceOf(ChartNameTaken);
        expect(await names.uidFor(owner, `${base}_x`), label).toBe(uid);
      }
    } finally {
      await viewport.drop();
    }
  });

  it('of two new names racing for the chart name of a name whose uploads all failed, takes exactly one', async () => {
    const names = mysqlImageNames(pool);
    for (let round = 0; round < 4; round++) {
      const owner = newOwner('yield-race');
      const base = `svc${randomUUID().slice(0, 8)}`;
      const refused = await names.uidFor(owner, `${base}_web`);
      await requested(refused, owner, 'failed', 'NOT_AN_ARCHIVE');
      const firstUpload = async (imageName: string) => acceptUpload(owner, imageName, await names.uidFor(owner, imageName));
      const raced = await Promise.allSettled([firstUpload(`${base}.web`), firstUpload(`${base}-web`)]);
      expect(raced.map((outcome) => outcome.status).sort()).toEqual(['fulfilled', 'rejected']);
      const refusal = raced.find((outcome) => outcome.status === 'rejected')?.reason;
      const winner = raced[0]?.status === 'fulfilled' ? `${base}.web` : `${base}-web`;
      // Named by the name that holds the chart name, never a 503 (the other's name freed between its UID and its request).
      expect(refusal).toBeInstanceOf(ChartNameTaken);
      expect(refusal).toMatchObject({ holder: winner });
      expect(await namesOf(owner)).toEqual([winner]);
    }
  });

  it('records an upload of the old name sent while a new name takes its chart name whole or not at all: exactly one of the two is accepted', async () => {
    const names = mysqlImageNames(pool);
    const owner = newOwner('yield-order');
    const refusedName = async (imageName: string): Promise<string> => {
      const uid = await names.uidFor(owner, imageName);
      await requested(uid, owner, 'failed', 'TRUNCATED');
      return uid;
    };
    // Recorded before the new name looks: under way, it holds the chart name.
    const first = await refusedName('first_v');
    await acceptUpload(owner, 'first_v', first);
    await expect(names.uidFor(owner, 'first.v')).rejects.toMatchObject({ holder: 'first_v', holderStored: false });
    // Freed before it is recorded: refused naming the new name, nothing of it written.
    const second = await refusedName('second_v');
    await names.uidFor(owner, 'second.v');
    const late = `req-${randomUUID()}`;
    await expect(acceptUpload(owner, 'second_v', second, late)).rejects.toMatchObject({ imageName: 'second_v', holder: 'second.v' });
    const [lateRows] = await pool.query<RowDataPacket[]>('SELECT request_id FROM viewport_requests WHERE request_id = ?', [late]);
    expect(lateRows).toHaveLength(0);
    expect(await namesOf(owner)).toEqual(['first_v', 'second.v']);

    // And at the same instant.
    for (let round = 0; round < 6; round++) {
      const racer = newOwner('yield-old');
      const base = `api${randomUUID().slice(0, 8)}`;
      const old = await names.uidFor(racer, `${base}_v`);
      await requested(old, racer, 'failed', 'TRUNCATED');
      // The old name's upload has its UID already (peek found it while its image streamed) and is recorded now.
      const oldRequest = `req-${randomUUID()}`;
      const newRequest = `req-${randomUUID()}`;
      const raced = await Promise.allSettled([
        acceptUpload(racer, `${base}_v`, old, oldRequest),
        names.uidFor(racer, `${base}.v`).then((uid) => acceptUpload(racer, `${base}.v`, uid, newRequest)),
      ]);
      expect(raced.filter((outcome) => outcome.status === 'fulfilled')).toHaveLength(1);
      const [rows] = await pool.query<RowDataPacket[]>('SELECT request_id, status FROM viewport_requests WHERE request_id IN (?, ?)', [oldRequest, newRequest]);
      if (raced[0]?.status === 'fulfilled') {
        // Recorded first: under way, it holds the name; the new name was refused and has no row.
        expect(rows.map((row) => row['request_id'])).toEqual([oldRequest]);
        expect(await namesOf(racer)).toEqual([`${base}_v`]);
      } else {
        // Freed first: refused with nothing written (no request, so no command), the new name holding the chart name.
        // Answered 409 naming the new name, which took the chart name just after it freed this one (a 503 to send again before).
        expect(raced[0]?.reason).toBeInstanceOf(ChartNameTaken);
        expect(raced[0]?.reason).toMatchObject({ imageName: `${base}_v`, holder: `${base}.v` });
        expect(rows.map((row) => row['request_id'])).toEqual([newRequest]);
        expect(await namesOf(racer)).toEqual([`${base}.v`]);
      }
    }
  });
});

describe('new names with one chart name sent at once (found by a race review: one answered 503, the others told to use it though another name kept the chart name)', () => {
  it('keeps the chart name with a name that has its UID and is recording its first request: its twin is refused naming it, and its upload is recorded', async () => {
    const names = mysqlImageNames(pool);
    const owner = newOwner('twin-order');
    const base = `tw${randomUUID().slice(0, 8)}`;
    // 1. `.tw` has its UID; its request is being recorded (not yet).
    const first = await names.uidFor(owner, `${base}.tw`);
    // 2. Its twin, a moment later: refused naming `.tw`, at the look before its image and at its UID alike.
    await expect(names.peek(owner, `${base}_tw`)).rejects.toMatchObject({ holder: `${base}.tw`, holderStored: false });
    await expect(names.uidFor(owner, `${base}_tw`)).rejects.toMatchObject({ imageName: `${base}_tw`, holder: `${base}.tw`, holderStored: false });
    // 3. `.tw`'s request is recorded: what the twin was told to do holds.
    await acceptUpload(owner, `${base}.tw`, first);
    expect(await namesOf(owner)).toEqual([`${base}.tw`]);
  });

  it('of four twins sent together, records exactly one and refuses the others with 409 naming that one, never 503', async () => {
    const names = mysqlImageNames(pool);
    for (let round = 0; round < 12; round++) {
      const owner = newOwner('twin-race');
      const base = `tw${randomUUID().slice(0, 8)}`;
      const twins = [`${base}.tw`, `${base}_tw`, `${base}-tw`, `${base}__tw`];
      const raced = await Promise.allSettled(twins.map(async (imageName) => acceptUpload(owner, imageName, await names.uidFor(owner, imageName))));
      const winners = twins.filter((_name, index) => raced[index]?.status === 'fulfilled');
      expect(winners, `round ${round}: ${raced.map((outcome) => (outcome.status === 'rejected' ? String(outcome.reason) : 'recorded')).join('; ')}`).toHaveLength(1);
      const refusals = raced.flatMap((outcome) => (outcome.status === 'rejected' ? [outcome.reason] : []));
      for (const refusal of refusals) {
        expect(refusal).toBeInstanceOf(ChartNameTaken);
        expect(refusal).toMatchObject({ holder: winners[0] });
      }
      expect(await namesOf(owner)).toEqual(winners);
    }
  });
});

describe('a ViewPort rebuild after a name yielded its chart name', () => {
  it('reaches the live projection\'s checksum, and gives the yielded name back to no one', async () => {
    const copies = await privateLifecycleTopics(`yield-${uniqueSuffix()}`, PROJECTED_TOPICS);
    const { kafka, codec, topics, named, lifecycleTopicOf } = copies;
    const publisher = await EventPublisher.connect(kafka, codec, quietLogger);
    const live = await privateViewport('yield');
    const url = new URL(testConfig.MYSQL_URL);
    url.pathname = `/${live.database}`;
    const liveGroup = `viewport-projector-${uniqueSuffix()}`;
    const projector = projectorBatchHandler({ pool: live.pool, groupId: liveGroup, publisher: { publish: async () => undefined } });
    const offsets = new Map<string, number>();
    /** Published to the private copy and applied by the live projector, as the pipeline would. */
    const project = async (topic: string, event: OrbitEvent): Promise<void> => {
      await publisher.publish(named(topic), event);
      const offset = offsets.get(topic) ?? 0;
      offsets.set(topic, offset + 1);
      await projector([{ topic, partition: 0, offset: String(offset), key: event.imageUID, event, headers: {}, trace: childSpan(undefined), log: quietLogger, signal: new AbortController().signal }]);
    };
    const names = mysqlImageNames(live.pool);
    try {
      // dev1 (the samples' owner) uploads billing_api: the validator refuses it.
      const refusedUID = await names.uidFor('dev1', 'billing_api');
      const refused = sampleEvents(refusedUID, randomUUID())[TOPICS.imageRejected];
      await live.pool.query("INSERT INTO viewport_requests (request_id, kind, image_uid, user_login, status, created_at, updated_at) VALUES (?, 'upload', ?, 'dev1', 'accepted', NOW(3), NOW(3))", [refused.requestId, refusedUID]);
      await project(TOPICS.imageRejected, refused);
      // Renamed to billing.api, which takes the chart name and is stored.
      const storedUID = await names.uidFor('dev1', 'billing.api');
      const upload = sampleEvents(storedUID, randomUUID());
      await live.pool.query("INSERT INTO viewport_requests (request_id, kind, image_uid, user_login, status, created_at, updated_at) VALUES (?, 'upload', ?, 'dev1', 'accepted', NOW(3), NOW(3))", [upload[TOPICS.imageStored].requestId, storedUID]);
      const renamed = <T extends OrbitEvent & { metadata: { imageName: string } }>(event: T): T => ({ ...event, metadata: { ...event.metadata, imageName: 'billing.api' } });
      await project(TOPICS.imageValidated, renamed(upload[TOPICS.imageValidated]));
      await project(TOPICS.imageStored, renamed(upload[TOPICS.imageStored]));
      await project(TOPICS.chartGenerated, upload[TOPICS.chartGenerated]);
      const before = await projectionChecksum(live.pool);

      await rebuildProjection({ kafka, codec, pool: live.pool, mysqlUrl: url.toString(), topics, liveGroup, publisher: { publish: async () => undefined }, logger: quietLogger, lifecycleTopicOf, pollMs: 2_000 });

      expect(await projectionChecksum(live.pool)).toEqual(before);
      expect(before.rows['wp_image_uid']).toBe(1);
      const [rows] = await live.pool.query<RowDataPacket[]>('SELECT image_name, image_uid FROM image_names');
      expect(rows.map((row) => ({ ...row }))).toEqual([{ image_name: 'billing.api', image_uid: storedUID }]);
      const [requests] = await live.pool.query<RowDataPacket[]>('SELECT status, error_code FROM viewport_requests WHERE image_uid = ?', [refusedUID]);
      expect(requests.map((row) => ({ ...row }))).toEqual([{ status: 'failed', error_code: 'DIGEST_MISMATCH' }]);
      await expect(names.uidFor('dev1', 'billing_api')).rejects.toMatchObject({ holder: 'billing.api', holderStored: true });
    } finally {
      await publisher.disconnect();
      await live.drop();
    }
  }, 90_000);
});

