import { randomUUID } from 'node:crypto';
import { childSpan, createMysqlPool, newImageUID, TOPICS, type EventEnvelope } from '@orbit/lib';
import { sampleEvents, type UploadBodyDigest, type UploadRequested } from '@orbit/schemas';
import type { RowDataPacket } from 'mysql2/promise';
import { afterAll, describe, expect, it } from 'vitest';
import { quietLogger, testConfig } from '../../../../test/helpers/index.js';
import type { AcceptedRequest } from '../ports.js';
import { mysqlCommandOutbox } from './mysql-outbox.js';
import { mysqlUploadClaims } from './mysql-requests.js';

const pool = createMysqlPool(testConfig.MYSQL_URL, 6);
const owner = `completer-${randomUUID()}`;
afterAll(async () => {
  await pool.query('DELETE FROM upload_completions WHERE user_login = ?', [owner]);
  await pool.query('DELETE FROM upload_idempotency_keys WHERE user_login = ?', [owner]);
  await pool.query('DELETE FROM viewport_requests WHERE user_login = ?', [owner]);
  await pool.end();
});

/** A completion of a presigned upload, as the route builds it: a new request each time. */
function completion(imageUID: string, bodyDigest: UploadBodyDigest | null = null): { request: AcceptedRequest; command: UploadRequested } {
  const requestId = randomUUID();
  return { command: { ...sampleEvents(imageUID, requestId)[TOPICS.uploadRequested], requestId, bodyDigest }, request: { requestId, kind: 'upload', imageUID, imageVersion: 'v1-0-00', owner } };
}

const digest = (hex: string): UploadBodyDigest => ({ metadataSha256: hex.repeat(64), contentSha256: hex === 'a' ? null : 'f'.repeat(64) });

describe.each([
  ['presigned upload completions', 'upload_completions', randomUUID, undefined],
  // As the gateway runs them: expiring after a day (the expiry must not make concurrent first claims deadlock).
  ['uploads sent with an Idempotency-Key', 'upload_idempotency_keys', () => `"ci run ${randomUUID()}"`, 86_400],
] as const)('%s against MariaDB', (_what, table, newKey, expiresAfterSeconds) => {
  it('starts one request per key however often and however concurrently it is sent, and a new one once that failed', async () => {
    const sent: EventEnvelope[] = [];
    const completions = mysqlUploadClaims(pool, mysqlCommandOutbox(pool, { publish: async (_topic, event) => { sent.push(event); } }, quietLogger), TOPICS.uploadRequested, table, expiresAfterSeconds);
    const imageUID = newImageUID();
    const uploadId = newKey();
    const asks = Array.from({ length: 4 }, (_, index) => completion(imageUID, digest(String(index + 1))));
    const held = await Promise.all(asks.map((ask) => completions.claim(uploadId, ask.request, ask.command, childSpan(undefined))));
    const first = held.find((entry) => entry.status === null);
    expect(new Set(held.map((entry) => entry.requestId))).toEqual(new Set([first?.requestId]));
    expect(held.filter((entry) => entry.status === 'accepted')).toHaveLength(3);
    expect(sent).toHaveLength(1);
    // What the winner was sent with is kept with its claim, for a repeat to be compared with.
    const winner = asks.find((ask) => ask.request.requestId === first?.requestId);
    expect((await completions.find(owner, uploadId))?.bodyDigest).toEqual(winner?.command.bodyDigest);
    expect(held.every((entry) => JSON.stringify(entry.bodyDigest) === JSON.stringify(winner?.command.bodyDigest))).toBe(true);

    // A retry later: the same request, nothing sent again.
    const retry = completion(imageUID);
    expect(await completions.claim(uploadId, retry.request, retry.command, childSpan(undefined))).toEqual({ requestId: first?.requestId, status: 'accepted', imageUID, bodyDigest: winner?.command.bodyDigest });
    expect(sent).toHaveLength(1);

    // Another upload of the same owner is its own request.
    const other = completion(imageUID);
    expect((await completions.claim(newKey(), other.request, other.command, childSpan(undefined))).requestId).toBe(other.request.requestId);

    // Once the request failed (NAME_CONFLICT, say), completing the same staged image again starts a new one.
    await pool.query("UPDATE viewport_requests SET status = 'failed' WHERE request_id = ?", [first?.requestId]);
    const again = completion(imageUID, digest('a'));
    expect(await completions.claim(uploadId, again.request, again.command, childSpan(undefined))).toEqual({ requestId: again.request.requestId, status: null, imageUID, bodyDigest: digest('a') });
    expect((await completions.find(owner, uploadId))?.bodyDigest).toEqual(digest('a'));
    expect(sent.map((event) => event.eventId)).toEqual([asks.find((ask) => ask.request.requestId === first?.requestId)?.command.eventId, other.command.eventId, again.command.eventId]);
  });
});

