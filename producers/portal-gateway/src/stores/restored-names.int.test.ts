import { randomUUID } from 'node:crypto';
import { childSpan, databaseOf, TOPICS } from '@orbit/lib';
import { sampleEvents, type ImageStored, type UploadRequested } from '@orbit/schemas';
import type { Pool, RowDataPacket } from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { projectorBatchHandler } from '../../../../consumers/viewport-projector/src/handle.js';
import { quietLogger, testConfig } from '../../../../test/helpers/index.js';
import { privateViewport, type PrivateViewport } from '../../../../test/helpers/viewport-db.js';
import { NAME_RECORDING_SECONDS } from './chart-name-holders.js';
import { mysqlCommandOutbox } from './mysql-outbox.js';
import { mysqlImageNames, mysqlUploadRequests } from './mysql-requests.js';

// A private ViewPort: the projector writes image rows, which would count in the stack's own projection checksum.
let viewport: PrivateViewport;
let pool: Pool;
beforeAll(async () => {
  viewport = await privateViewport('s45fn');
  pool = viewport.pool;
  // Where an accepted upload's command is recorded beside its request (no rebuild copies it).
  await pool.query(`CREATE TABLE gateway_outbox LIKE \`${databaseOf(testConfig.MYSQL_URL)}\`.gateway_outbox`);
});
afterAll(async () => { await viewport.drop(); });

const newOwner = (): string => `s45fn-${randomUUID()}`;

/** Records an upload's request as the route does once its name has its UID (request rows are dated by the command's occurredAt). */
async function acceptUpload(owner: string, imageName: string, imageUID: string, imageVersion = 'v1-0-00'): Promise<string> {
  const requestId = `req-${randomUUID()}`;
  const sample = sampleEvents(imageUID, requestId)[TOPICS.uploadRequested];
  const command: UploadRequested = { ...sample, requestId, occurredAt: Date.now(), actor: { ...sample.actor, username: owner }, metadata: { ...sample.metadata, imageName, imageVersion } };
  const record = mysqlUploadRequests(pool, mysqlCommandOutbox(pool, { publish: async () => undefined }, quietLogger), TOPICS.uploadRequested);
  await record(command, childSpan(undefined), { requestId, kind: 'upload', imageUID, imageVersion, owner });
  return requestId;
}

/** The image's first version stored, applied by the projector as the pipeline would (wp_image_uid gets the owner and name). */
async function projectStored(owner: string, imageName: string, imageUID: string, requestId: string): Promise<void> {
  const sample = sampleEvents(imageUID, requestId)[TOPICS.imageStored];
  const event: ImageStored = { ...sample, requestId, actor: { ...sample.actor, username: owner }, metadata: { ...sample.metadata, imageName } };
  const projector = projectorBatchHandler({ pool, groupId: `s45fn-${randomUUID()}`, publisher: { publish: async () => undefined } });
  await projector([{ topic: TOPICS.imageStored, partition: 0, offset: '0', key: imageUID, event, headers: {}, trace: childSpan(undefined), log: quietLogger, signal: new AbortController().signal }]);
}

async function nameRows(owner: string): Promise<{ image_name: string; image_uid: string; chart_name: string | null }[]> {
  const [rows] = await pool.query<RowDataPacket[]>('SELECT image_name, image_uid, chart_name FROM image_names WHERE user_login = ? ORDER BY image_name', [owner]);
  return rows.map((row) => ({ image_name: String(row['image_name']), image_uid: String(row['image_uid']), chart_name: row['chart_name'] === null ? null : String(row['chart_name']) }));
}

describe('an image name whose image_names row a partial restore lost, ViewPort having its image (a disaster-recovery review: its next upload got a second UID)', () => {
  it('keeps its UID: the next upload, and uploads of it at once, get the UID ViewPort has, and the name\'s row is written back', async () => {
    const names = mysqlImageNames(pool);
    const owner = newOwner();
    const imageUID = await names.uidFor(owner, 'billing-api');
    await projectStored(owner, 'billing-api', imageUID, await acceptUpload(owner, 'billing-api', imageUID));
    // The restore: ViewPort's row projected again from Kafka, the gateway's name row not given back.
    await pool.query('DELETE FROM image_names WHERE user_login = ?', [owner]);

    const looks = await Promise.all([names.uidMade?.(owner, 'billing-api'), names.uidMade?.(owner, 'billing-api'), names.peek(owner, 'billing-api')]);
    expect(looks).toEqual([{ imageUID, made: false }, { imageUID, made: false }, imageUID]);
    expect(await nameRows(owner)).toEqual([{ image_name: 'billing-api', image_uid: imageUID, chart_name: 'billing-api' }]);
    // v2 is recorded under it (the image's name row is there to lock), and stays one image.
    await acceptUpload(owner, 'billing-api', imageUID, 'v2-0-00');
    const [images] = await pool.query<RowDataPacket[]>('SELECT COUNT(*) AS n FROM wp_image_uid WHERE user_login = ?', [owner]);
    expect(Number(images[0]?.['n'])).toBe(1);
    // Names compare as image_names compares them (utf8mb4_bin): another spelling is another name, refused its chart name.
    await expect(names.peek(owner, 'Billing-API')).rejects.toMatchObject({ holder: 'billing-api', holderStored: true });
  });

  it('gives the name back its chart name unless another name that holds it took it meanwhile, and the oldest of two UIDs a name was given', async () => {
    const names = mysqlImageNames(pool);
    const owner = newOwner();
    const stored = async (imageName: string, imageUID: string, at = 'NOW(3)'): Promise<void> => {
      await pool.query(`INSERT INTO wp_image_uid (image_uid, post_id, user_login, image_name, created_at, updated_at) VALUES (?, 1, ?, ?, ${at}, ${at})`, [imageUID, owner, imageName]);
    };
    // After the restore, a twin took the chart name while the stored name had no row, and its upload is under way: it keeps it.
    const held = 'H'.repeat(60);
    await stored('web.app', held);
    const twin = await names.uidFor(owner, 'web_app');
    await acceptUpload(owner, 'web_app', twin);
    expect(await names.uidFor(owner, 'web.app')).toBe(held);
    // A twin that holds nothing (no request, past the time one takes to be recorded) gives it up instead.
    const freed = 'F'.repeat(60);
    await stored('api.app', freed);
    const unheld = await names.uidFor(owner, 'api_app');
    await pool.query(`UPDATE image_names SET created_at = NOW(3) - INTERVAL ${NAME_RECORDING_SECONDS + 1} SECOND WHERE image_uid = ?`, [unheld]);
    expect(await names.peek(owner, 'api.app')).toBe(freed);
    // A name given two UIDs before (an upload after the loss): the older keeps it, as a rebuild gives it back.
    await stored('jobs', 'N'.repeat(60), 'NOW(3)');
    await stored('jobs', 'O'.repeat(60), 'NOW(3) - INTERVAL 1 DAY');
    expect(await names.uidFor(owner, 'jobs')).toBe('O'.repeat(60));
    expect(await nameRows(owner)).toEqual([
      { image_name: 'api.app', image_uid: freed, chart_name: 'api-app' },
      { image_name: 'jobs', image_uid: 'O'.repeat(60), chart_name: 'jobs' },
      { image_name: 'web.app', image_uid: held, chart_name: null },
      { image_name: 'web_app', image_uid: twin, chart_name: 'web-app' },
    ]);
  });
});
