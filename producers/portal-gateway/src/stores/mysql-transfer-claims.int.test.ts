import { randomUUID } from 'node:crypto';
import { childSpan, createMysqlPool, newImageUID, TOPICS, type EventEnvelope } from '@orbit/lib';
import { sampleEvents, type TransferRequested } from '@orbit/schemas';
import type { RowDataPacket } from 'mysql2/promise';
import { afterAll, describe, expect, it } from 'vitest';
import { quietLogger, testConfig } from '../../../../test/helpers/index.js';
import { TransferKeyTaken, type AcceptedRequest, type TransferKey } from '../ports.js';
import { mysqlCommandOutbox } from './mysql-outbox.js';
import { mysqlTransferClaims } from './mysql-requests.js';

const pool = createMysqlPool(testConfig.MYSQL_URL, 6);
const imageUIDs: string[] = [];
afterAll(async () => {
  await pool.query('DELETE FROM transfer_idempotency_keys WHERE image_uid IN (?)', [imageUIDs]);
  await pool.query('DELETE FROM transfer_claims WHERE image_uid IN (?)', [imageUIDs]);
  await pool.query('DELETE FROM viewport_requests WHERE image_uid IN (?)', [imageUIDs]);
  await pool.end();
});

/** A transfer request for a fresh image, as the route builds it. */
function transferAsk(imageUID: string, target = 'Testing'): { request: AcceptedRequest; command: TransferRequested } {
  const requestId = `req-${randomUUID()}`;
  const command = { ...sampleEvents(imageUID, requestId)[TOPICS.transferRequested], requestId, imageVersion: 'v1-0-00', targetEnvironment: target };
  return { command, request: { requestId, kind: 'transfer', imageUID, imageVersion: 'v1-0-00', owner: 'dev1', targetEnvironment: target } };
}

/** An Idempotency-Key of dev1's sent with the ask transferAsk makes. */
function keyOf(imageUID: string, key: string, target = 'Testing'): TransferKey {
  return { owner: 'dev1', key, imageUID, imageVersion: 'v1-0-00', targetEnvironment: target, notes: null };
}

function freshImage(): string {
  const imageUID = newImageUID();
  imageUIDs.push(imageUID);
  return imageUID;
}

function publishedTo(sent: EventEnvelope[]) {
  return mysqlCommandOutbox(pool, { publish: async (_topic, event) => { sent.push(event); } }, quietLogger);
}

async function claimRow(imageUID: string): Promise<string | undefined> {
  const [rows] = await pool.query<RowDataPacket[]>("SELECT request_id FROM transfer_claims WHERE image_uid = ? AND image_version = 'v1-0-00' AND target_env = 'Testing'", [imageUID]);
  return rows[0] ? String(rows[0]['request_id']) : undefined;
}

async function statusOf(requestId: string): Promise<string | undefined> {
  const [rows] = await pool.query<RowDataPacket[]>('SELECT status FROM viewport_requests WHERE request_id = ?', [requestId]);
  return rows[0] ? String(rows[0]['status']) : undefined;
}

