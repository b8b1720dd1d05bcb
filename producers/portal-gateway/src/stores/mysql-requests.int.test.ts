import { randomUUID } from 'node:crypto';
import { childSpan, createMysqlPool, StoreUnavailableError, TOPICS } from '@orbit/lib';
import { sampleEvents, type UploadRequested } from '@orbit/schemas';
import type { Pool, RowDataPacket } from 'mysql2/promise';
import { afterAll, describe, expect, it } from 'vitest';
import { quietLogger, testConfig } from '../../../../test/helpers/index.js';
import { privateViewport } from '../../../../test/helpers/viewport-db.js';
import { ChartNameTaken } from '../ports.js';
import { NAME_RECORDING_SECONDS } from './chart-name-holders.js';
import { mysqlCommandOutbox } from './mysql-outbox.js';
import { mysqlImageNames, mysqlRequestStore, mysqlUploadRequests } from './mysql-requests.js';

const pool = createMysqlPool(testConfig.MYSQL_URL, 2);
afterAll(async () => { await pool.end(); });

/** A request of the image, as the upload that took its name records it (status: where it got to). */
async function requested(imageUID: string, owner: string, status = 'failed', db: Pool = pool): Promise<void> {
  await db.query(
    "INSERT INTO viewport_requests (request_id, kind, image_uid, user_login, status, created_at, updated_at) VALUES (?, 'upload', ?, ?, ?, NOW(3), NOW(3))",
    [`req-${randomUUID()}`, imageUID, owner, status],
  );
}

/** Records an upload's request as the route does once its name has its UID: mysqlUploadRequests, the image's name row locked first. */
const recordUpload = mysqlUploadRequests(pool, mysqlCommandOutbox(pool, { publish: async () => undefined }, quietLogger), TOPICS.uploadRequested);

async function acceptUpload(owner: string, imageName: string, imageUID: string): Promise<string> {
  const requestId = `req-${randomUUID()}`;
  const sample = sampleEvents(imageUID, requestId)[TOPICS.uploadRequested];
  const command: UploadRequested = { ...sample, requestId, metadata: { ...sample.metadata, imageName } };
  await recordUpload(command, childSpan(undefined), { requestId, kind: 'upload', imageUID, imageVersion: sample.metadata.imageVersion, owner });
  return requestId;
}

async function requestWith(status: string): Promise<string> {
  const requestId = `req-${randomUUID()}`;
  await pool.query(
    "INSERT INTO viewport_requests (request_id, kind, image_uid, user_login, status, created_at, updated_at) VALUES (?, 'upload', ?, 'dev1', ?, NOW(3), NOW(3))",
    [requestId, 'W'.repeat(60), status],
  );
  return requestId;
}

