import { randomUUID } from 'node:crypto';
import { childSpan, createMysqlPool, databaseOf, TOPICS } from '@orbit/lib';
import { sampleEvents, type UploadRequested } from '@orbit/schemas';
import type { Pool, RowDataPacket } from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadMigrations, migrate } from '../../../../deploy/local/src/provision/migrations.js';
import { quietLogger, testConfig, uniqueSuffix } from '../../../../test/helpers/index.js';
import { ReferenceUploadsPending, RegistryUploadsPending, type HeldRequest } from '../ports.js';
import { mysqlCommandOutbox } from './mysql-outbox.js';
import { mysqlImageNames, mysqlUploadClaims, mysqlUploadRequests } from './mysql-requests.js';

/**
 * A database of the test's own (the stack's user may create `<database>_…`), migrated to 0018, given a row of an
 * upload by reference as 0018 wrote it, then migrated to 0019: the shared database is left alone, and the
 * migration is seen to take a row from before it.
 */
const database = `${databaseOf(testConfig.MYSQL_URL)}_regcap_${uniqueSuffix()}`;
const url = new URL(testConfig.MYSQL_URL);
url.pathname = `/${database}`;
const admin = createMysqlPool(testConfig.MYSQL_URL, 1);
let pool: Pool;
const migrations = loadMigrations();
const upTo = (version: string) => migrations.filter((migration) => migration.version <= version);

const PER_OWNER = 2;
const PER_REGISTRY = 6;
const limits = { maxPendingReferenceUploads: PER_OWNER, maxPendingReferenceUploadsPerRegistry: PER_REGISTRY };
/** An owner whose upload by reference 0018 recorded, without a registry: it must count for them, and for no registry. */
const LEGACY_OWNER = 'legacy-owner';

beforeAll(async () => {
  await migrate({ url: url.toString() }, upTo('0018'));
  pool = createMysqlPool(url.toString(), 16);
  await pool.query('INSERT INTO reference_uploads (request_id, user_login) VALUES (?, ?)', ['legacy-request', LEGACY_OWNER]);
  await migrate({ url: url.toString() }, upTo('0019'));
}, 60_000);

afterAll(async () => {
  await pool?.end();
  await admin.query(`DROP DATABASE IF EXISTS \`${database}\``);
  await admin.end();
});

function stores() {
  const outbox = mysqlCommandOutbox(pool, { publish: async () => undefined }, quietLogger);
  return {
    recordUpload: mysqlUploadRequests(pool, outbox, TOPICS.uploadRequested, limits),
    keys: mysqlUploadClaims(pool, outbox, TOPICS.uploadRequested, 'upload_idempotency_keys', 3600, { oneUploadPerVersion: true, ...limits }),
    names: mysqlImageNames(pool),
  };
}

/** A registry no other test names, with a spelling of it: `Slow-….Example:0443` is `slow-….example`. */
function newRegistry(): { readonly name: string; readonly otherSpelling: string } {
  const name = `slow-${randomUUID().slice(0, 8)}.example`;
  return { name, otherSpelling: `${name.replace('slow', 'SLOW').replace('.example', '.Example')}:0443` };
}

/** An upload of a new image of the owner's (or of `imageName`) from `registry`, as the route hands it to the store once its name has its UID. */
async function upload(owner: string, registry: string, options: { readonly source?: UploadRequested['source']; readonly imageName?: string; readonly madeItsName?: boolean } = {}) {
  const { recordUpload, keys, names } = stores();
  const imageName = options.imageName ?? `app${randomUUID().slice(0, 8)}`;
  const imageUID = await names.uidFor(owner, imageName);
  const requestId = `req-${randomUUID()}`;
  const sample = sampleEvents(imageUID, requestId)[TOPICS.uploadRequested];
  const source = options.source ?? 'REFERENCE';
  const command: UploadRequested = {
    ...sample, requestId, source, metadata: { ...sample.metadata, imageName },
    ...(source === 'REFERENCE' ? { reference: `${registry}/team/${imageName}:v1`, staging: null, sizeBytes: null, sha256: null } : {}),
  };
  const request = { requestId, kind: 'upload' as const, imageUID, imageVersion: sample.metadata.imageVersion, owner, ...(options.madeItsName === undefined ? {} : { madeItsName: options.madeItsName }) };
  return {
    requestId, imageName, imageUID,
    /** Without a key (CommandPublisher.uploadRequested). */
    send: async (): Promise<string> => { await recordUpload(command, childSpan(undefined), request); return requestId; },
    /** With an Idempotency-Key: what the claim answers with. */
    sendKeyed: (key: string): Promise<HeldRequest> => keys.claim(key, request, { ...command, idempotencyKey: key }, childSpan(undefined)),
    /** The same key again, as a client's retry of this upload sends it: a new request id. */
    repeatKeyed: (key: string): Promise<HeldRequest> => keys.claim(key, { ...request, requestId: `req-${randomUUID()}` }, { ...command, idempotencyKey: key }, childSpan(undefined)),
  };
}

