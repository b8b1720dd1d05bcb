/**
 * The ViewPort database lost under a running pipeline, as when a disk or a
 * managed instance is gone and is created again empty: while it is missing
 * the gateway answers 503 ORBIT_ERR_STORE_UNAVAILABLE; once it is provisioned
 * empty, 503 ORBIT_ERR_PROJECTION_LOST (on empty tables it would answer every
 * earlier request 404 and give an existing image name a second UID). The
 * rebuild, with no option, brings back the projection the history makes and
 * the gateway's rows: earlier requests answer, a repeated transfer and an
 * upload sent again with its Idempotency-Key find their requests, the next
 * version of a name joins its image.
 */
import { readFileSync } from 'node:fs';
import { createMysqlPool, databaseOf } from '@orbit/lib';
import { provisionAll, readProvisionConfig, stopPipeline } from '@orbit/local-stack';
import type { RowDataPacket } from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { projectionChecksum } from '../../consumers/viewport-projector/src/checksum.js';
import { api, finished, uploadArchive, type Accepted, type ApiAnswer } from '../helpers/gateway.js';
import { buildImage, type BuiltImage } from '../helpers/images.js';
import { quietLogger, testConfig, uniqueSuffix, waitFor } from '../helpers/index.js';
import { rebuildLiveViewport, settledChecksum, startPipelineOnItsHistory } from '../helpers/viewport-db.js';

const USER = `lost-${uniqueSuffix()}`;
const NAME = 'lost-and-found';
let image: BuiltImage;
let archive: Buffer;
const mysql = createMysqlPool(testConfig.MYSQL_URL, 2);

beforeAll(async () => {
  image = buildImage({ name: 'orbit-e2e/lost', tag: '1', exposedPort: '8080/tcp', entrypoint: ['/bin/app'], layers: [{ files: { 'bin/app': 'app' } }] });
  archive = readFileSync(image.ociArchive);
  await startPipelineOnItsHistory(mysql);
}, 240_000);

afterAll(async () => {
  await stopPipeline();
  await mysql.end();
  image?.cleanup();
});

const rebuild = (): Promise<void> => rebuildLiveViewport(mysql);

const IDEMPOTENCY_KEY = `lost-${uniqueSuffix()}`;
const upload = (version: string): Promise<ApiAnswer<Accepted>> => uploadArchive(USER, archive, { imageName: NAME, imageVersion: version, port: 8080 }, { idempotencyKey: `${IDEMPOTENCY_KEY}-${version}` });
const transfer = (imageUID: string): Promise<ApiAnswer<Accepted & { code?: string }>> => api(USER, `/v1/images/${imageUID}/transfers`, {
  method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ imageVersion: 'v1-0-00', transferEnvironment: 'Testing' }),
});
const code = (answer: ApiAnswer<object>): unknown => (answer.body as { code?: unknown }).code;

describe('the ViewPort database lost under a running pipeline', () => {
  it('refuses requests until the rebuild, which brings back the projection, the requests and the names without options', async () => {
    const uploaded = await upload('v1-0-00');
    expect((await finished(USER, uploaded.body.requestId)).status).toBe('succeeded');
    const { imageUID } = uploaded.body;
    const promoted = await transfer(imageUID);
    expect(promoted.status).toBe(202);
    expect((await finished(USER, promoted.body.requestId)).status).toBe('succeeded');
    const before = await settledChecksum(mysql);

    // On a connection of its own: the session that drops a database is left with none selected.
    const dropper = createMysqlPool(testConfig.MYSQL_URL, 1);
    await dropper.query(`DROP DATABASE \`${databaseOf(testConfig.MYSQL_URL)}\``).finally(() => dropper.end());
    const missing = await api(USER, `/v1/requests/${uploaded.body.requestId}`);
    expect([missing.status, code(missing)]).toEqual([503, 'ORBIT_ERR_STORE_UNAVAILABLE']);

    await provisionAll(readProvisionConfig(), quietLogger);
    // At once, not only after the gateway's next look (every 2 s): a miss is looked at again before it is answered.
    const early = await api(USER, `/v1/requests/${uploaded.body.requestId}`);
    expect([early.status, code(early)]).toEqual([503, 'ORBIT_ERR_PROJECTION_LOST']);
    const lost = await waitFor(async () => {
      const answer = await api(USER, `/v1/requests/${uploaded.body.requestId}`);
      return answer.status === 503 && code(answer) === 'ORBIT_ERR_PROJECTION_LOST' ? answer : undefined;
    }, { timeoutMs: 20_000, intervalMs: 250, what: 'the gateway to see the projection lost' });
    expect(lost.status).toBe(503);
    // Nothing is accepted meanwhile: not a second UID for the name, not a transfer.
    const refused = await upload('v2-0-00');
    expect([refused.status, code(refused)]).toEqual([503, 'ORBIT_ERR_PROJECTION_LOST']);
    const [names] = await mysql.query<RowDataPacket[]>('SELECT COUNT(*) AS n FROM image_names WHERE user_login = ?', [USER]);
    expect(Number(names[0]?.['n'])).toBe(0);

    await rebuild();
    expect((await projectionChecksum(mysql)).sha256).toBe(before);
    const back = await waitFor(async () => {
      const answer = await api<{ status: string }>(USER, `/v1/requests/${uploaded.body.requestId}`);
      return answer.status === 200 ? answer : undefined;
    }, { timeoutMs: 20_000, intervalMs: 250, what: 'the gateway to accept requests again' });
    expect(back.body.status).toBe('succeeded');
    // The promotion's request is back: a repeat answers with it, no work done again.
    const repeated = await transfer(imageUID);
    expect([repeated.status, repeated.body.requestId]).toEqual([200, promoted.body.requestId]);
    // So is the upload's Idempotency-Key: the upload sent again is its first request, not a second one failing NAME_CONFLICT.
    const resent = await upload('v1-0-00');
    expect([resent.status, resent.body.requestId]).toEqual([200, uploaded.body.requestId]);
    // The name kept its UID: the next version joins the image.
    const next = await upload('v2-0-00');
    expect(next.status).toBe(202);
    expect(next.body.imageUID).toBe(imageUID);
    expect((await finished(USER, next.body.requestId)).status).toBe('succeeded');
  }, 420_000);
});
