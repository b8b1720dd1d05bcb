/**
 * Exactly-once effects under crashes: a burst of uploads (and transfers)
 * while every consumer (the viewport-projector, the harbor-writer and the
 * event-logger the issue names, and the validator and chart-generator) is
 * SIGKILLed at random moments and restarted, and the Kafka broker is
 * restarted once in the middle. Afterwards every request has succeeded, every
 * S3 object (images and charts) exists once with the right checksum, every
 * Testing chart row is what its promotion writes (transfers:reconcile's check),
 * ViewPort has each image exactly once in the environments it reached, the
 * event log holds exactly one row per message and no refusal of a stored
 * image, and nothing is announced twice after a rebuild.
 *
 * ORBIT_CRASH_UPLOADS (default 200) and ORBIT_CRASH_TRANSFERS (default 100)
 * size the burst.
 */
import { createHash, randomBytes } from 'node:crypto';
import { HeadObjectCommand, ListObjectVersionsCommand } from '@aws-sdk/client-s3';
import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import {
  ALL_TOPICS, bucketNames, createDynamo, createMysqlPool, createS3, imageBucketOf, kustomizeTableKeyOf, tableName, type Kafka,
} from '@orbit/lib';
import { startService, stackStatus, stopPipeline, stopService } from '@orbit/local-stack';
import type { RowDataPacket } from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { archiveOf, buildImage, ociEntries } from '../../consumers/image-validator/test-fixtures/images.js';
import { api, finished, uploadArchive } from '../helpers/gateway.js';
import { testConfig, testKafka, uniqueSuffix, waitFor } from '../helpers/index.js';
import { messagesWithKeys } from '../helpers/kafka-scan.js';
import { transfersToCheck, findBrokenTransfers } from '../../consumers/harbor-writer/src/reconcile.js';
import { projectionChecksum } from '../../consumers/viewport-projector/src/checksum.js';
import { rebuildLiveViewport, settledChecksum, startPipelineOnItsHistory } from '../helpers/viewport-db.js';

const UPLOADS = Number(process.env['ORBIT_CRASH_UPLOADS'] ?? 200);
const TRANSFERS = Math.min(UPLOADS, Number(process.env['ORBIT_CRASH_TRANSFERS'] ?? 100));
/** Off only for local runs on a stack other people are using; CI restarts the broker. */
const RESTART_BROKER = process.env['ORBIT_CRASH_RESTART_BROKER'] !== 'false';
// The three the issue names, and the two other consumers: each redelivers what it was killed in the middle of.
const NAMED_VICTIMS = ['viewport-projector', 'harbor-writer', 'event-logger'] as const;
const VICTIMS = [...NAMED_VICTIMS, 'image-validator', 'chart-generator'] as const;

/** The three the issue names first, each once in a random order and soon, then any victim at random. */
function* victims(): Generator<{ victim: string; afterMs: number }> {
  const named: string[] = [...NAMED_VICTIMS];
  while (named.length > 0) yield { victim: named.splice(Math.floor(Math.random() * named.length), 1)[0] as string, afterMs: 2000 + Math.random() * 3000 };
  for (;;) yield { victim: VICTIMS[Math.floor(Math.random() * VICTIMS.length)] as string, afterMs: 4000 + Math.random() * 6000 };
}
const USER = `crash-${uniqueSuffix()}`;
const VERSION = 'v1-0-00';
const ENVIRONMENT_CHAIN = ['Development', 'Testing', 'Staging', 'Production'] as const;

const s3 = createS3(testConfig);
const dynamo = createDynamo(testConfig);
const mysql = createMysqlPool(testConfig.MYSQL_URL);
const eventLog = tableName('userEventLog', testConfig);
let kafka: Kafka;

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Runs `work` over `items` with at most `limit` in flight. */
async function pool<T, R>(items: readonly T[], limit: number, work: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array<R>(items.length);
  let next = 0;
  await Promise.all(Array.from({ length: limit }, async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await work(items[index] as T, index);
    }
  }));
  return results;
}

/** A client that retries while the gateway cannot answer (a restart of its broker), as any real client would. */
async function withRetry<T>(what: string, attempt: () => Promise<{ status: number; body: T }>): Promise<{ status: number; body: T }> {
  for (let tries = 1; ; tries++) {
    try {
      const answer = await attempt();
      if (answer.status < 500 || tries >= 8) return answer;
    } catch (error) {
      if (tries >= 8) throw new Error(`${what}: ${String(error)}`);
    }
    await sleep(500 * tries);
  }
}

