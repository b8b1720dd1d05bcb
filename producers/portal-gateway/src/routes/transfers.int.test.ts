import { createMysqlPool, newImageUID, TOPICS, type EventEnvelope } from '@orbit/lib';
import type { RowDataPacket } from 'mysql2/promise';
import { afterAll, describe, expect, it } from 'vitest';
import { quietLogger, testConfig } from '../../../../test/helpers/index.js';
import { mysqlCommandOutbox } from '../stores/mysql-outbox.js';
import { mysqlTransferClaims } from '../stores/mysql-requests.js';
import { routeTestGateway, routeTestToken } from '../testing/route-gateway.js';

/**
 * POST /v1/images/{uid}/transfers on the claims and Idempotency-Keys MariaDB keeps (the rest in memory): what
 * concurrent calls are answered depends on the row locks they queue on, which no in-memory store has.
 */
const pool = createMysqlPool(testConfig.MYSQL_URL, 12);
const imageUIDs: string[] = [];
afterAll(async () => {
  if (imageUIDs.length > 0) {
    await pool.query('DELETE FROM transfer_idempotency_keys WHERE image_uid IN (?)', [imageUIDs]);
    await pool.query('DELETE FROM transfer_claims WHERE image_uid IN (?)', [imageUIDs]);
    await pool.query('DELETE FROM viewport_requests WHERE image_uid IN (?)', [imageUIDs]);
  }
  await pool.end();
});

/** A gateway over a fresh image of dev1's, v1-0-00 ready in Development; `sent`: the commands its claims publish. */
function gatewayOverFreshImage() {
  const uid = newImageUID();
  imageUIDs.push(uid);
  const sent: EventEnvelope[] = [];
  const outbox = mysqlCommandOutbox(pool, { publish: async (_topic, event) => { sent.push(event); } }, quietLogger);
  const app = routeTestGateway({
    uid,
    image: { imageUID: uid, owner: 'dev1', imageName: 'transfer-race', description: '', environments: ['Development'], versions: [{ imageVersion: 'v1-0-00', status: 'ready', environments: ['Development'] }] },
    transfers: {
      claims: mysqlTransferClaims(pool, outbox, TOPICS.transferRequested),
      publish: { transferRefused: async () => undefined },
      policy: { chain: ['Development', 'Testing', 'Staging', 'Production'], roles: new Map([['Production', 'release-manager']]) },
    },
  });
  const transfer = async (body: object, headers: Record<string, string> = {}) => {
    const response = await app.inject({
      method: 'POST', url: `/v1/images/${uid}/transfers`, headers: { ...headers, authorization: `Bearer ${await routeTestToken('dev1')}` }, payload: body,
    });
    return { status: response.statusCode, requestId: (response.json() as Record<string, unknown>)['requestId'], replayed: response.headers['idempotent-replayed'] };
  };
  return { uid, sent, transfer };
}

async function notesOf(requestId: unknown): Promise<unknown> {
  const [rows] = await pool.query<RowDataPacket[]>('SELECT notes FROM viewport_requests WHERE request_id = ?', [String(requestId)]);
  return rows[0]?.['notes'];
}

describe('POST /v1/images/{uid}/transfers sent at once with one Idempotency-Key (MariaDB)', () => {
  it('starts one transfer and answers every other call as a repeat: 200, Idempotent-Replayed, the same request (found by a review: all 202, none replayed)', async () => {
    const { sent, transfer } = gatewayOverFreshImage();
    const body = { imageVersion: 'v1-0-00', transferEnvironment: 'Testing', notes: 'rc1' };
    const answers = await Promise.all(Array.from({ length: 10 }, async () => transfer(body, { 'idempotency-key': 'ci-race-1' })));
    const started = answers.filter((answer) => answer.status === 202);
    expect(started).toHaveLength(1);
    expect(answers.filter((answer) => answer !== started[0])).toEqual(Array.from({ length: 9 }, () => ({ status: 200, requestId: started[0]?.requestId, replayed: 'true' })));
    expect(sent.map((event) => (event as EventEnvelope & { requestId: string }).requestId)).toEqual([started[0]?.requestId]);
    // A repeat afterwards is answered the same.
    expect(await transfer(body, { 'idempotency-key': 'ci-race-1' })).toEqual({ status: 200, requestId: started[0]?.requestId, replayed: 'true' });
  });

  it('answers a keyed call that joins a transfer started without its key 202, not as a replay; the transfer keeps the notes it was started with', async () => {
    const { sent, transfer } = gatewayOverFreshImage();
    const first = await transfer({ imageVersion: 'v1-0-00', transferEnvironment: 'Testing', notes: 'first' });
    expect(first).toMatchObject({ status: 202, replayed: undefined });
    const joined = await transfer({ imageVersion: 'v1-0-00', transferEnvironment: 'Testing', notes: 'second' }, { 'idempotency-key': 'ci-join-1' });
    expect(joined).toEqual({ status: 202, requestId: first.requestId, replayed: undefined });
    expect(await notesOf(first.requestId)).toBe('first');
    // From then on the key names that transfer, sent with its own notes.
    expect(await transfer({ imageVersion: 'v1-0-00', transferEnvironment: 'Testing', notes: 'second' }, { 'idempotency-key': 'ci-join-1' })).toEqual({ status: 200, requestId: first.requestId, replayed: 'true' });
    expect(sent).toHaveLength(1);
  });
});
