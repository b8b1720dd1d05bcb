import { randomUUID } from 'node:crypto';
import { childSpan, createKafka, createMysqlPool, databaseOf, EventCodec, EventPublisher, newImageUID, PROJECTED_TOPICS, setGroupOffsets, TOPICS, type ConsumedMessage, type EventEnvelope, type Kafka } from '@orbit/lib';
import { loadSchemas, sampleEvents, type OrbitEvent, type UploadRequested } from '@orbit/schemas';
import type { RowDataPacket } from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestTopics, quietLogger, testConfig, uniqueSuffix, waitFor } from '../../../test/helpers/index.js';
import { privateLifecycleTopics } from '../../../test/helpers/lifecycle-topics.js';
import { privateViewport, type PrivateViewport } from '../../../test/helpers/viewport-db.js';
import {
  deleteIdleRebuildGroups, HistoryTruncatedError, ProjectionMissingError, RebuildInterruptedError, rebuildLockName, rebuildProjection, RebuildRunningError, SwapBlockedError, type RebuildDeps,
} from './rebuild.js';
import { passDeadLetters, projectorBatchHandler } from './handle.js';
import { ProjectionLostError } from './offsets.js';

let viewport: PrivateViewport;
let deps: RebuildDeps;

beforeAll(async () => {
  viewport = await privateViewport('lock');
  const url = new URL(testConfig.MYSQL_URL);
  url.pathname = `/${viewport.database}`;
  deps = {
    // No client retries: the missing topic below should fail the rebuild at once.
    kafka: createKafka({ clientId: 'rebuild-lock-test', brokers: testConfig.KAFKA_BROKERS, logger: quietLogger, retries: 0 }), codec: new EventCodec(testConfig.SCHEMA_REGISTRY_URL, loadSchemas()), pool: viewport.pool, mysqlUrl: url.toString(),
    topics: [`orbit.no-such-topic-${viewport.database}`], liveGroup: 'viewport-projector-lock-test', publisher: { publish: async () => undefined }, logger: quietLogger,
  };
});

afterAll(async () => {
  await viewport.drop();
});

describe('one rebuild at a time', () => {
  it('refuses a second rebuild of the same database while one holds it, without touching its shadow', async () => {
    const running = await viewport.pool.getConnection();
    try {
      await running.query('SELECT GET_LOCK(?, 0)', [rebuildLockName(viewport.database)]);
      await running.query(`CREATE DATABASE \`${viewport.database}_rebuild\``);
      await expect(rebuildProjection(deps)).rejects.toBeInstanceOf(RebuildRunningError);
      const [shadow] = await running.query<RowDataPacket[]>('SELECT SCHEMA_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?', [`${viewport.database}_rebuild`]);
      expect(shadow).toHaveLength(1);
    } finally {
      await running.query(`DROP DATABASE IF EXISTS \`${viewport.database}_rebuild\``);
      await running.query('SELECT RELEASE_LOCK(?)', [rebuildLockName(viewport.database)]);
      running.release();
    }
  });

  it('lets go of the lock when a rebuild fails, so the next one can run', async () => {
    await expect(rebuildProjection(deps)).rejects.not.toBeInstanceOf(RebuildRunningError);
    const [rows] = await viewport.pool.query<RowDataPacket[]>('SELECT IS_FREE_LOCK(?) AS free', [rebuildLockName(viewport.database)]);
    expect(Number(rows[0]?.['free'])).toBe(1);
    await viewport.pool.query(`DROP DATABASE IF EXISTS \`${viewport.database}_rebuild\``);
  });
});

/** Private copies of the projected topics with a publisher on them, and a private ViewPort (and its URL) to rebuild. */
async function replayFixture(label: string) {
  const copies = await privateLifecycleTopics(`rebuild-${label}`, PROJECTED_TOPICS);
  const publisher = await EventPublisher.connect(copies.kafka, copies.codec, quietLogger);
  const live = await privateViewport(label);
  const url = new URL(testConfig.MYSQL_URL);
  url.pathname = `/${live.database}`;
  return { ...copies, publisher, live, url };
}

