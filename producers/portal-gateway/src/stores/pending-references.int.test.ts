import { randomUUID } from 'node:crypto';
import { childSpan, createMysqlPool, databaseOf, TOPICS } from '@orbit/lib';
import { sampleEvents, type UploadRequested } from '@orbit/schemas';
import type { RowDataPacket } from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrate } from '../../../../deploy/local/src/provision/migrations.js';
import { quietLogger, testConfig, uniqueSuffix } from '../../../../test/helpers/index.js';
import { ReferenceUploadsPending, type HeldRequest } from '../ports.js';
import { mysqlCommandOutbox } from './mysql-outbox.js';
import { mysqlImageNames, mysqlUploadClaims, mysqlUploadRequests } from './mysql-requests.js';
import { REFERENCE_UPLOAD_COUNTS_SECONDS } from './pending-references.js';

/**
 * A database of the test's own, migrated as this checkout's migrations have it (the stack's user may create
 * `<database>_…`): the shared one may not have this checkout's migrations yet, and is left alone.
 */
const database = `${databaseOf(testConfig.MYSQL_URL)}_refcap_${uniqueSuffix()}`;
const url = new URL(testConfig.MYSQL_URL);
url.pathname = `/${database}`;
const admin = createMysqlPool(testConfig.MYSQL_URL, 1);
beforeAll(() => migrate({ url: url.toString() }), 60_000);
const pool = createMysqlPool(url.toString(), 8);
afterAll(async () => {
  await pool.end();
  await admin.query(`DROP DATABASE IF EXISTS \`${database}\``);
  await admin.end();
});

const LIMIT = 2;
const outbox = mysqlCommandOutbox(pool, { publish: async () => undefined }, quietLogger);
const limits = { maxPendingReferenceUploads: LIMIT };
const recordUpload = mysqlUploadRequests(pool, outbox, TOPICS.uploadRequested, limits);
const keys = mysqlUploadClaims(pool, outbox, TOPICS.uploadRequested, 'upload_idempotency_keys', 3600, { oneUploadPerVersion: true, ...limits });
const names = mysqlImageNames(pool);

const newOwner = (label: string): string => `${label}-${randomUUID()}`;

/** An upload of a new image of the owner's (or of `imageName`), as the route hands it to the store once its name has its UID. */
async function upload(owner: string, source: UploadRequested['source'] = 'REFERENCE', imageName = `app${randomUUID().slice(0, 8)}`, imageVersion?: string, madeItsName?: boolean) {
  const imageUID = await names.uidFor(owner, imageName);
  const requestId = `req-${randomUUID()}`;
  const generic = sampleEvents(imageUID, requestId)[TOPICS.uploadRequested];
  const sample = imageVersion === undefined ? generic : { ...generic, metadata: { ...generic.metadata, imageVersion } };
  const byReference = source === 'REFERENCE';
  const command: UploadRequested = {
    // Accepted now: its row is dated by occurredAt (the sample's is a fixed past time, past the pending window).
    ...sample, requestId, occurredAt: Date.now(), source, metadata: { ...sample.metadata, imageName },
    ...(byReference ? { reference: `slow.example/${imageName}:v1`, staging: null, sizeBytes: null, sha256: null } : {}),
  };
  const request = { requestId, kind: 'upload' as const, imageUID, imageVersion: sample.metadata.imageVersion, owner, ...(madeItsName === undefined ? {} : { madeItsName }) };
  return {
    requestId,
    /** Without a key (CommandPublisher.uploadRequested). */
    send: async (): Promise<string> => { await recordUpload(command, childSpan(undefined), request); return requestId; },
    /** With an Idempotency-Key: what the claim answers with. */
    sendKeyed: (key: string): Promise<HeldRequest> => keys.claim(key, request, { ...command, idempotencyKey: key }, childSpan(undefined)),
  };
}

async function recorded(requestIds: readonly string[]): Promise<string[]> {
  const [rows] = await pool.query<RowDataPacket[]>('SELECT request_id FROM viewport_requests WHERE request_id IN (?)', [requestIds]);
  return rows.map((row) => String(row['request_id'])).sort();
}

const ended = (requestId: string, status: 'succeeded' | 'failed'): Promise<unknown> =>
  pool.query('UPDATE viewport_requests SET status = ? WHERE request_id = ?', [status, requestId]);

