import { randomUUID } from 'node:crypto';
import { childSpan, createMysqlPool, newImageUID, TOPICS, type EventEnvelope } from '@orbit/lib';
import { sampleEvents, type UploadBodyDigest, type UploadRequested } from '@orbit/schemas';
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
  ['presigned upload completions', 'upload_completions', randomUUID],
  ['uploads sent with an Idempotency-Key', 'upload_idempotency_keys', () => `"ci run ${randomUUID()}"`],
] as const)('%s against MariaDB', (_what, table, newKey) => {
  it('starts one request per key however often and however concurrently it is sent, and a new one once that failed', async () => {
    const sent: EventEnvelope[] = [];
    const completions = mysqlUploadClaims(pool, mysqlCommandOutbox(pool, { publish: async (_topic, event) => { sent.push(event); } }, quietLogger), TOPICS.uploadRequested, table);
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