describe('a history that is no longer whole', () => {
  it('refuses to rebuild from a topic that lost its first events, and leaves the live projection alone', async () => {
    const { kafka, codec, topics, named, lifecycleTopicOf, publisher, live, url } = await replayFixture('truncated');
    const admin = kafka.admin();
    await admin.connect();
    try {
      for (const _round of ['first', 'second']) {
        const events = sampleEvents(newImageUID(), randomUUID());
        await publisher.publish(named(TOPICS.imageStored), events[TOPICS.imageStored]);
      }
      // As retention would: the first ImageStored is gone, its image still in the live projection.
      await admin.fetchTopicMetadata({ topics: [named(TOPICS.imageStored)] });
      await admin.deleteTopicRecords({ topic: named(TOPICS.imageStored), partitions: [{ partition: 0, offset: '1' }] });
      await live.pool.query("INSERT INTO wp_image_uid (image_uid, post_id, user_login, image_name, created_at, updated_at) VALUES (?, 1, 'dev1', 'kept', NOW(3), NOW(3))", [newImageUID()]);

      const refused = rebuildProjection({
        kafka, codec, pool: live.pool, mysqlUrl: url.toString(), topics, liveGroup: `viewport-projector-${uniqueSuffix()}`,
        publisher: { publish: async () => undefined }, logger: quietLogger, lifecycleTopicOf,
      });
      await expect(refused).rejects.toBeInstanceOf(HistoryTruncatedError);
      await expect(refused).rejects.toThrow(`${named(TOPICS.imageStored)}/0 starts at offset 1`);
      const [kept] = await live.pool.query<RowDataPacket[]>('SELECT image_name FROM wp_image_uid');
      expect(kept.map((row) => row['image_name'])).toEqual(['kept']);
      const [shadows] = await live.pool.query<RowDataPacket[]>('SELECT SCHEMA_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME IN (?, ?)', [`${live.database}_rebuild`, `${live.database}_previous`]);
      expect(shadows).toHaveLength(0);
    } finally {
      await admin.disconnect();
      await publisher.disconnect();
      await live.drop();
    }
  });
});

describe('a rebuild while traffic goes on', () => {
  it('applies what arrives during the replay with all its effects (request status, ViewportUpdated), not silently in the shadow', async () => {
    const { kafka, codec, topics, named, lifecycleTopicOf, publisher, live, url } = await replayFixture('during');
    const announced: EventEnvelope[] = [];
    const upload = async (_label: string): Promise<string> => {
      const events = sampleEvents(newImageUID(), randomUUID());
      await live.pool.query("INSERT INTO viewport_requests (request_id, kind, image_uid, user_login, status, created_at, updated_at) VALUES (?, 'upload', ?, 'dev1', 'accepted', NOW(3), NOW(3))",
        [events['orbit.image.stored'].requestId, events['orbit.image.stored'].imageUID]);
      for (const topic of [TOPICS.imageValidated, TOPICS.imageStored, TOPICS.chartGenerated] as const) await publisher.publish(named(topic), events[topic]);
      return events['orbit.image.stored'].requestId;
    };
    const statusOf = async (requestId: string): Promise<string> => {
      const [rows] = await live.pool.query<RowDataPacket[]>('SELECT status FROM viewport_requests WHERE request_id = ?', [requestId]);
      return String(rows[0]?.['status']);
    };
    try {
      const before = await upload('before');
      // The replay checks whether it has caught up every 5 s; an upload sent once the shadow holds the history reaches its consumer well before that.
      const rebuilding = rebuildProjection({
        kafka: createKafka({ clientId: `rebuild-${uniqueSuffix()}`, brokers: testConfig.KAFKA_BROKERS, logger: quietLogger }), codec, pool: live.pool, mysqlUrl: url.toString(),
        topics, liveGroup: 'viewport-projector-during-test', logger: quietLogger, pollMs: 5_000, lifecycleTopicOf,
        publisher: { publish: async (_topic, event) => { announced.push(event); } },
      });
      // The shadow has applied the history, so the replay's end offsets were taken before the next upload exists.
      await waitFor(async () => {
        const [rows] = await live.pool.query<RowDataPacket[]>(`SELECT COUNT(*) AS n FROM \`${live.database}_rebuild\`.viewport_applied_offsets`).catch(() => [[{ n: 0 }] as RowDataPacket[]]);
        return Number(rows[0]?.['n']) >= 3 ? true : undefined;
      }, { what: 'the shadow to hold the history', timeoutMs: 30_000, intervalMs: 50 });
      // Something nobody can decode arrives after the snapshot: it is the tail's to set aside, with a letter, as the live projector would.
      await publisher.sendRaw(named(TOPICS.imageStored), [{ key: 'garbage', value: Buffer.from('not avro at all') }]);
      const during = await upload('during');
      const report = await rebuilding;

      expect(report.eventsReplayed).toBe(3);
      expect(report.catchUpEvents).toBe(3);
      // The live database kept its requests: nothing to give back but the name it never had here (both images are dev1's billing-api).
      expect(report.restored).toEqual({ requests: 0, imageNames: 1, transferClaims: 0, uploadClaims: 0 });
      // The history's request was finished by the live projector long ago (here: never, so the rebuild leaves it as it was);
      // the one that arrived during the rebuild is applied with its effects, as the live projector would have.
      expect(await statusOf(before)).toBe('accepted');
      expect(await statusOf(during)).toBe('succeeded');
      expect(announced.filter((event) => (event as EventEnvelope & { requestId?: string }).requestId === during)).toHaveLength(3);
      expect(report.skipped).toEqual([{ at: `${named(TOPICS.imageStored)}/0@1`, code: expect.stringMatching(/^ORBIT_ERR_/) }]);
      const admin = kafka.admin();
      await admin.connect();
      const [letters] = await admin.fetchTopicOffsets(`${named(TOPICS.imageStored)}.dlq`);
      await admin.disconnect();
      expect(letters?.high, 'one dead letter, from the tail').toBe('1');
    } finally {
      await publisher.disconnect();
      await live.drop();
    }
  }, 60_000);
});

