import { childSpan, databaseOf, envelopeFor, TOPICS, type ConsumedMessage } from '@orbit/lib';
import { type OrbitEvent, type PipelineFailed } from '@orbit/schemas';
import type { Pool, RowDataPacket } from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { projectorBatchHandler } from '../../../../consumers/viewport-projector/src/handle.js';
import { quietLogger, testConfig, uniqueSuffix } from '../../../../test/helpers/index.js';
import { privateViewport, type PrivateViewport } from '../../../../test/helpers/viewport-db.js';
import type { AcceptedRequest } from '../ports.js';
import { mysqlCommandOutbox } from './mysql-outbox.js';
import { mysqlRequestStore } from './mysql-requests.js';

const REQUEST_COLUMNS = 'request_id, kind, image_uid, image_version, target_env, notes, user_login, status, error_code, error_message, error_pid, created_at, updated_at';

let gateway: PrivateViewport;
let fromNothing: PrivateViewport;

beforeAll(async () => {
  gateway = await privateViewport('refused');
  fromNothing = await privateViewport('refused0');
  await gateway.pool.query(`CREATE TABLE gateway_outbox LIKE \`${databaseOf(testConfig.MYSQL_URL)}\`.gateway_outbox`);
});

afterAll(async () => {
  await gateway.drop();
  await fromNothing.drop();
});

async function rowOf(pool: Pool, requestId: string): Promise<Record<string, unknown> | undefined> {
  const [rows] = await pool.query<RowDataPacket[]>(`SELECT ${REQUEST_COLUMNS} FROM viewport_requests WHERE request_id = ?`, [requestId]);
  return rows[0] ? { ...rows[0] } : undefined;
}

/** Projects the event as the live projector does (a batch of one), announcing nothing. */
async function project(pool: Pool, event: PipelineFailed): Promise<void> {
  const message: ConsumedMessage<OrbitEvent> = {
    topic: TOPICS.pipelineFailed, partition: 0, offset: '0', key: event.imageUID, event, headers: {}, trace: childSpan(undefined), log: quietLogger, signal: new AbortController().signal,
  };
  await projectorBatchHandler({ pool, groupId: `refused-${uniqueSuffix()}`, publisher: { publish: async () => undefined } })([message]);
}

/** A transfer the gateway refuses 403 ROLE_REQUIRED, as routes/transfers.ts records it. */
function refusedTransfer(): { event: PipelineFailed; request: AcceptedRequest } {
  const requestId = `req-${uniqueSuffix()}`;
  const imageUID = `img${uniqueSuffix()}`;
  const actor = { username: `dev-${uniqueSuffix()}`, firstName: null, lastName: null, email: null };
  const event: PipelineFailed = {
    ...envelopeFor('transferFailed', { correlationId: requestId, imageUID, actor }), requestId, flow: 'transfer', stage: 'request',
    reasonCode: 'ROLE_REQUIRED', message: 'promoting into Production needs the release-manager role', failedEventId: null, imageVersion: 'v1-0-00', targetEnvironment: 'Production',
  };
  return { event, request: { requestId, kind: 'transfer', imageUID, imageVersion: 'v1-0-00', owner: actor.username, notes: 'go', targetEnvironment: 'Production' } };
}

describe('a refusal the gateway records as a request', () => {
  it('reads failed with its code at once, before the projector sees its PipelineFailed, which then changes nothing', async () => {
    const { event, request } = refusedTransfer();
    await mysqlCommandOutbox(gateway.pool, { publish: async () => undefined }, quietLogger).send(TOPICS.pipelineFailed, event, childSpan(undefined), request);

    // 1. As GET /v1/requests/{id} reads it right after the 403: it read accepted, no error, for ~100 ms.
    const read = await mysqlRequestStore(gateway.pool).get(event.requestId);
    expect([read?.status, read?.error]).toEqual(['failed', { code: 'ROLE_REQUIRED', message: event.message, pid: event.pid }]);
    // Accepted when its one step happened, not when the row was committed after it.
    expect(read?.createdAt?.getTime()).toBe(event.occurredAt);
    const recorded = await rowOf(gateway.pool, event.requestId);

    // 2. The projector's later write of the same event leaves the row as it is.
    await project(gateway.pool, event);
    expect(await rowOf(gateway.pool, event.requestId)).toEqual(recorded);

    // 3. A projection from nothing (a rebuild giving lost rows back) writes the same row; notes are not in the event.
    await project(fromNothing.pool, event);
    expect(await rowOf(fromNothing.pool, event.requestId)).toEqual({ ...recorded, notes: null });
  });

  it('stays accepted for a command that starts a request', async () => {
    const { event, request } = refusedTransfer();
    // Its step a minute before the commit: the row is dated by it, as the projector dates it, not by the database's
    // clock at the commit, which came after the request's own first step (found by a review).
    const occurred = new Date(Date.now() - 60_000);
    const command = { ...envelopeFor('transferRequested', { correlationId: event.requestId, imageUID: event.imageUID, actor: event.actor }, occurred), requestId: event.requestId };
    await mysqlCommandOutbox(gateway.pool, { publish: async () => undefined }, quietLogger).send(TOPICS.transferRequested, command, childSpan(undefined), request);
    expect(await rowOf(gateway.pool, event.requestId)).toMatchObject({ status: 'accepted', error_code: null, error_message: null, error_pid: null, created_at: occurred, updated_at: occurred });
    expect((await mysqlRequestStore(gateway.pool).get(event.requestId))?.createdAt?.getTime()).toBe(command.occurredAt);
  });
});
