import { randomUUID } from 'node:crypto';
import { childSpan, createMysqlPool, newImageUID, TOPICS, type EventEnvelope } from '@orbit/lib';
import { sampleEvents, type UploadRequested } from '@orbit/schemas';
import { afterAll, describe, expect, it } from 'vitest';
import { quietLogger, testConfig } from '../../../../test/helpers/index.js';
import { VersionUploadUnderWay, type AcceptedRequest } from '../ports.js';
import { mysqlCommandOutbox } from './mysql-outbox.js';
import { mysqlUploadClaims, mysqlUploadRequests, UPLOAD_HOLDS_VERSION_SECONDS } from './mysql-requests.js';

const pool = createMysqlPool(testConfig.MYSQL_URL, 8);
const owner = `versions-${randomUUID()}`;
afterAll(async () => {
  await pool.query('DELETE FROM upload_completions WHERE user_login = ?', [owner]);
  await pool.query('DELETE FROM upload_idempotency_keys WHERE user_login = ?', [owner]);
  await pool.query('DELETE FROM viewport_requests WHERE user_login = ?', [owner]);
  await pool.query('DELETE FROM image_names WHERE user_login = ?', [owner]);
  await pool.end();
});

/** An image whose name has its UID, as uidFor leaves it before an upload is accepted. */
async function knownImage(): Promise<string> {
  const imageUID = newImageUID();
  await pool.query('INSERT INTO image_names (user_login, image_name, image_uid) VALUES (?, ?, ?)', [owner, `app-${randomUUID()}`, imageUID]);
  return imageUID;
}

/** An upload of `imageVersion`, as the route builds it: a new request each time, accepted now (its row is dated by occurredAt). */
function upload(imageUID: string, imageVersion = 'v1-0-00'): { request: AcceptedRequest; command: UploadRequested } {
  const requestId = randomUUID();
  return { command: { ...sampleEvents(imageUID, requestId)[TOPICS.uploadRequested], requestId, occurredAt: Date.now() }, request: { requestId, kind: 'upload', imageUID, imageVersion, owner } };
}

function publisher() {
  const sent: EventEnvelope[] = [];
  const outbox = mysqlCommandOutbox(pool, { publish: async (_topic, event) => { sent.push(event); } }, quietLogger);
  return {
    sent,
    send: mysqlUploadRequests(pool, outbox, TOPICS.uploadRequested),
    keys: mysqlUploadClaims(pool, outbox, TOPICS.uploadRequested, 'upload_idempotency_keys', 3600, { oneUploadPerVersion: true }),
    completions: mysqlUploadClaims(pool, outbox, TOPICS.uploadRequested, 'upload_completions', undefined, { oneUploadPerVersion: true }),
  };
}

describe('one upload of a version under way at a time, against MariaDB', () => {
  it('records one of several uploads of a version sent at once, with or without keys, and refuses the others naming it; another version, and the version once that upload failed, are taken (found by a probe: a "still being uploaded" answer named the upload that then failed ALREADY_STORED)', async () => {
    const { sent, send, keys, completions } = publisher();
    const imageUID = await knownImage();
    const asks = Array.from({ length: 6 }, () => upload(imageUID));
    const answers = await Promise.allSettled(asks.map((ask, index) => (index % 3 === 0
      ? send(ask.command, childSpan(undefined), ask.request).then(() => ask.request.requestId)
      : (index % 3 === 1 ? keys : completions).claim(randomUUID(), ask.request, ask.command, childSpan(undefined)).then((held) => held.requestId))));
    const recorded = answers.flatMap((answer) => (answer.status === 'fulfilled' ? [answer.value] : []));
    expect(recorded).toHaveLength(1);
    const refusals = answers.flatMap((answer) => (answer.status === 'rejected' ? [answer.reason as unknown] : []));
    expect(refusals.every((reason) => reason instanceof VersionUploadUnderWay && reason.requestId === recorded[0])).toBe(true);
    expect(sent.map((event) => (event as UploadRequested).requestId)).toEqual(recorded);

    // Another version of the image is its own upload.
    const other = upload(imageUID, 'v2-0-00');
    await send(other.command, childSpan(undefined), other.request);
    // The version is free again once its upload failed.
    await pool.query("UPDATE viewport_requests SET status = 'failed' WHERE request_id = ?", [recorded[0]]);
    const again = upload(imageUID);
    await send(again.command, childSpan(undefined), again.request);
    expect(sent).toHaveLength(3);
  });

  it('refuses another spelling of a chart version under way, naming the upload and its spelling (a review: v5-0-0 and 5.0.0 sent at once were both stored as chart 5.0.0)', async () => {
    const { sent, send, keys } = publisher();
    const imageUID = await knownImage();
    const first = upload(imageUID, 'v5-0-0');
    await send(first.command, childSpan(undefined), first.request);
    for (const spelling of ['5.0.0', 'v5-00-000']) {
      const other = upload(imageUID, spelling);
      await expect(send(other.command, childSpan(undefined), other.request)).rejects.toMatchObject({ requestId: first.request.requestId, imageVersion: 'v5-0-0' });
      await expect(keys.claim(randomUUID(), other.request, other.command, childSpan(undefined))).rejects.toBeInstanceOf(VersionUploadUnderWay);
    }
    // Another chart version is its own upload, and the spelling is free once the first failed.
    const next = upload(imageUID, '5.0.1');
    await send(next.command, childSpan(undefined), next.request);
    await pool.query("UPDATE viewport_requests SET status = 'failed' WHERE request_id = ?", [first.request.requestId]);
    const again = upload(imageUID, '5.0.0');
    await send(again.command, childSpan(undefined), again.request);
    expect(sent).toHaveLength(3);
  });

  it('lets an upload that never finished hold its version no longer than the staging expiry (a day): its archive is gone, it can never be stored', async () => {
    const { sent, send } = publisher();
    const imageUID = await knownImage();
    const stuck = upload(imageUID);
    await send(stuck.command, childSpan(undefined), stuck.request);
    const refused = upload(imageUID);
    await expect(send(refused.command, childSpan(undefined), refused.request)).rejects.toMatchObject({ requestId: stuck.request.requestId });
    await pool.query('UPDATE viewport_requests SET created_at = UTC_TIMESTAMP(3) - INTERVAL ? SECOND WHERE request_id = ?', [UPLOAD_HOLDS_VERSION_SECONDS + 60, stuck.request.requestId]);
    const later = upload(imageUID);
    await send(later.command, childSpan(undefined), later.request);
    expect(sent).toHaveLength(2);
  });

  it('answers a key held by the upload under way with that upload (its repeat), not a refusal, and refuses the version under another key', async () => {
    const { sent, keys } = publisher();
    const imageUID = await knownImage();
    const key = randomUUID();
    const asks = Array.from({ length: 3 }, () => upload(imageUID));
    const held = await Promise.all(asks.map((ask) => keys.claim(key, ask.request, ask.command, childSpan(undefined))));
    expect(new Set(held.map((entry) => entry.requestId)).size).toBe(1);
    expect(sent).toHaveLength(1);
    const otherKey = upload(imageUID);
    await expect(keys.claim(randomUUID(), otherKey.request, otherKey.command, childSpan(undefined))).rejects.toMatchObject({ requestId: held[0]?.requestId, imageVersion: 'v1-0-00' });
    expect(sent).toHaveLength(1);
  });
});