describe('a rebuild while the live projector goes on', () => {
  it('levels the shadow with what the live projector applied meanwhile before the swap, so ViewPort never goes back (found by a probe: succeeded images answered 404 after a swap)', async () => {
    const { kafka, codec, topics, named, lifecycleTopicOf, publisher, live, url } = await replayFixture('level');
    const liveGroup = `viewport-projector-${uniqueSuffix()}`;
    const announced: EventEnvelope[] = [];
    const announce = { publish: async (_topic: string, event: EventEnvelope) => { announced.push(event); } };
    const projector = projectorBatchHandler({ pool: live.pool, groupId: liveGroup, publisher: announce });
    const delivered = (topic: string, offset: number, event: OrbitEvent): ConsumedMessage<OrbitEvent> => ({
      topic, partition: 0, offset: String(offset), key: event.imageUID, event, headers: {}, trace: childSpan(undefined), log: quietLogger, signal: new AbortController().signal,
    });
    const stages = [TOPICS.imageValidated, TOPICS.imageStored, TOPICS.chartGenerated] as const;
    /** Published and projected into the live tables at `offset`, as the live projector does. */
    const upload = async (label: string, offset: number) => {
      const events = sampleEvents(newImageUID(), randomUUID());
      await live.pool.query("INSERT INTO viewport_requests (request_id, kind, image_uid, user_login, status, created_at, updated_at) VALUES (?, 'upload', ?, 'dev1', 'accepted', NOW(3), NOW(3))",
        [events[TOPICS.imageStored].requestId, events[TOPICS.imageStored].imageUID]);
      for (const topic of stages) {
        await publisher.publish(named(topic), events[topic]);
        await projector([delivered(topic, offset, events[topic])]);
      }
      return events[TOPICS.imageStored];
    };
    /** The owners' marks (migration 0020) of `database`, by owner. */
    const marksIn = async (database: string): Promise<Map<string, bigint>> => {
      const [rows] = await live.pool.query<RowDataPacket[]>(`SELECT user_login, CAST(mark AS CHAR) AS mark FROM \`${database}\`.viewport_owner_marks`);
      return new Map(rows.map((row) => [String(row['user_login']), BigInt(String(row['mark']))]));
    };
    try {
      const { actor: { username: owner } } = await upload('before', 0);
      const markedBefore = (await marksIn(live.database)).get(owner);
      expect(markedBefore).toBeDefined();
      // Two connections, as the e2e helper's pool has: the rebuild lock holds one, and the gate must not take the other.
      const small = createMysqlPool(url.toString(), 2);
      const rebuilding = rebuildProjection({ kafka, codec, pool: small, mysqlUrl: url.toString(), topics, liveGroup, publisher: announce, logger: quietLogger, lifecycleTopicOf, pollMs: 2_000 })
        .finally(() => small.end());
      await waitFor(async () => {
        const [rows] = await live.pool.query<RowDataPacket[]>(`SELECT COUNT(*) AS n FROM \`${live.database}_rebuild\`.viewport_applied_offsets`).catch(() => [[{ n: 0 }] as RowDataPacket[]]);
        return Number(rows[0]?.['n']) >= 3 ? true : undefined;
      }, { what: 'the shadow to hold the history', timeoutMs: 30_000, intervalMs: 50 });
      // Committed in the live tables while the shadow replays: the swapped-in tables must hold it too.
      const during = await upload('during', 1);
      const report = await rebuilding;
      // Before: the swap put in tables without it (catchUpEvents 3, applied again after the swap); now the shadow took it before the swap.
      expect([report.eventsReplayed, report.catchUpEvents]).toEqual([6, 0]);
      const [rows] = await live.pool.query<RowDataPacket[]>('SELECT COUNT(*) AS n FROM wp_image_uid WHERE image_uid = ?', [during.imageUID]);
      expect(Number(rows[0]?.['n'])).toBe(1);
      // Announced once, by the live projector: nothing applied twice.
      expect(announced.filter((event) => (event as EventEnvelope & { requestId?: string }).requestId === during.requestId)).toHaveLength(3);
      // The owners' marks were rebuilt and swapped in with the rest: new values, later than any the live tables had
      // (the gateway renders every index again from the tables swapped in), and the live ones went to the previous copy.
      const swappedOut = await marksIn(`${live.database}_previous`);
      const markedLive = swappedOut.get(owner);
      expect(markedLive).toBeDefined();
      expect(markedLive).not.toBe(markedBefore);
      const swappedIn = (await marksIn(live.database)).get(owner);
      expect(swappedIn).toBeDefined();
      expect(swappedIn! > markedLive!).toBe(true);
    } finally {
      await publisher.disconnect();
      await live.drop();
    }
  }, 60_000);
});