describe('the gateway request store against MariaDB', () => {
  it('lists an owner\'s requests newest first, filtered and a page at a time, and nobody else\'s', async () => {
    const store = mysqlRequestStore(pool);
    const owner = `lister-${randomUUID()}`;
    const image = 'L'.repeat(60);
    // Two at the same millisecond: the id breaks the tie, so a page boundary between them loses neither.
    const rows = [
      ['r1', 'upload', image, 'succeeded', '2026-12-01 10:00:00.000'], ['r2', 'transfer', image, 'failed', '2026-12-01 10:00:01.000'],
      ['r3', 'upload', 'M'.repeat(60), 'running', '2026-12-01 10:00:02.000'], ['r4', 'transfer', image, 'succeeded', '2026-12-01 10:00:02.000'],
    ].map(([id, kind, uid, status, at]) => [`${owner}-${id}`, kind, uid, owner, status, at, at]);
    await pool.query('INSERT INTO viewport_requests (request_id, kind, image_uid, user_login, status, created_at, updated_at) VALUES ?', [[...rows, [`${owner}-other`, 'upload', image, `${owner}-someone-else`, 'succeeded', '2026-12-01 10:00:03.000', '2026-12-01 10:00:03.000']]]);
    const ids = (page: { requests: readonly { requestId: string }[] }) => page.requests.map((request) => request.requestId.slice(owner.length + 1));

    expect(ids(await store.list({ owner, limit: 10 }))).toEqual(['r4', 'r3', 'r2', 'r1']);
    expect(ids(await store.list({ owner, kind: 'transfer', limit: 10 }))).toEqual(['r4', 'r2']);
    expect(ids(await store.list({ owner, status: 'succeeded', imageUID: image, limit: 10 }))).toEqual(['r4', 'r1']);
    const seen: string[] = [];
    let after: { createdAt: Date; requestId: string } | undefined;
    for (let pages = 0; pages < 5; pages++) {
      const page = await store.list({ owner, limit: 1, after });
      seen.push(...ids(page));
      if (!page.next) break;
      after = page.next;
    }
    expect(seen).toEqual(['r4', 'r3', 'r2', 'r1']);
    expect((await store.list({ owner, limit: 10 })).requests[0]).toMatchObject({ kind: 'transfer', status: 'succeeded', createdAt: new Date('2026-12-01T10:00:02.000Z') });
    await pool.query('DELETE FROM viewport_requests WHERE request_id LIKE ?', [`${owner}-%`]);
  });

  it('lists an owner\'s uploads of one version however many newer ones of other versions there are (found by a quality reread: the 404 looked through the newest 20 only)', async () => {
    const store = mysqlRequestStore(pool);
    const owner = `versions-${randomUUID()}`;
    const image = 'Q'.repeat(60);
    const at = (second: number): string => `2026-12-02 10:${String(Math.floor(second / 60)).padStart(2, '0')}:${String(second % 60).padStart(2, '0')}.000`;
    const newer = Array.from({ length: 30 }, (_, index) => [`${owner}-later-${String(index)}`, 'upload', image, `v2-0-${String(10 + index)}`, owner, 'failed', at(10 + index), at(10 + index)]);
    await pool.query('INSERT INTO viewport_requests (request_id, kind, image_uid, image_version, user_login, status, created_at, updated_at) VALUES ?', [[
      [`${owner}-first`, 'upload', image, 'v1-0-01', owner, 'failed', at(1), at(1)], [`${owner}-again`, 'upload', image, 'v1-0-01', owner, 'failed', at(2), at(2)], ...newer,
      [`${owner}-theirs`, 'upload', image, 'v1-0-01', `${owner}-someone-else`, 'failed', at(50), at(50)],
    ]]);
    const ids = (page: { requests: readonly { requestId: string }[] }) => page.requests.map((request) => request.requestId.slice(owner.length + 1));

    expect(ids(await store.list({ owner, kind: 'upload', imageUID: image, imageVersion: 'v1-0-01', status: 'failed', limit: 1 }))).toEqual(['again']);
    const first = await store.list({ owner, kind: 'upload', imageUID: image, imageVersion: 'v1-0-01', limit: 1 });
    expect(ids(await store.list({ owner, imageVersion: 'v1-0-01', limit: 5, after: first.next }))).toEqual(['first']);
    expect(ids(await store.list({ owner, imageVersion: 'v9-9-99', limit: 5 }))).toEqual([]);
    expect((await store.list({ owner, imageUID: image, limit: 100 })).requests).toHaveLength(32);
    await pool.query('DELETE FROM viewport_requests WHERE request_id LIKE ?', [`${owner}-%`]);
  });

  it('tells which of many requests have finished, for long polls', async () => {
    const store = mysqlRequestStore(pool);
    const [accepted, running, succeeded, failed] = await Promise.all(['accepted', 'running', 'succeeded', 'failed'].map(requestWith));
    const unknown = `req-${randomUUID()}`;
    expect(await store.finishedAmong([accepted!, running!, succeeded!, failed!, unknown])).toEqual(new Set([succeeded, failed]));
    expect(await store.finishedAmong([])).toEqual(new Set());
    await pool.query('DELETE FROM viewport_requests WHERE request_id IN (?)', [[accepted, running, succeeded, failed]]);
  });

  it('gives a name one UID for good, and none while the check before a new name refuses', async () => {
    const imageName = `names-${randomUUID()}`;
    let refusing = true;
    let asked = 0;
    const names = mysqlImageNames(pool, async () => {
      asked += 1;
      if (refusing) throw new Error('ViewPort lost');
    });
    await expect(names.uidFor('dev1', imageName)).rejects.toThrow('ViewPort lost');
    const [none] = await pool.query<RowDataPacket[]>('SELECT COUNT(*) AS n FROM image_names WHERE image_name = ?', [imageName]);
    expect(Number(none[0]?.['n'])).toBe(0);

    refusing = false;
    const [first, racing] = await Promise.all([names.uidFor('dev1', imageName), names.uidFor('dev1', imageName)]);
    expect(first).toMatch(/^[A-Za-z0-9]{60}$/);
    expect(racing).toBe(first);
    const checks = asked;
    // A known name is not checked again: the check is for the first use only.
    expect(await names.uidFor('dev1', imageName)).toBe(first);
    expect(asked).toBe(checks);
    expect(await names.uidFor('dev2', imageName)).not.toBe(first);
    await pool.query('DELETE FROM image_names WHERE image_name = ?', [imageName]);
  });

  it('refuses an owner a second image name with the chart name of one they have, also when the two race or the first is from before chart names were kept', async () => {
    const names = mysqlImageNames(pool);
    const owner = `charts-${randomUUID()}`;
    const base = `billing${randomUUID().slice(0, 8)}`;
    const first = await names.uidFor(owner, `${base}.api`);
    // Its first upload is under way: the name holds its chart name.
    await requested(first, owner, 'running');
    await expect(names.uidFor(owner, `${base}_api`)).rejects.toMatchObject({ imageName: `${base}_api`, chartName: `${base}-api`, holder: `${base}.api`, holderStored: false });
    expect(await names.uidFor(owner, `${base}.api`)).toBe(first);
    // Another owner's images are another Helm repository: the same chart name is theirs to have.
    expect(await names.uidFor(`${owner}-other`, `${base}_api`)).toMatch(/^[A-Za-z0-9]{60}$/);
    // Two first uploads racing, their UIDs and then their requests: one name wins, the other is refused.
    const firstUpload = async (imageName: string) => acceptUpload(owner, imageName, await names.uidFor(owner, imageName));
    const raced = await Promise.allSettled([firstUpload(`${base}-x`), firstUpload(`${base}__x`)]);
    expect(raced.map((outcome) => outcome.status).sort()).toEqual(['fulfilled', 'rejected']);
    // Refused as a chart name taken, or (the other name freed this one's and had not written its own yet) as a 503 to send again; never a deadlock.
    const refusal = raced.find((outcome) => outcome.status === 'rejected')?.reason;
    expect(refusal instanceof ChartNameTaken || refusal instanceof StoreUnavailableError).toBe(true);
    // A name from before the column (or restored by a rebuild) has no chart name yet: it is filled before a new name is taken.
    const old = 'O'.repeat(52) + randomUUID().slice(0, 8);
    await pool.query('INSERT INTO image_names (user_login, image_name, image_uid) VALUES (?, ?, ?)', [owner, `${base}.old`, old]);
    await requested(old, owner, 'succeeded');
    await expect(names.uidFor(owner, `${base}-old`)).rejects.toMatchObject({ imageName: `${base}-old`, chartName: `${base}-old`, holder: `${base}.old` });
    await pool.query('DELETE FROM viewport_requests WHERE user_login IN (?, ?)', [owner, `${owner}-other`]);
    await pool.query('DELETE FROM image_names WHERE user_login IN (?, ?)', [owner, `${owner}-other`]);
  });

  it('says whether the holder of a chart name has an image in ViewPort: a first upload under way holds the name and chart name, with no image to find yet (an error-contract review)', async () => {
    // A private ViewPort: an image row in the stack's own would count in its projection checksum.
    const viewport = await privateViewport('chartholder');
    try {
      const names = mysqlImageNames(viewport.pool);
      const owner = `holder-${randomUUID()}`;
      const failedFirst = await names.uidFor(owner, 'billing.api');
      await requested(failedFirst, owner, 'running', viewport.pool);
      await expect(names.uidFor(owner, 'billing_api')).rejects.toMatchObject({ holder: 'billing.api', holderStored: false });
      // Stored, and its chart step failed after: the stored image keeps the chart name.
      await viewport.pool.query("UPDATE viewport_requests SET status = 'failed', error_code = 'CHART_INPUT' WHERE image_uid = ?", [failedFirst]);
      await viewport.pool.query("INSERT INTO wp_image_uid (image_uid, post_id, user_login, image_name, created_at, updated_at) VALUES (?, 1, ?, 'billing.api', NOW(3), NOW(3))", [failedFirst, owner]);
      await expect(names.uidFor(owner, 'billing_api')).rejects.toMatchObject({ holder: 'billing.api', holderStored: true });
      await expect(names.peek(owner, 'billing-api')).rejects.toMatchObject({ holder: 'billing.api', holderStored: true });
    } finally {
      await viewport.drop();
    }
  });

  it('peeks at a name without assigning it: the UID it has, nothing for a new one, ChartNameTaken as uidFor would', async () => {
    const names = mysqlImageNames(pool);
    const owner = `peek-${randomUUID()}`;
    const base = `web${randomUUID().slice(0, 8)}`;
    expect(await names.peek(owner, `${base}_app`)).toBeUndefined();
    const [none] = await pool.query<RowDataPacket[]>('SELECT COUNT(*) AS n FROM image_names WHERE user_login = ?', [owner]);
    expect(Number(none[0]?.['n'])).toBe(0);
    const uid = await names.uidFor(owner, `${base}_app`);
    await requested(uid, owner, 'running');
    expect(await names.peek(owner, `${base}_app`)).toBe(uid);
    await expect(names.peek(owner, `${base}-app`)).rejects.toMatchObject({ imageName: `${base}-app`, chartName: `${base}-app`, holder: `${base}_app`, holderStored: false });
    await pool.query('DELETE FROM viewport_requests WHERE user_login = ?', [owner]);
    await pool.query('DELETE FROM image_names WHERE user_login = ?', [owner]);
  });

  it('frees a name no request was recorded for (a gateway killed between its UID and its request): another name of its chart name is taken, and its own upload then refused (found by a review: 409 for ever, nothing to see)', async () => {
    const names = mysqlImageNames(pool);
    const owner = `crashed-${randomUUID()}`;
    const base = `tim${randomUUID().slice(0, 8)}`;
    // The crash state: the name's UID committed, no request, for longer than a request takes to be recorded.
    const orphan = await names.uidFor(owner, `${base}.app`);
    await pool.query(`UPDATE image_names SET created_at = NOW(3) - INTERVAL ${NAME_RECORDING_SECONDS + 1} SECOND WHERE image_uid = ?`, [orphan]);
    expect(await names.peek(owner, `${base}-app`)).toBeUndefined();
    const uid = await names.uidFor(owner, `${base}-app`);
    expect(uid).not.toBe(orphan);
    await acceptUpload(owner, `${base}-app`, uid);
    const [rows] = await pool.query<RowDataPacket[]>('SELECT image_name FROM image_names WHERE user_login = ? ORDER BY image_name', [owner]);
    expect(rows.map((row) => row['image_name'])).toEqual([`${base}-app`]);
    // Still under way when it was freed (the owner's two uploads at once): its request is refused, the chart name stays the other's.
    await expect(acceptUpload(owner, `${base}.app`, orphan)).rejects.toMatchObject({ imageName: `${base}.app`, chartName: `${base}-app`, holder: `${base}-app` });
    await expect(names.uidFor(owner, `${base}.app`)).rejects.toBeInstanceOf(ChartNameTaken);
    // Freed with its chart name still free (a concurrent upload of it refused 429 freed it): it takes its name back, with
    // its UID, and is accepted, not answered 503 (found by a re-probe).
    const early = await names.uidFor(owner, `${base}.web`);
    await pool.query('DELETE FROM image_names WHERE image_uid = ?', [early]);
    await acceptUpload(owner, `${base}.web`, early);
    expect(await names.uidFor(owner, `${base}.web`)).toBe(early);
    // Says which call made a name (only its own may a refused upload free): the first, not one finding it.
    expect(await names.uidMade?.(owner, `${base}.new`)).toMatchObject({ made: true });
    expect(await names.uidMade?.(owner, `${base}.new`)).toMatchObject({ made: false });
    await expect(names.uidFor(owner, `${base}-web`)).rejects.toMatchObject({ holder: `${base}.web`, holderStored: false });
    await pool.query('DELETE FROM viewport_requests WHERE user_login = ?', [owner]);
    await pool.query('DELETE FROM image_names WHERE user_login = ?', [owner]);
  });

  it('peeks at a new name that a racing first upload takes meanwhile as that name\'s, not as a chart name taken by itself (found by a probe: 8 of 48 parallel first uploads got 409)', async () => {
    const owner = `peek-race-${randomUUID()}`;
    const imageName = `api${randomUUID().slice(0, 8)}`;
    const racing = mysqlImageNames(pool);
    let raced: string | undefined;
    // The other upload's uidFor lands between this peek's look at the name and its look at the chart name.
    const names = mysqlImageNames(pool, async () => { raced ??= await racing.uidFor(owner, imageName); });
    const peeked = await names.peek(owner, imageName);
    expect(raced).toMatch(/^[A-Za-z0-9]{60}$/);
    expect(peeked).toBe(raced);
    await pool.query('DELETE FROM image_names WHERE user_login = ?', [owner]);
  });
});