/**
 * SIGKILLs one of the victims at random moments and restarts it, until
 * stopped. `failed` rejects as soon as a victim cannot be started again (it
 * exited during start): the burst is raced against it, so the test fails with
 * that reason at once instead of waiting out its requests.
 */
function chaos(): { stop(): Promise<{ kills: Record<string, number>; brokerRestarts: number }>; restartBroker(): Promise<void>; failed: Promise<never> } {
  const kills: Record<string, number> = {};
  let brokerRestarts = 0;
  let running = true;
  let fail: (error: unknown) => void = () => undefined;
  const failed = new Promise<never>((_resolve, reject) => { fail = reject; });
  failed.catch(() => undefined);
  const loop = (async () => {
    for (const { victim, afterMs } of victims()) {
      await sleep(afterMs);
      if (!running) break;
      // A victim between its restart and its pid file is waited for, not skipped: each named one must die once.
      const pid = await waitFor(async () => (await stackStatus()).find((row) => row.name === victim)?.pid, { timeoutMs: 10_000, what: `${victim} to run` }).catch(() => undefined);
      if (pid === undefined) continue;
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        continue;
      }
      kills[victim] = (kills[victim] ?? 0) + 1;
      await waitFor(async () => (await stackStatus()).find((row) => row.name === victim)?.state === 'down', { timeoutMs: 10_000, what: `${victim} to die` });
      await startService(victim);
    }
  })().catch((error: unknown) => {
    running = false;
    fail(error);
    throw error;
  });
  loop.catch(() => undefined);
  return {
    failed,
    restartBroker: async () => {
      await stopService('kafka');
      await sleep(2000);
      await startService('kafka');
      brokerRestarts++;
    },
    stop: async () => {
      running = false;
      await loop;
      return { kills, brokerRestarts };
    },
  };
}

const rebuild = (): Promise<void> => rebuildLiveViewport(mysql);

beforeAll(async () => {
  // A killed consumer holds its partitions for a session; keep that short so the burst keeps moving.
  process.env['ORBIT_KAFKA_SESSION_TIMEOUT_MS'] = '8000';
  kafka = testKafka();
  await startPipelineOnItsHistory(mysql);
}, 240_000);

afterAll(async () => {
  await stopPipeline();
  await mysql.end();
});