describe('uploads by reference one owner may have under way at once (found by a race review: one owner\'s slow registry held up everyone\'s uploads)', () => {
  it('refuses the owner\'s next one while their most are unfinished, recording nothing, and takes one again as each ends; other uploads and other owners go on', async () => {
    const owner = newOwner('refcap');
    const first = await (await upload(owner)).send();
    const second = await (await upload(owner)).send();
    const third = await upload(owner);
    // 1. Both places taken, by requests the pipeline has not ended (still accepted: a projector behind, or a pipeline down).
    const refusal = await third.send().catch((error: unknown) => error);
    expect(refusal).toBeInstanceOf(ReferenceUploadsPending);
    expect(refusal).toMatchObject({ pending: [first, second], limit: LIMIT });
    expect(await recorded([third.requestId])).toEqual([]);
    // 2. An archive upload of the owner's, and another owner's reference, are not held to it.
    await (await upload(owner, 'ARCHIVE')).send();
    const other = newOwner('refcap-other');
    await (await upload(other)).send();
    // 3. One running still counts; one that succeeded, or failed, frees its place.
    await pool.query("UPDATE viewport_requests SET status = 'running' WHERE request_id = ?", [first]);
    // Sent again as the route sends it: its name, freed at the refusal, given a UID again.
    await expect((await upload(owner)).send()).rejects.toBeInstanceOf(ReferenceUploadsPending);
    await ended(first, 'succeeded');
    const fourth = await (await upload(owner)).send();
    await expect((await upload(owner)).send()).rejects.toMatchObject({ pending: [second, fourth] });
    await ended(second, 'failed');
    await (await upload(owner)).send();
    // 4. One no consumer ended within the day an unfinished upload may wait stops counting.
    await pool.query(`UPDATE reference_uploads SET created_at = NOW(3) - INTERVAL ${REFERENCE_UPLOAD_COUNTS_SECONDS + 60} SECOND WHERE request_id = ?`, [fourth]);
    await (await upload(owner)).send();
  });

  it('lets no more than the limit through of many sent at once, with keys and without', async () => {
    for (let round = 0; round < 3; round++) {
      const owner = newOwner('refcap-race');
      const uploads = await Promise.all(Array.from({ length: 8 }, () => upload(owner)));
      const outcomes = await Promise.allSettled(uploads.map((each, index) => (index % 2 === 0 ? each.send() : each.sendKeyed(`key-${index}`))));
      const refused = outcomes.flatMap((outcome) => (outcome.status === 'rejected' ? [outcome.reason] : []));
      expect(refused.every((reason) => reason instanceof ReferenceUploadsPending), String(refused.find((reason) => !(reason instanceof ReferenceUploadsPending)))).toBe(true);
      expect(refused).toHaveLength(8 - LIMIT);
      expect(await recorded(uploads.map((each) => each.requestId))).toHaveLength(LIMIT);
    }
  });

  it('answers a repeat of a key whose upload is under way with that upload, not refused, though the owner has their most under way', async () => {
    const owner = newOwner('refcap-replay');
    const keyed = await upload(owner);
    const held = await keyed.sendKeyed('the-key');
    await (await upload(owner)).send();
    // The same key again (a client's retry): a new request id, the same key; the claim answers with the first.
    const repeat = await upload(owner);
    const again = await keys.claim('the-key', { requestId: repeat.requestId, kind: 'upload', imageUID: held.imageUID ?? '', imageVersion: 'v1-0-00', owner },
      { ...sampleEvents(held.imageUID ?? undefined, repeat.requestId)[TOPICS.uploadRequested], source: 'REFERENCE', reference: 'slow.example/a:v1', staging: null, idempotencyKey: 'the-key' }, childSpan(undefined));
    expect(again.requestId).toBe(keyed.requestId);
    expect(await recorded([repeat.requestId])).toEqual([]);
    // A new key is new work: refused.
    await expect(repeat.sendKeyed('another-key')).rejects.toBeInstanceOf(ReferenceUploadsPending);
  });

  it('frees the name a refused upload gave its UID: its chart-name twin is taken at once, not refused 409 for a minute (found by a review: NAME_CONFLICT naming a name with nothing accepted)', async () => {
    for (const keyed of [false, true]) {
      const owner = newOwner('refcap-twin');
      await (await upload(owner)).send();
      await (await upload(owner)).send();
      const stem = `tw${randomUUID().slice(0, 8)}`;
      const refused = await upload(owner, 'REFERENCE', `${stem}.b`);
      await expect(keyed ? refused.sendKeyed(`key-${stem}`) : refused.send()).rejects.toBeInstanceOf(ReferenceUploadsPending);
      // Its twin (the same chart name), an archive the owner may send while their references are under way.
      const twin = await upload(owner, 'ARCHIVE', `${stem}_b`);
      expect(await twin.send()).toBe(twin.requestId);
      const [left] = await pool.query<RowDataPacket[]>('SELECT image_name FROM image_names WHERE user_login = ? AND image_name LIKE ?', [owner, `${stem}%`]);
      expect(left.map((row) => String(row['image_name']))).toEqual([`${stem}_b`]);
    }
  });

  it('leaves the name an archive of it made when a reference of the same name sent with it is refused 429, and accepts the archive, not 503 (found by a re-probe: 6 of 45 freed under it)', async () => {
    for (const keyed of [false, true]) {
      const owner = newOwner('refcap-freed');
      await (await upload(owner)).send();
      await (await upload(owner)).send();
      const imageName = `fr${randomUUID().slice(0, 8)}`;
      // Both given the name's one UID (the archive's uidFor made the row, the reference's found it), then the reference
      // refused before the archive's request is recorded: the row, not the reference's, is left to the archive.
      const archive = await upload(owner, 'ARCHIVE', imageName, 'v1');
      const reference = await upload(owner, 'REFERENCE', imageName, 'v2', false);
      await expect(reference.send()).rejects.toBeInstanceOf(ReferenceUploadsPending);
      const [kept] = await pool.query<RowDataPacket[]>('SELECT image_uid FROM image_names WHERE user_login = ? AND image_name = ?', [owner, imageName]);
      expect(kept).toHaveLength(1);
      const accepted = keyed ? (await archive.sendKeyed(`key-${imageName}`)).requestId : await archive.send();
      expect(accepted).toBe(archive.requestId);
      expect(await recorded([archive.requestId])).toEqual([archive.requestId]);
      const [rows] = await pool.query<RowDataPacket[]>('SELECT r.image_uid FROM viewport_requests r JOIN image_names n ON n.image_uid = r.image_uid WHERE r.request_id = ? AND n.image_name = ?', [archive.requestId, imageName]);
      expect(rows).toHaveLength(1);
    }
  });

  it('keeps the name when it holds something: a refused upload of a name with a request leaves it as it was', async () => {
    const owner = newOwner('refcap-kept');
    const first = await upload(owner, 'ARCHIVE', 'kept-name');
    await first.send();
    await (await upload(owner)).send();
    await (await upload(owner)).send();
    await expect((await upload(owner, 'REFERENCE', 'kept-name', 'v2-0-0')).send()).rejects.toBeInstanceOf(ReferenceUploadsPending);
    expect(await names.uidFor(owner, 'kept-name')).toBe((await pool.query<RowDataPacket[]>('SELECT image_uid FROM viewport_requests WHERE request_id = ?', [first.requestId]))[0][0]?.['image_uid']);
  });

  it('answers every first upload by reference of a new owner sent at once, one of them refused after taking the owner\'s row, with no deadlock (suspected by a review)', async () => {
    const failures: unknown[] = [];
    for (let round = 0; round < 15; round++) {
      const owner = newOwner('refcap-first');
      // A version under way, sent as an archive (no owner row): its reference upload is refused once the owner's row is taken.
      const busy = await upload(owner, 'ARCHIVE', 'busy');
      await busy.send();
      const refused = await upload(owner, 'REFERENCE', 'busy');
      const others = await Promise.all(Array.from({ length: 2 }, () => upload(owner)));
      const outcomes = await Promise.allSettled([refused.send(), ...others.map((each) => each.send())]);
      failures.push(...outcomes.flatMap((outcome, index) => (outcome.status === 'rejected' && index > 0 ? [outcome.reason] : [])));
      expect(outcomes[0]?.status).toBe('rejected');
    }
    expect(failures.map(String)).toEqual([]);
  });
});