describe('a rebuild from nothing', () => {
  it('gives back the requests, image names, transfer and upload claims a lost database had, and changes no name that is there', async () => {
    const { topics, named, lifecycleTopicOf, publisher, live, url, kafka, codec } = await replayFixture('nothing');
    await createTestTopics(kafka, [named(TOPICS.uploadRequested)]);
    const imageUID = newImageUID();
    const upload = sampleEvents(imageUID, randomUUID());
    const transferId = randomUUID();
    const rejected = sampleEvents(newImageUID(), randomUUID());
    const kept = sampleEvents(newImageUID(), randomUUID());
    const keptStored = { ...kept[TOPICS.imageStored], actor: { ...kept[TOPICS.imageStored].actor, username: 'dev2' } };
    try {
      for (const topic of [TOPICS.imageValidated, TOPICS.imageStored, TOPICS.chartGenerated] as const) await publisher.publish(named(topic), upload[topic]);
      const promoted = { ...upload[TOPICS.chartPromoted], requestId: transferId, correlationId: transferId };
      await publisher.publish(named(TOPICS.chartPromoted), promoted);
      await publisher.publish(named(TOPICS.imageRejected), rejected[TOPICS.imageRejected]);
      // A promotion the gateway refused (it skipped an environment): its request comes back with the version it named.
      const refusedId = randomUUID();
      const refused = { ...upload[TOPICS.pipelineFailed], requestId: refusedId, correlationId: refusedId, flow: 'transfer', stage: 'request', reasonCode: 'SKIPS_ENVIRONMENT', imageVersion: 'v1-0-00' };
      await publisher.publish(named(TOPICS.pipelineFailed), refused);
      await publisher.publish(named(TOPICS.imageStored), keptStored);
      // Written since the loss: dev2's name stays exactly as it is.
      const otherUID = newImageUID();
      await live.pool.query("INSERT INTO image_names (user_login, image_name, image_uid) VALUES ('dev2', 'billing-api', ?)", [otherUID]);
      // The upload commands: one sent with an Idempotency-Key, one completing a presigned upload, one whose request left nothing to restore.
      const idempotencyKey = `ci-${uniqueSuffix()}`;
      const uploadId = randomUUID();
      const commands: UploadRequested[] = [
        { ...upload[TOPICS.uploadRequested], idempotencyKey, bodyDigest: { metadataSha256: 'a'.repeat(64), contentSha256: 'b'.repeat(64) } },
        { ...kept[TOPICS.uploadRequested], actor: keptStored.actor, uploadId, source: 'PRESIGNED' },
        { ...sampleEvents(newImageUID(), randomUUID())[TOPICS.uploadRequested], idempotencyKey: `gone-${uniqueSuffix()}` },
      ];
      for (const command of commands) await publisher.publish(named(TOPICS.uploadRequested), command);

      const report = await rebuildProjection({
        kafka, codec, pool: live.pool, mysqlUrl: url.toString(), topics, liveGroup: `viewport-projector-${uniqueSuffix()}`,
        publisher: { publish: async () => undefined }, logger: quietLogger, lifecycleTopicOf,
      });

      expect(report.restored).toEqual({ requests: 5, imageNames: 1, transferClaims: 1, uploadClaims: 2 });
      const [requests] = await live.pool.query<RowDataPacket[]>('SELECT request_id, kind, image_version, target_env, notes, user_login, status, error_code FROM viewport_requests ORDER BY request_id');
      expect(requests.map((row) => ({ ...row }))).toEqual([
        { request_id: keptStored.requestId, kind: 'upload', image_version: 'v1-0-00', target_env: null, notes: null, user_login: 'dev2', status: 'running', error_code: null },
        { request_id: rejected[TOPICS.imageRejected].requestId, kind: 'upload', image_version: 'v1-0-00', target_env: null, notes: null, user_login: 'dev1', status: 'failed', error_code: 'DIGEST_MISMATCH' },
        { request_id: refusedId, kind: 'transfer', image_version: 'v1-0-00', target_env: null, notes: null, user_login: 'dev1', status: 'failed', error_code: 'SKIPS_ENVIRONMENT' },
        { request_id: transferId, kind: 'transfer', image_version: 'v1-0-00', target_env: 'Testing', notes: 'rc1', user_login: 'dev1', status: 'succeeded', error_code: null },
        { request_id: upload[TOPICS.imageStored].requestId, kind: 'upload', image_version: 'v1-0-00', target_env: null, notes: null, user_login: 'dev1', status: 'succeeded', error_code: null },
      ].sort((a, b) => (a.request_id < b.request_id ? -1 : 1)));
      const [names] = await live.pool.query<RowDataPacket[]>('SELECT user_login, image_name, image_uid FROM image_names ORDER BY user_login');
      expect(names.map((row) => ({ ...row }))).toEqual([
        { user_login: 'dev1', image_name: 'billing-api', image_uid: imageUID },
        { user_login: 'dev2', image_name: 'billing-api', image_uid: otherUID },
      ]);
      const [claims] = await live.pool.query<RowDataPacket[]>('SELECT image_uid, image_version, target_env, request_id FROM transfer_claims');
      expect(claims.map((row) => ({ ...row }))).toEqual([{ image_uid: imageUID, image_version: 'v1-0-00', target_env: 'Testing', request_id: transferId }]);
      // With what each was sent with, so the key sent again with another body is still refused (a command from before 2026-12-02 has none).
      const [keys] = await live.pool.query<RowDataPacket[]>('SELECT user_login, idempotency_key, request_id, metadata_sha256, content_sha256 FROM upload_idempotency_keys');
      expect(keys.map((row) => ({ ...row }))).toEqual([
        { user_login: 'dev1', idempotency_key: idempotencyKey, request_id: upload[TOPICS.imageStored].requestId, metadata_sha256: 'a'.repeat(64), content_sha256: 'b'.repeat(64) },
      ]);
      const [completions] = await live.pool.query<RowDataPacket[]>('SELECT user_login, upload_id, request_id, metadata_sha256 FROM upload_completions');
      expect(completions.map((row) => ({ ...row }))).toEqual([{ user_login: 'dev2', upload_id: uploadId, request_id: keptStored.requestId, metadata_sha256: null }]);
    } finally {
      await publisher.disconnect();
      await live.drop();
    }
  }, 120_000);

  it('keeps a live projector that finds its projection lost waiting, until a rebuild brings it back and finishes what arrived since', async () => {
    const { topics, named, lifecycleTopicOf, publisher, live, url, kafka, codec } = await replayFixture('lost');
    const liveGroup = `viewport-projector-${uniqueSuffix()}`;
    const announced: EventEnvelope[] = [];
    const announce = { publish: async (_topic: string, event: EventEnvelope) => { announced.push(event); } };
    const announcedFor = (requestId: string): number => announced.filter((event) => (event as EventEnvelope & { requestId?: string }).requestId === requestId).length;
    const projector = projectorBatchHandler({ pool: live.pool, groupId: liveGroup, publisher: announce });
    const delivered = (topic: string, offset: number, event: OrbitEvent): ConsumedMessage<OrbitEvent> => ({
      topic, partition: 0, offset: String(offset), key: event.imageUID, event, headers: {}, trace: childSpan(undefined), log: quietLogger, signal: new AbortController().signal,
    });
    const count = async (table: string): Promise<number> => {
      const [rows] = await live.pool.query<RowDataPacket[]>(`SELECT COUNT(*) AS n FROM ${table}`);
      return Number(rows[0]?.['n']);
    };
    const first = sampleEvents(newImageUID(), randomUUID());
    const second = sampleEvents(newImageUID(), randomUUID());
    const stages = [TOPICS.imageValidated, TOPICS.imageStored, TOPICS.chartGenerated] as const;
    const admin = kafka.admin();
    await admin.connect();
    try {
      for (const topic of stages) await publisher.publish(named(topic), first[topic]);
      // Something nobody can decode, dead-lettered by the live projector long ago.
      await publisher.sendRaw(named(TOPICS.imageStored), [{ key: 'garbage', value: Buffer.from('not avro at all') }]);
      for (const topic of stages) await publisher.publish(named(topic), second[topic]);
      // The live projector had handled the first upload when its database was created again empty; the
      // gateway has since accepted the second, whose messages wait.
      await setGroupOffsets(kafka, liveGroup, stages.map((topic) => ({ topic: named(topic), partition: 0, offset: topic === TOPICS.imageStored ? '2' : '1' })));
      await live.pool.query("INSERT INTO viewport_requests (request_id, kind, image_uid, user_login, status, created_at, updated_at) VALUES (?, 'upload', ?, 'dev1', 'accepted', NOW(3), NOW(3))",
        [second[TOPICS.imageStored].requestId, second[TOPICS.imageStored].imageUID]);
      const waiting = projector([delivered(TOPICS.imageStored, 2, second[TOPICS.imageStored])]);
      await expect(waiting).rejects.toBeInstanceOf(ProjectionLostError);
      await expect(waiting).rejects.toMatchObject({ code: 'ORBIT_ERR_PROJECTION_LOST', retriable: true });
      expect(await count('viewport_applied_offsets')).toBe(0);
      expect(await count('wp_posts')).toBe(0);
      expect(await count('viewport_outbox')).toBe(0);
      // A letter met meanwhile is left to the rebuild, not marked in the empty projection.
      await passDeadLetters({ pool: live.pool, groupId: liveGroup })({ topic: TOPICS.chartGenerated, partition: 0, offset: '1', message: undefined, error: new Error('poison') });
      expect(await count('viewport_applied_offsets')).toBe(0);

      const report = await rebuildProjection({ kafka, codec, pool: live.pool, mysqlUrl: url.toString(), topics, liveGroup, publisher: announce, logger: quietLogger, lifecycleTopicOf });
      // What the live projector had done is replayed silently; what it had not is applied with its effects.
      expect([report.eventsReplayed, report.catchUpEvents]).toEqual([3, 3]);
      expect(announcedFor(first[TOPICS.imageStored].requestId)).toBe(0);
      expect(announcedFor(second[TOPICS.imageStored].requestId)).toBe(3);
      const [status] = await live.pool.query<RowDataPacket[]>('SELECT status FROM viewport_requests WHERE request_id = ?', [second[TOPICS.imageStored].requestId]);
      expect(status[0]?.['status']).toBe('succeeded');
      // The request accepted since the loss did not keep the rebuild from giving back the one before it.
      expect(report.restored.requests).toBe(1);
      const [before] = await live.pool.query<RowDataPacket[]>('SELECT status FROM viewport_requests WHERE request_id = ?', [first[TOPICS.imageStored].requestId]);
      expect(before[0]?.['status']).toBe('succeeded');
      // The waiting message is recognised as applied: not applied or announced again.
      await projector([delivered(TOPICS.imageStored, 2, second[TOPICS.imageStored])]);
      expect(announced).toHaveLength(3);
      // The garbage the live projector had dead-lettered is passed over, not dead-lettered a second time.
      expect(report.skipped).toEqual([{ at: `${named(TOPICS.imageStored)}/0@1`, code: expect.stringMatching(/^ORBIT_ERR_/) }]);
      const [letters] = await admin.fetchTopicOffsets(`${named(TOPICS.imageStored)}.dlq`).catch(() => [{ high: '0' }]);
      expect(letters?.high ?? '0').toBe('0');
      // What comes next is projected and announced as usual.
      const third = sampleEvents(newImageUID(), randomUUID());
      await publisher.publish(named(TOPICS.imageStored), third[TOPICS.imageStored]);
      await projector([delivered(TOPICS.imageStored, 3, third[TOPICS.imageStored])]);
      expect(announcedFor(third[TOPICS.imageStored].requestId)).toBe(1);
      expect(await count("wp_posts WHERE guid LIKE 'orbit:image:%:%'")).toBe(3);
    } finally {
      await admin.disconnect();
      await publisher.disconnect();
      await live.drop();
    }
  }, 60_000);

  it('refuses a database without its tables, naming them and the command that makes them', async () => {
    const { database } = viewport;
    await viewport.pool.query('DROP TABLE transfer_claims');
    try {
      await expect(rebuildProjection(deps)).rejects.toBeInstanceOf(ProjectionMissingError);
      await expect(rebuildProjection(deps)).rejects.toThrow(`${database} has no transfer_claims: run \`npm run provision\` first`);
    } finally {
      await viewport.pool.query(`CREATE TABLE transfer_claims LIKE \`${databaseOf(testConfig.MYSQL_URL)}\`.transfer_claims`);
    }
  });
});