describe('Idempotency-Keys expire', () => {
  it('frees a key once it is older than its lifetime: not found, the next upload under it is a new request, and the purge removes expired rows only', async () => {
    const sent: EventEnvelope[] = [];
    const keys = mysqlUploadClaims(pool, mysqlCommandOutbox(pool, { publish: async (_topic, event) => { sent.push(event); } }, quietLogger), TOPICS.uploadRequested, 'upload_idempotency_keys', 3600);
    const imageUID = newImageUID();
    const [old, fresh] = [randomUUID(), randomUUID()];
    const first = completion(imageUID, digest('1'));
    await keys.claim(old, first.request, first.command, childSpan(undefined));
    const kept = completion(imageUID, digest('2'));
    await keys.claim(fresh, kept.request, kept.command, childSpan(undefined));
    expect((await keys.find(owner, old))?.requestId).toBe(first.request.requestId);

    // Two hours on, for the first key only.
    await pool.query('UPDATE upload_idempotency_keys SET created_at = NOW(3) - INTERVAL 2 HOUR WHERE user_login = ? AND idempotency_key = ?', [owner, old]);
    expect(await keys.find(owner, old)).toBeUndefined();
    // Sent again with another body: not 422, a new request under the freed key.
    const later = completion(imageUID, digest('3'));
    expect(await keys.claim(old, later.request, later.command, childSpan(undefined))).toEqual({ requestId: later.request.requestId, status: null, imageUID, bodyDigest: digest('3') });
    expect(sent.map((event) => event.eventId)).toEqual([first.command.eventId, kept.command.eventId, later.command.eventId]);

    await pool.query('UPDATE upload_idempotency_keys SET created_at = NOW(3) - INTERVAL 2 HOUR WHERE user_login = ? AND idempotency_key = ?', [owner, old]);
    expect(await keys.purgeExpired?.()).toBeGreaterThanOrEqual(1);
    const [rows] = await pool.query<RowDataPacket[]>('SELECT idempotency_key FROM upload_idempotency_keys WHERE user_login = ?', [owner]);
    expect(rows.map((row) => row['idempotency_key'])).toContain(fresh);
    expect(rows.map((row) => row['idempotency_key'])).not.toContain(old);
    // Presigned completions never expire: an upload id names one staged image for good.
    const completions = mysqlUploadClaims(pool, mysqlCommandOutbox(pool, { publish: async () => undefined }, quietLogger), TOPICS.uploadRequested, 'upload_completions');
    expect(await completions.purgeExpired?.()).toBe(0);
  });
});

describe('a completion beside a give-up of the same upload', () => {
  it('undoes a claim whose check before commit throws, sending nothing, and lets findSettled wait for a claim being written', async () => {
    const sent: EventEnvelope[] = [];
    const completions = mysqlUploadClaims(pool, mysqlCommandOutbox(pool, { publish: async (_topic, event) => { sent.push(event); } }, quietLogger), TOPICS.uploadRequested, 'upload_completions');
    const imageUID = newImageUID();
    const uploadId = randomUUID();
    const refused = completion(imageUID);
    await expect(completions.claim(uploadId, refused.request, refused.command, childSpan(undefined), async () => { throw new Error('given up'); })).rejects.toThrow('given up');
    expect([await completions.find(owner, uploadId), sent]).toEqual([undefined, []]);
    const [request] = await pool.query<RowDataPacket[]>('SELECT 1 FROM viewport_requests WHERE request_id = ?', [refused.request.requestId]);
    expect(request).toEqual([]);

    // A claim held open before its commit: a plain find does not see it yet, findSettled waits and sees it committed.
    let release = (): void => undefined;
    const held = new Promise<void>((resolve) => { release = resolve; });
    let checking = (): void => undefined;
    const inCheck = new Promise<void>((resolve) => { checking = resolve; });
    const ask = completion(imageUID);
    const claiming = completions.claim(uploadId, ask.request, ask.command, childSpan(undefined), async () => { checking(); await held; });
    await inCheck;
    expect(await completions.find(owner, uploadId)).toBeUndefined();
    const settled = completions.findSettled?.(owner, uploadId);
    await new Promise((resolve) => setTimeout(resolve, 200));
    release();
    expect((await settled)?.requestId).toBe(ask.request.requestId);
    expect((await claiming).requestId).toBe(ask.request.requestId);
    expect(sent.map((event) => event.eventId)).toEqual([ask.command.eventId]);
  });
});