const newOwner = (label: string): string => `${label}-${randomUUID()}`;

async function recorded(requestIds: readonly string[]): Promise<string[]> {
  const [rows] = await pool.query<RowDataPacket[]>('SELECT request_id FROM viewport_requests WHERE request_id IN (?)', [requestIds]);
  return rows.map((row) => String(row['request_id'])).sort();
}

const ended = (requestId: string, status: 'running' | 'succeeded' | 'failed'): Promise<unknown> =>
  pool.query('UPDATE viewport_requests SET status = ? WHERE request_id = ?', [status, requestId]);

/** The registry's places taken by `count` owners of their own, one upload each: their request ids. */
async function fill(registry: string, count = PER_REGISTRY): Promise<string[]> {
  const sent: string[] = [];
  for (let index = 0; index < count; index++) sent.push(await (await upload(newOwner('regcap-filler'), registry)).send());
  return sent;
}

describe('uploads by reference one source registry may have under way, every owner\'s together (found by a review: six owners with two slow references each took every detached handler, and held other users\' uploads 24-47 s)', () => {
  it('refuses the registry\'s next one from another owner while its most are unfinished, recording nothing and holding no name, and takes one again as each ends', async () => {
    const { name } = newRegistry();
    const pending = await fill(name);
    // 1. A seventh owner, under their own limit, is refused for the registry's: the registry named, nothing recorded.
    const seventh = await upload(newOwner('regcap-seventh'), name);
    const refusal = await seventh.send().catch((error: unknown) => error);
    expect(refusal).toBeInstanceOf(RegistryUploadsPending);
    expect(refusal).toMatchObject({ registry: name, pending: PER_REGISTRY, limit: PER_REGISTRY });
    expect(await recorded([seventh.requestId])).toEqual([]);
    // 2. The name its call gave a UID is freed: nothing of the refused upload holds a name (or its version).
    const [names] = await pool.query<RowDataPacket[]>('SELECT image_uid FROM image_names WHERE image_uid = ?', [seventh.imageUID]);
    expect(names).toEqual([]);
    // 3. Another registry, and an archive of the same owner's, are not held to it.
    await (await upload(newOwner('regcap-elsewhere'), newRegistry().name)).send();
    await (await upload(newOwner('regcap-archive'), name, { source: 'ARCHIVE' })).send();
    // 4. One running still counts; one that succeeded, or failed, frees its place.
    await ended(pending[0] ?? '', 'running');
    await expect((await upload(newOwner('regcap-again'), name)).send()).rejects.toBeInstanceOf(RegistryUploadsPending);
    await ended(pending[0] ?? '', 'succeeded');
    await (await upload(newOwner('regcap-freed'), name)).send();
    await expect((await upload(newOwner('regcap-full'), name)).send()).rejects.toBeInstanceOf(RegistryUploadsPending);
    await ended(pending[1] ?? '', 'failed');
    await (await upload(newOwner('regcap-freed'), name)).send();
  });

  it('leaves the name an archive of it made when a reference of the same name sent with it is refused 429 for its registry, and accepts the archive', async () => {
    const { name } = newRegistry();
    await fill(name);
    const owner = newOwner('regcap-shared-name');
    const imageName = `sh${randomUUID().slice(0, 8)}`;
    // Both given the name's one UID (the archive's call made the row, the reference's found it): the refusal frees only a name its own call made.
    const archive = await upload(owner, name, { source: 'ARCHIVE', imageName });
    const reference = await upload(owner, name, { imageName, madeItsName: false });
    await expect(reference.send()).rejects.toBeInstanceOf(RegistryUploadsPending);
    const [kept] = await pool.query<RowDataPacket[]>('SELECT image_uid FROM image_names WHERE user_login = ? AND image_name = ?', [owner, imageName]);
    expect(kept).toEqual([{ image_uid: archive.imageUID }]);
    expect(await archive.send()).toBe(archive.requestId);
  });

  it('counts every spelling of a registry as that registry: its host in capitals, a default port, Docker Hub\'s three names', async () => {
    const { name, otherSpelling } = newRegistry();
    await fill(name);
    const spelled = await upload(newOwner('regcap-spelled'), otherSpelling);
    await expect(spelled.send()).rejects.toMatchObject({ registry: name, limit: PER_REGISTRY });
    expect(await recorded([spelled.requestId])).toEqual([]);
    // Docker Hub, whichever of its names is written: its sixth place taken under a third name refuses a seventh under any.
    const hubNames = ['docker.io', 'index.docker.io', 'registry-1.docker.io', 'Docker.IO:443', 'INDEX.docker.io', 'registry-1.docker.io:443'];
    for (const hub of hubNames) await (await upload(newOwner('regcap-hub'), hub)).send();
    for (const hub of ['index.docker.io', 'docker.io']) {
      await expect((await upload(newOwner('regcap-hub'), hub)).send()).rejects.toMatchObject({ registry: 'docker.io' });
    }
  });

  it('lets no more than the registry\'s limit through of 8 to 16 sent at once, with keys and without, by as many owners and by six owners with two each', async () => {
    for (const [owners, sent] of [[12, 12], [6, 12], [16, 16], [8, 8]] as const) {
      const { name, otherSpelling } = newRegistry();
      const ownerNames = Array.from({ length: owners }, () => newOwner('regcap-race'));
      const uploads = await Promise.all(Array.from({ length: sent }, (_, index) => upload(ownerNames[index % owners] ?? '', index % 3 === 0 ? otherSpelling : name)));
      const outcomes = await Promise.allSettled(uploads.map((each, index) => (index % 2 === 0 ? each.send() : each.sendKeyed(`key-${index}`))));
      const refused = outcomes.flatMap((outcome) => (outcome.status === 'rejected' ? [outcome.reason] : []));
      const what = `${sent} sent by ${owners} owners`;
      expect(refused.filter((reason) => !(reason instanceof RegistryUploadsPending)).map(String), what).toEqual([]);
      expect(refused, what).toHaveLength(Math.max(0, sent - PER_REGISTRY));
      expect(await recorded(uploads.map((each) => each.requestId)), what).toHaveLength(Math.min(sent, PER_REGISTRY));
    }
  });

  it('takes the owner\'s lock and the registry\'s in one order: owners sending to two registries at once are answered, none with a deadlock, each registry and owner held to its limit', async () => {
    for (let round = 0; round < 3; round++) {
      const registries = [newRegistry().name, newRegistry().name];
      const owners = Array.from({ length: 8 }, () => newOwner('regcap-cross'));
      // Each owner's two go to the two registries, in turn first: eight to each registry, two of each owner's at once.
      const uploads = await Promise.all(owners.flatMap((owner, index) => [0, 1].map((which) => upload(owner, registries[(index + which) % 2] ?? ''))));
      const outcomes = await Promise.allSettled(uploads.map((each, index) => (index % 3 === 0 ? each.sendKeyed(`key-${index}`) : each.send())));
      const refused = outcomes.flatMap((outcome) => (outcome.status === 'rejected' ? [outcome.reason] : []));
      expect(refused.filter((reason) => !(reason instanceof RegistryUploadsPending)).map(String)).toEqual([]);
      expect(refused).toHaveLength(2 * (8 - PER_REGISTRY));
      const [rows] = await pool.query<RowDataPacket[]>('SELECT registry, COUNT(*) AS taken FROM reference_uploads WHERE registry IN (?) GROUP BY registry ORDER BY registry', [registries]);
      expect(rows.map((row) => Number(row['taken']))).toEqual([PER_REGISTRY, PER_REGISTRY]);
    }
  });

  it('answers a repeat of a key whose upload is under way with that upload, not refused, though the registry has its most under way', async () => {
    const { name } = newRegistry();
    const keyed = await upload(newOwner('regcap-replay'), name);
    const held = await keyed.sendKeyed('the-key');
    await fill(name, PER_REGISTRY - 1);
    const again = await keyed.repeatKeyed('the-key');
    expect(again.requestId).toBe(held.requestId);
    // A new key is new work: refused.
    await expect((await upload(newOwner('regcap-replay'), name)).sendKeyed('another-key')).rejects.toBeInstanceOf(RegistryUploadsPending);
  });

  it('still holds each owner to their own limit, across registries, and counts an owner\'s upload from before migration 0019 for them and for no registry', async () => {
    const owner = newOwner('regcap-owner');
    await (await upload(owner, newRegistry().name)).send();
    await (await upload(owner, newRegistry().name)).send();
    await expect((await upload(owner, newRegistry().name)).send()).rejects.toBeInstanceOf(ReferenceUploadsPending);
    // 0018's row: not projected, so unfinished; one more place for its owner, whose registry it does not take.
    const [legacy] = await pool.query<RowDataPacket[]>('SELECT registry FROM reference_uploads WHERE request_id = ?', ['legacy-request']);
    expect(legacy).toEqual([{ registry: null }]);
    const { name } = newRegistry();
    await (await upload(LEGACY_OWNER, name)).send();
    await expect((await upload(LEGACY_OWNER, name)).send()).rejects.toMatchObject({ pending: ['legacy-request', expect.any(String)], limit: PER_OWNER });
    await fill(name, PER_REGISTRY - 1);
    await expect((await upload(newOwner('regcap-after-legacy'), name)).send()).rejects.toBeInstanceOf(RegistryUploadsPending);
  });
});