/** `kafka`, telling which consumer groups are joined through it. */
function groupsJoined(kafka: Kafka): { kafka: Kafka; groups: string[] } {
  const groups: string[] = [];
  const spied = Object.create(kafka) as Kafka;
  spied.consumer = (config) => {
    groups.push(config.groupId);
    return kafka.consumer(config);
  };
  return { kafka: spied, groups };
}

/** The state of each group (a group that is gone is Dead). */
async function groupStates(kafka: Kafka, groups: readonly string[]): Promise<string[]> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    return (await admin.describeGroups([...groups])).groups.map((group) => group.state);
  } finally {
    await admin.disconnect();
  }
}

describe('a rebuild that does not swap', () => {
  it('leaves the previous copy as it was and deletes its consumer group when its swap fails, and replaces that copy only by its own swap', async () => {
    const { kafka, codec, topics, named, lifecycleTopicOf, publisher, live, url } = await replayFixture('keepprev');
    const previous = `${live.database}_previous`;
    const names = async (database: string): Promise<string[]> => {
      const [rows] = await live.pool.query<RowDataPacket[]>(`SELECT image_name FROM \`${database}\`.wp_image_uid ORDER BY image_name`);
      return rows.map((row) => String(row['image_name']));
    };
    const addImage = (database: string, name: string) => live.pool.query(
      `INSERT INTO \`${database}\`.wp_image_uid (image_uid, post_id, user_login, image_name, created_at, updated_at) VALUES (?, 1, 'dev1', ?, NOW(3), NOW(3))`, [newImageUID(), name]);
    const reader = await live.pool.getConnection();
    try {
      const events = sampleEvents(newImageUID(), randomUUID());
      for (const topic of [TOPICS.imageValidated, TOPICS.imageStored, TOPICS.chartGenerated] as const) await publisher.publish(named(topic), events[topic]);
      // What the last rebuild swapped out, and what the live tables hold now.
      await live.pool.query(`CREATE DATABASE \`${previous}\``);
      await live.pool.query(`CREATE TABLE \`${previous}\`.wp_image_uid LIKE \`${live.database}\`.wp_image_uid`);
      await addImage(previous, 'swapped-out-before');
      await addImage(live.database, 'live-now');
      const liveGroup = `viewport-projector-${uniqueSuffix()}`;
      // A session keeping a live table in an open transaction (a report): the RENAME cannot have it, and the swap gives up.
      await reader.query('START TRANSACTION');
      await reader.query('SELECT COUNT(*) FROM wp_posts');
      const failing = groupsJoined(kafka);
      const failed = rebuildProjection({
        kafka: failing.kafka, codec, pool: live.pool, mysqlUrl: url.toString(), topics, liveGroup, publisher: { publish: async () => undefined }, logger: quietLogger, lifecycleTopicOf,
        swapPatience: { lockWaitSeconds: 1, attempts: 1, pauseMs: 10 },
      });
      await expect(failed).rejects.toBeInstanceOf(SwapBlockedError);
      await reader.query('COMMIT');
      // Before: viewport_previous was dropped and created again empty before the gate, whatever became of the swap.
      expect(await names(previous)).toEqual(['swapped-out-before']);
      expect(await names(live.database)).toEqual(['live-now']);
      const replayGroups = failing.groups.filter((group) => /^viewport-rebuild-\d+$/.test(group));
      expect(replayGroups).toHaveLength(1);
      expect(await groupStates(kafka, replayGroups)).toEqual(['Dead']);

      // Stopped (a SIGINT to viewport:rebuild) while it replays: the same, before its swap.
      const stopping = new AbortController();
      const stopped = groupsJoined(kafka);
      const interrupted = rebuildProjection({
        kafka: stopped.kafka, codec, pool: live.pool, mysqlUrl: url.toString(), topics, liveGroup, publisher: { publish: async () => undefined }, logger: quietLogger, lifecycleTopicOf,
        signal: stopping.signal,
      });
      await waitFor(() => (stopped.groups.some((group) => /^viewport-rebuild-\d+$/.test(group)) ? true : undefined), { what: 'the replay to start', timeoutMs: 30_000, intervalMs: 20 });
      stopping.abort();
      await expect(interrupted).rejects.toBeInstanceOf(RebuildInterruptedError);
      expect(await names(previous)).toEqual(['swapped-out-before']);
      expect(await names(live.database)).toEqual(['live-now']);
      expect(await groupStates(kafka, stopped.groups.filter((group) => /^viewport-rebuild-\d+$/.test(group)))).toEqual(['Dead']);

      // Its own swap replaces the previous copy with the tables it swapped out; the one before goes with the shadow.
      const done = groupsJoined(kafka);
      const report = await rebuildProjection({
        kafka: done.kafka, codec, pool: live.pool, mysqlUrl: url.toString(), topics, liveGroup, publisher: { publish: async () => undefined }, logger: quietLogger, lifecycleTopicOf,
      });
      expect(report.eventsReplayed).toBe(3);
      expect(await names(previous)).toEqual(['live-now']);
      expect(await names(live.database)).toEqual(['billing-api']);
      const [shadows] = await live.pool.query<RowDataPacket[]>('SELECT SCHEMA_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?', [`${live.database}_rebuild`]);
      expect(shadows).toHaveLength(0);
      expect(await groupStates(kafka, [report.group])).toEqual(['Dead']);
    } finally {
      reader.release();
      await publisher.disconnect();
      await live.drop();
    }
  }, 120_000);

  it('deletes the groups killed rebuilds left behind, and no group a member reads under', async () => {
    const { kafka, topics, named, publisher, live } = await replayFixture('leftover');
    const leftover = `viewport-rebuild-${Date.now() - 86_400_000}`;
    const reading = `viewport-rebuild-${Date.now() - 86_400_000 + 1}`;
    const consumer = kafka.consumer({ groupId: reading });
    try {
      const events = sampleEvents(newImageUID(), randomUUID());
      await publisher.publish(named(TOPICS.imageStored), events[TOPICS.imageStored]);
      // As a rebuild killed by SIGKILL leaves its group: committed offsets, no member.
      await setGroupOffsets(kafka, leftover, [{ topic: named(TOPICS.imageStored), partition: 0, offset: '1' }]);
      await consumer.connect();
      await consumer.subscribe({ topics: [...topics], fromBeginning: true });
      const joined = new Promise<void>((resolve) => { consumer.on(consumer.events.GROUP_JOIN, () => resolve()); });
      await consumer.run({ eachMessage: async () => undefined });
      await joined;
      expect(await groupStates(kafka, [leftover, reading])).toEqual(['Empty', 'Stable']);
      const deleted = await deleteIdleRebuildGroups(kafka, quietLogger);
      expect(deleted).toContain(leftover);
      expect(deleted).not.toContain(reading);
      expect(await groupStates(kafka, [leftover, reading])).toEqual(['Dead', 'Stable']);
    } finally {
      await consumer.disconnect();
      const admin = kafka.admin();
      await admin.connect();
      await admin.deleteGroups([reading]).catch(() => undefined);
      await admin.disconnect();
      await publisher.disconnect();
      await live.drop();
    }
  }, 60_000);
});
