import { createMysqlPool, newImageUID, TOPICS, type EventEnvelope } from '@orbit/lib';
import type { RowDataPacket } from 'mysql2/promise';
import { afterAll, describe, expect, it } from 'vitest';
import { quietLogger, testConfig } from '../../../../test/helpers/index.js';
import { mysqlCommandOutbox } from '../stores/mysql-outbox.js';
import { mysqlTransferClaims } from '../stores/mysql-requests.js';
import type { ImageView } from '../ports.js';
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

/** A gateway over a fresh image of dev1's, v1-0-00 ready in Development unless `versions` says otherwise; `sent`: the commands its claims publish. */
function gatewayOverFreshImage(versions: ImageView['versions'] = [{ imageVersion: 'v1-0-00', status: 'ready', environments: ['Development'] }]) {
  const uid = newImageUID();
  imageUIDs.push(uid);
  const sent: EventEnvelope[] = [];
  const outbox = mysqlCommandOutbox(pool, { publish: async (_topic, event) => { sent.push(event); } }, quietLogger);
  const app = routeTestGateway({
    uid,
    image: { imageUID: uid, owner: 'dev1', imageName: 'transfer-race', description: '', environments: ['Development'], versions },
    transfers: {
      claims: mysqlTransferClaims(pool, outbox, TOPICS.transferRequested),
      publish: { transferRefused: async () => undefined },
      policy: { chain: ['Development', 'Testing', 'Staging', 'Production'], roles: new Map([['Production', 'release-manager']]) },
    },
  });
  const transfer = async (body: object, headers: Record<string, string> = {}, user = 'dev1', roles: readonly string[] = []) => {
    const response = await app.inject({
      method: 'POST', url: `/v1/images/${uid}/transfers`, headers: { ...headers, authorization: `Bearer ${await routeTestToken(user, roles)}` }, payload: body,
    });
    const answer = response.json() as Record<string, unknown>;
    return { status: response.statusCode, requestId: answer['requestId'], replayed: response.headers['idempotent-replayed'], code: answer['code'], message: answer['message'] };
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
    expect(answers.filter((answer) => answer !== started[0])).toMatchObject(Array.from({ length: 9 }, () => ({ status: 200, requestId: started[0]?.requestId, replayed: 'true' })));
    expect(sent.map((event) => (event as EventEnvelope & { requestId: string }).requestId)).toEqual([started[0]?.requestId]);
    // A repeat afterwards is answered the same.
    expect(await transfer(body, { 'idempotency-key': 'ci-race-1' })).toMatchObject({ status: 200, requestId: started[0]?.requestId, replayed: 'true' });
  });

  it('answers a keyed call that joins a transfer started without its key 202, not as a replay; the transfer keeps the notes it was started with', async () => {
    const { sent, transfer } = gatewayOverFreshImage();
    const first = await transfer({ imageVersion: 'v1-0-00', transferEnvironment: 'Testing', notes: 'first' });
    expect(first).toMatchObject({ status: 202, replayed: undefined });
    const joined = await transfer({ imageVersion: 'v1-0-00', transferEnvironment: 'Testing', notes: 'second' }, { 'idempotency-key': 'ci-join-1' });
    expect(joined).toMatchObject({ status: 202, requestId: first.requestId, replayed: undefined });
    expect(await notesOf(first.requestId)).toBe('first');
    // From then on the key names that transfer, sent with its own notes.
    expect(await transfer({ imageVersion: 'v1-0-00', transferEnvironment: 'Testing', notes: 'second' }, { 'idempotency-key': 'ci-join-1' })).toMatchObject({ status: 200, requestId: first.requestId, replayed: 'true' });
    expect(sent).toHaveLength(1);
  });
});

describe('POST /v1/images/{uid}/transfers by a release manager right after the owner asked for Staging (MariaDB claims)', () => {
  it('answers 409 NOT_IN_SOURCE_ENVIRONMENT naming the owner\'s request under way, not 404 "has no version" for a version that exists (found by a README walk)', async () => {
    // v1 is in Staging, so the release manager reads the image; v2 is in Testing, not in an environment their role reads.
    const { transfer } = gatewayOverFreshImage([
      { imageVersion: 'v1-0-00', status: 'ready', environments: ['Development', 'Testing', 'Staging'] },
      { imageVersion: 'v2-0-00', status: 'ready', environments: ['Development', 'Testing'] },
    ]);
    const manager = async (imageVersion: string, dryRun: boolean) => transfer({ imageVersion, transferEnvironment: 'Production', dryRun }, {}, 'rm1', ['release-manager']);
    expect(await manager('v2-0-00', true)).toMatchObject({ status: 404, code: 'VERSION_NOT_FOUND' });
    const staging = await transfer({ imageVersion: 'v2-0-00', transferEnvironment: 'Staging' });
    expect(staging).toMatchObject({ status: 202 });
    const notYet = {
      status: 409, code: 'NOT_IN_SOURCE_ENVIRONMENT',
      message: `v2-0-00 is still being promoted into Staging (request ${String(staging.requestId)}); it can be promoted into Production once that request succeeds`,
    };
    expect(await manager('v2-0-00', true)).toMatchObject({ ...notYet, requestId: undefined });
    expect(await manager('v2-0-00', false)).toMatchObject({ ...notYet, requestId: expect.any(String) });
    // A version that does not exist is still no version.
    expect(await manager('v9-0-00', true)).toMatchObject({ status: 404, code: 'VERSION_NOT_FOUND' });
  });
});