describe('transfer claims against MariaDB', () => {
  it('leaves no claim behind when its request could not be recorded, so the version can still be promoted', async () => {
    const imageUID = freshImage();
    const sent: EventEnvelope[] = [];
    // The command cannot be stored (a topic longer than its column): the whole claim must go with it.
    const broken = mysqlTransferClaims(pool, publishedTo(sent), 't'.repeat(300));
    const first = transferAsk(imageUID);
    await expect(broken.claim('Testing', first.request, first.command, childSpan(undefined))).rejects.toThrow();
    expect(await claimRow(imageUID)).toBeUndefined();
    expect(await statusOf(first.request.requestId)).toBeUndefined();

    const claims = mysqlTransferClaims(pool, publishedTo(sent), TOPICS.transferRequested);
    const retry = transferAsk(imageUID);
    expect(await claims.claim('Testing', retry.request, retry.command, childSpan(undefined))).toEqual({ requestId: retry.request.requestId, status: null, imageUID });
    expect(await claimRow(imageUID)).toBe(retry.request.requestId);
    // The request records its target, so a rebuild from nothing can give the claim back.
    const [recorded] = await pool.query<RowDataPacket[]>('SELECT target_env, image_version FROM viewport_requests WHERE request_id = ?', [retry.request.requestId]);
    expect({ ...recorded[0] }).toEqual({ target_env: 'Testing', image_version: 'v1-0-00' });
    expect(await statusOf(retry.request.requestId)).toBe('accepted');
    expect(sent.map((event) => event.eventId)).toEqual([retry.command.eventId]);
  });

  it('lets concurrent requests agree on one holder and sends one command', async () => {
    const imageUID = freshImage();
    const sent: EventEnvelope[] = [];
    const claims = mysqlTransferClaims(pool, publishedTo(sent), TOPICS.transferRequested);
    const asks = Array.from({ length: 5 }, () => transferAsk(imageUID));
    const held = await Promise.all(asks.map((ask) => claims.claim('Testing', ask.request, ask.command, childSpan(undefined))));
    const holder = await claimRow(imageUID);
    expect(new Set(held.map((entry) => entry.requestId))).toEqual(new Set([holder]));
    expect(sent).toHaveLength(1);
    expect(sent[0]?.eventId).toBe(asks.find((ask) => ask.request.requestId === holder)?.command.eventId);
    const recorded = await Promise.all(asks.map((ask) => statusOf(ask.request.requestId)));
    expect(recorded.filter((status) => status !== undefined)).toEqual(['accepted']);
  });

  it('hands a failed transfer to the next request and keeps one still under way', async () => {
    const imageUID = freshImage();
    const sent: EventEnvelope[] = [];
    const claims = mysqlTransferClaims(pool, publishedTo(sent), TOPICS.transferRequested);
    const first = transferAsk(imageUID);
    await claims.claim('Testing', first.request, first.command, childSpan(undefined));
    const second = transferAsk(imageUID);
    expect(await claims.claim('Testing', second.request, second.command, childSpan(undefined))).toEqual({ requestId: first.request.requestId, status: 'accepted', imageUID });

    await pool.query("UPDATE viewport_requests SET status = 'failed' WHERE request_id = ?", [first.request.requestId]);
    const third = transferAsk(imageUID);
    expect(await claims.claim('Testing', third.request, third.command, childSpan(undefined))).toEqual({ requestId: third.request.requestId, status: null, imageUID });
    expect(await claims.find(imageUID, 'v1-0-00', 'Testing')).toEqual({ requestId: third.request.requestId, status: 'accepted', imageUID });
    expect(sent.map((event) => event.eventId)).toEqual([first.command.eventId, third.command.eventId]);
  });

  it('binds an Idempotency-Key with the claim, and refuses it with another ask under way, undoing that claim', async () => {
    const imageUID = freshImage();
    const sent: EventEnvelope[] = [];
    const claims = mysqlTransferClaims(pool, publishedTo(sent), TOPICS.transferRequested, 3600);
    const key = `ci ${randomUUID()}`;
    const first = transferAsk(imageUID);
    await claims.claim('Testing', first.request, first.command, childSpan(undefined), keyOf(imageUID, key));
    expect(await claims.findKey?.('dev1', key)).toEqual({ requestId: first.request.requestId, status: 'accepted', imageUID, imageVersion: 'v1-0-00', targetEnvironment: 'Testing', notes: null });
    expect(await claims.findKey?.('dev2', key)).toBeUndefined();

    // The same key with another target: refused, and the Staging claim and its request are undone with it.
    const other = transferAsk(imageUID, 'Staging');
    const refused = await claims.claim('Staging', other.request, other.command, childSpan(undefined), keyOf(imageUID, key, 'Staging')).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(TransferKeyTaken);
    expect((refused as TransferKeyTaken).held.requestId).toBe(first.request.requestId);
    const [staging] = await pool.query<RowDataPacket[]>("SELECT request_id FROM transfer_claims WHERE image_uid = ? AND target_env = 'Staging'", [imageUID]);
    expect(staging).toEqual([]);
    expect(await statusOf(other.request.requestId)).toBeUndefined();

    // The same ask again shares the claim and keeps the key; once that transfer failed, the key goes to the next.
    const again = transferAsk(imageUID);
    // Said, so the gateway answers it as the replay a later repeat is (a call that raced the first one bound the key after findKey).
    expect(await claims.claim('Testing', again.request, again.command, childSpan(undefined), keyOf(imageUID, key))).toMatchObject({ requestId: first.request.requestId, keyNamedItBefore: true });
    // A new key sent while another request holds the claim names that request, the one it was answered with.
    const joined = `ci ${randomUUID()}`;
    const joining = transferAsk(imageUID);
    await claims.claim('Testing', joining.request, joining.command, childSpan(undefined), keyOf(imageUID, joined));
    expect(await claims.findKey?.('dev1', joined)).toMatchObject({ requestId: first.request.requestId, status: 'accepted' });
    await pool.query("UPDATE viewport_requests SET status = 'failed' WHERE request_id = ?", [first.request.requestId]);
    const next = transferAsk(imageUID, 'Staging');
    await claims.claim('Staging', next.request, next.command, childSpan(undefined), keyOf(imageUID, key, 'Staging'));
    expect(await claims.findKey?.('dev1', key)).toMatchObject({ requestId: next.request.requestId, targetEnvironment: 'Staging' });
    // A key past its expiry names nothing, and is free again.
    await pool.query('UPDATE transfer_idempotency_keys SET created_at = NOW(3) - INTERVAL 2 HOUR WHERE user_login = ? AND idempotency_key = ?', ['dev1', key]);
    expect(await claims.findKey?.('dev1', key)).toBeUndefined();
    await claims.bindKey?.(keyOf(imageUID, key), first.request.requestId);
    expect(await claims.findKey?.('dev1', key)).toMatchObject({ requestId: first.request.requestId, targetEnvironment: 'Testing' });
    expect(sent.map((event) => event.eventId)).toEqual([first.command.eventId, next.command.eventId]);
    // The hourly purge removes a key past its expiry (ignored already) and keeps a live one.
    await pool.query('UPDATE transfer_idempotency_keys SET created_at = NOW(3) - INTERVAL 2 HOUR WHERE user_login = ? AND idempotency_key = ?', ['dev1', joined]);
    expect(await claims.purgeExpiredKeys?.()).toBeGreaterThanOrEqual(1);
    const [left] = await pool.query<RowDataPacket[]>('SELECT idempotency_key FROM transfer_idempotency_keys WHERE user_login = ? AND idempotency_key IN (?, ?)', ['dev1', key, joined]);
    expect(left.map((row) => row['idempotency_key'])).toEqual([key]);
  });

  it('lets concurrent calls under one new key with different asks start one transfer between them', async () => {
    const imageUID = freshImage();
    const sent: EventEnvelope[] = [];
    const claims = mysqlTransferClaims(pool, publishedTo(sent), TOPICS.transferRequested);
    const key = `race ${randomUUID()}`;
    const asks = ['Testing', 'Staging', 'Production', 'Testing'].map((target) => ({ target, ...transferAsk(imageUID, target) }));
    const outcomes = await Promise.allSettled(asks.map((ask) => claims.claim(ask.target, ask.request, ask.command, childSpan(undefined), keyOf(imageUID, key, ask.target))));
    const bound = await claims.findKey?.('dev1', key);
    expect(outcomes.filter((outcome) => outcome.status === 'rejected').every((outcome) => outcome.reason instanceof TransferKeyTaken)).toBe(true);
    expect(sent).toHaveLength(1);
    expect(sent[0]?.eventId).toBe(asks.find((ask) => ask.request.requestId === bound?.requestId)?.command.eventId);
  });
});