describe('exactly-once effects under crashes', () => {
  it(`${UPLOADS} uploads and ${TRANSFERS} transfers survive SIGKILLs and a broker restart`, async () => {
    const image = await buildImage({ repoTags: ['crash:1'], runConfig: { ExposedPorts: { '8080/tcp': {} } }, layers: [{ files: { 'bin/app': randomBytes(32 * 1024).toString('base64') } }] });
    const archive = await archiveOf(ociEntries(image));
    const sha = createHash('sha256').update(archive).digest('hex');
    const names = Array.from({ length: UPLOADS }, (_, i) => `crash-${i}-${uniqueSuffix()}`);
    const junk = randomBytes(8 * 1024);
    let rejected = 0;

    const monkey = chaos();
    let brokerRestart: Promise<void> | undefined;
    const uploads = await Promise.race([monkey.failed, pool(names, 6, async (imageName, index) => {
      if (index === Math.floor(UPLOADS * 0.4) && RESTART_BROKER) brokerRestart = monkey.restartBroker();
      const accepted = await withRetry(`upload ${imageName}`, () => uploadArchive(USER, archive, { imageName, imageVersion: VERSION }));
      expect(accepted.status, JSON.stringify(accepted.body)).toBe(202);
      const request = await finished(USER, accepted.body.requestId, 600_000);
      expect(request.status, `${imageName}: ${JSON.stringify(request.error)}`).toBe('succeeded');
      if (index % 10 === 5) {
        // Rejections are part of the mix: one broken archive for every ten images.
        const broken = await withRetry(`broken ${imageName}`, () => uploadArchive(USER, junk, { imageName: `${imageName}-broken`, imageVersion: VERSION }));
        expect((await finished(USER, broken.body.requestId, 600_000)).error?.code).toBe('NOT_AN_ARCHIVE');
        rejected++;
      }
      if (index >= TRANSFERS) return { imageUID: accepted.body.imageUID, transfer: undefined };
      const transfer = await withRetry(`transfer ${imageName}`, () => api<{ requestId: string }>(USER, `/v1/images/${accepted.body.imageUID}/transfers`, {
        method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ imageVersion: VERSION, transferEnvironment: 'Testing', notes: 'crash test' }),
      }));
      expect(transfer.status, JSON.stringify(transfer.body)).toBe(202);
      const transferred = await finished(USER, transfer.body.requestId, 600_000);
      expect(transferred.status, `${imageName} transfer: ${JSON.stringify(transferred.error)}`).toBe('succeeded');
      return { imageUID: accepted.body.imageUID, transfer: transfer.body.requestId };
    })]);
    await brokerRestart;
    const { kills, brokerRestarts } = await monkey.stop();
    console.log(`crash test: ${UPLOADS} uploads, ${TRANSFERS} transfers, kills ${JSON.stringify(kills)}, broker restarts ${brokerRestarts}`);
    // Each of the three the issue names died at least once in the middle of the burst.
    for (const victim of NAMED_VICTIMS) expect(kills[victim] ?? 0, `kills of ${victim}`).toBeGreaterThan(0);
    expect(brokerRestarts).toBe(RESTART_BROKER ? 1 : 0);
    // The killed services are running again; let them drain what is left.
    for (const victim of VICTIMS) await startService(victim);

    // Every S3 object exists once (one version) with the uploaded checksum.
    const buckets = [testConfig.ORBIT_BUCKET_DEVELOPMENT, testConfig.ORBIT_BUCKET_TESTING];
    await pool(uploads, 8, async ({ imageUID, transfer }) => {
      for (const bucket of transfer ? buckets : buckets.slice(0, 1)) {
        const key = `${imageUID}-${VERSION}.tar`;
        const listed = await s3.send(new ListObjectVersionsCommand({ Bucket: bucket, Prefix: key }));
        const versions = (listed.Versions ?? []).filter((version) => version.Key === key);
        expect(versions, `${bucket}/${key}`).toHaveLength(1);
        expect(versions[0]?.Size).toBe(archive.length);
        const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key, ChecksumMode: 'ENABLED' }));
        const checksum = head.ChecksumSHA256 ? Buffer.from(head.ChecksumSHA256, 'base64').toString('hex') : head.Metadata?.['orbit-sha256'];
        expect(checksum, `${bucket}/${key}`).toBe(sha);
      }
      // The chart objects too: a chart rendered again (its ImageStored redelivered) is the same object, not a second version.
      const charts = await s3.send(new ListObjectVersionsCommand({ Bucket: testConfig.ORBIT_BUCKET_CHARTS, Prefix: `${imageUID}-${VERSION}/` }));
      const keys = (charts.Versions ?? []).map((version) => version.Key);
      expect(keys.length, `charts of ${imageUID}`).toBeGreaterThan(0);
      expect(new Set(keys).size, `chart versions of ${imageUID}: ${keys.join(', ')}`).toBe(keys.length);
    });

    // ViewPort: each image once, its one version once, in the right environments.
    const uids = uploads.map((upload) => upload.imageUID);
    const [imageRows] = await mysql.query<RowDataPacket[]>('SELECT image_uid, COUNT(*) AS n FROM wp_image_uid WHERE image_uid IN (?) GROUP BY image_uid', [uids]);
    expect(imageRows).toHaveLength(UPLOADS);
    expect(imageRows.every((row) => Number(row['n']) === 1)).toBe(true);
    const [versionRows] = await mysql.query<RowDataPacket[]>(
      `SELECT v.guid, m.meta_value AS environments FROM wp_posts v JOIN wp_postmeta m ON m.post_id = v.ID AND m.meta_key = 'environments'
       WHERE v.post_type = 'orbit_image_version' AND v.guid IN (?)`, [uids.map((uid) => `orbit:image:${uid}:${VERSION}`)]);
    expect(versionRows).toHaveLength(UPLOADS);
    const environments = new Map(versionRows.map((row) => [String(row['guid']), JSON.parse(String(row['environments'])) as string[]]));
    for (const { imageUID, transfer } of uploads) {
      expect(environments.get(`orbit:image:${imageUID}:${VERSION}`)?.sort()).toEqual(transfer ? ['Development', 'Testing'] : ['Development']);
    }

    // What transfers:reconcile checks: each copy with its source's checksum, each Testing chart row as the promotion writes it.
    const ours = new Set(uids);
    const transfers = (await transfersToCheck(mysql, ENVIRONMENT_CHAIN)).filter((entry) => ours.has(entry.imageUID));
    expect(transfers).toHaveLength(TRANSFERS);
    expect(await findBrokenTransfers(transfers, {
      s3, dynamo, metadataTable: tableName('appImageMetadata', testConfig), bucketOf: (environment) => imageBucketOf(environment, bucketNames(testConfig)), kustomizeTableOf: (environment) => tableName(kustomizeTableKeyOf(environment), testConfig),
      registryOf: () => process.env['ORBIT_IMAGE_REGISTRY'] ?? '',
    })).toEqual([]);

    // The event log: exactly one message row per Kafka message of these images.
    const messages = await messagesWithKeys(kafka, ALL_TOPICS, new Set(uids), 120_000);
    const expected = messages.map((m) => `${m.topic}/${m.partition}/${m.offset}`).sort();
    const rowsOf = async (): Promise<string[]> => {
      const all = await pool(uids, 8, async (imageUID) => {
        const rows: Record<string, unknown>[] = [];
        let start: Record<string, unknown> | undefined;
        do {
          const page = await dynamo.send(new QueryCommand({ TableName: eventLog, IndexName: 'byImageUID', KeyConditionExpression: 'imageUID = :u', ExpressionAttributeValues: { ':u': imageUID }, ExclusiveStartKey: start }));
          rows.push(...(page.Items ?? []));
          start = page.LastEvaluatedKey;
        } while (start);
        return rows.filter((row) => row['rowKind'] === undefined || row['rowKind'] === 'message').map((row) => `${String(row['topic'])}/${String(row['partition'])}/${String(row['offset'])}`);
      });
      return all.flat().sort();
    };
    const rows = await waitFor(async () => {
      const current = await rowsOf();
      return current.length >= expected.length ? current : undefined;
    }, { timeoutMs: 120_000, intervalMs: 2000, what: 'the event-logger to catch up' });
    expect(rows).toEqual(expected);
    expect(rejected).toBeGreaterThan(0);
    // A redelivered step never adds a refusal: the only rejections are the broken archives'.
    const refusals: string[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const page = await dynamo.send(new QueryCommand({
        TableName: eventLog, IndexName: 'byUsername', KeyConditionExpression: 'username = :u', FilterExpression: 'eventType IN (:rejected, :failed, :transferFailed)',
        ExpressionAttributeValues: { ':u': USER, ':rejected': 'image-rejected', ':failed': 'upload-failed', ':transferFailed': 'transfer-failed' }, ExclusiveStartKey: start,
      }));
      refusals.push(...(page.Items ?? []).map((row) => String((JSON.parse(String(row['payload'])) as { reasonCode?: string }).reasonCode)));
      start = page.LastEvaluatedKey;
    } while (start);
    expect(refusals.filter((code) => code !== 'NOT_AN_ARCHIVE'), 'refusals of images that were stored').toEqual([]);
    expect(refusals.length).toBeGreaterThanOrEqual(rejected);

    // ViewPort equals what its topics say: a rebuild gives the same checksum.
    const live = await settledChecksum(mysql);
    await rebuild();
    expect((await projectionChecksum(mysql)).sha256).toBe(live);

    // A rebuild while uploads go on loses nothing: afterwards the live projection equals another rebuild.
    const duringRequests: string[] = [];
    const during = (async () => {
      for (let i = 0; i < 5; i++) {
        const accepted = await uploadArchive(USER, archive, { imageName: `during-rebuild-${i}-${uniqueSuffix()}`, imageVersion: VERSION });
        duringRequests.push(accepted.body.requestId);
        expect((await finished(USER, accepted.body.requestId, 120_000)).status).toBe('succeeded');
      }
    })();
    await rebuild();
    await during;
    const afterTraffic = await settledChecksum(mysql);
    await rebuild();
    expect((await projectionChecksum(mysql)).sha256).toBe(afterTraffic);
    // What the live projector announced during the replay, the rebuilt tables apply again: it is still announced once.
    for (const requestId of duringRequests) {
      const page = await dynamo.send(new QueryCommand({ TableName: eventLog, IndexName: 'byCorrelationId', KeyConditionExpression: 'correlationId = :c', ExpressionAttributeValues: { ':c': requestId } }));
      const announced = (page.Items ?? []).filter((row) => row['eventType'] === 'viewport-updated').map((row) => String(row['eventId']));
      expect(announced.length, `${requestId}: ${announced.join(', ')}`).toBeGreaterThan(0);
      expect(new Set(announced).size, `${requestId} announced twice: ${announced.join(', ')}`).toBe(announced.length);
    }
  }, 1_500_000);
});
