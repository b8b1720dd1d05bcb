/**
 * `npm run bench:replay`: rebuilding ViewPort by replay, against a raw consume
 * of the same topics measured in the same run. N lifecycle events
 * (ORBIT_BENCH_EVENTS, default 100000: half ImageStored, half ChartGenerated)
 * go to private copies of the projected topics, then:
 *   - raw consume: a fresh group reads and Avro-decodes every event
 *   - rebuild: rebuildProjection replays them into a private database
 * and the ratio of events per second is printed (goal >= 0.5; 100k in <= 60 s).
 * A second baseline shows where the bound lies: the same rows the rebuild
 * wrote, copied server side (INSERT ... SELECT into empty tables of the same
 * shape) — the fastest MariaDB writes them at all, with no Kafka, no client,
 * no parsing.
 * ORBIT_BENCH_FROM_NOTHING=true rebuilds as after a lost database: the replay
 * also writes request rows, to give them back (default: an everyday rebuild
 * next to a database that kept its requests).
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { createKafka, createLogger, createMysqlPool, databaseOf, EventCodec, kafkaConnection, mysqlTarget, orbitProducer, PROJECTED_TOPICS, PROJECTOR_GROUP, readConfig, runtimeEnv, TOPICS } from '@orbit/lib';
import { stackUp } from '@orbit/local-stack';
import { loadSchemas, sampleEvents } from '@orbit/schemas';
import { PROJECTION_TABLES, rebuildProjection, REBUILT_DATABASE_TABLES } from '../consumers/viewport-projector/src/rebuild.js';
import type { ResultSetHeader } from 'mysql2/promise';
import { cleanUp } from './cleanup.js';
import { cpuDuring, pidListeningOn, ratioLine, timed } from './measure.js';

await stackUp({ log: () => undefined });
const config = readConfig(runtimeEnv);
const events = Number(process.env['ORBIT_BENCH_EVENTS'] ?? 100_000);
const fromNothing = process.env['ORBIT_BENCH_FROM_NOTHING'] === 'true';
const run = randomBytes(4).toString('hex');
const prefix = `bench-${run}.`;
const topics = PROJECTED_TOPICS.map((topic) => `${prefix}${topic}`);
const logger = createLogger({ service: 'bench-replay', level: 'error' });
const kafka = createKafka({ clientId: 'bench-replay', ...kafkaConnection(config), logger });
const schemas = loadSchemas();
const codec = new EventCodec(config.SCHEMA_REGISTRY_URL, new Map([...schemas, ...[...schemas].map(([topic, schema]) => [`${prefix}${topic}`, schema] as const)]));
const mysql = mysqlTarget(config);
const pool = createMysqlPool(mysql.url, 8, mysql.ssl);
const live = databaseOf(config.MYSQL_URL);
const benchDb = `${live}_bench_${run}`;
const benchUrl = new URL(config.MYSQL_URL);
benchUrl.pathname = `/${benchDb}`;

const admin = kafka.admin();
await admin.connect();
const copyDb = `${benchDb}_copy`;
try {
  await admin.createTopics({ waitForLeaders: true, topics: topics.map((topic) => ({ topic, numPartitions: 3, replicationFactor: 1 })) });
  await pool.query(`CREATE DATABASE \`${benchDb}\``);
  for (const table of REBUILT_DATABASE_TABLES) await pool.query(`CREATE TABLE \`${benchDb}\`.\`${table}\` LIKE \`${live}\`.\`${table}\``);

  console.log(`producing ${events} events to ${prefix}*`);
  const producer = orbitProducer(kafka);
  await producer.connect();
  for (let sent = 0; sent < events;) {
    const batch: { topic: string; messages: { key: string; value: Buffer }[] }[] = [
      { topic: `${prefix}${TOPICS.imageStored}`, messages: [] }, { topic: `${prefix}${TOPICS.chartGenerated}`, messages: [] },
    ];
    for (let i = 0; i < 500 && sent < events; i++, sent += 2) {
      // A UUID, as every request id is: a rebuild sets aside an event whose requestId is not one.
      const sample = sampleEvents(undefined, randomUUID());
      batch[0]?.messages.push({ key: sample['orbit.image.stored'].imageUID, value: await codec.encode(TOPICS.imageStored, sample['orbit.image.stored']) });
      batch[1]?.messages.push({ key: sample['orbit.chart.generated'].imageUID, value: await codec.encode(TOPICS.chartGenerated, { ...sample['orbit.chart.generated'], imageUID: sample['orbit.image.stored'].imageUID }) });
    }
    await producer.sendBatch({ topicMessages: batch, acks: -1 });
  }
  await producer.disconnect();

  const raw = await timed(async () => {
    const consumer = kafka.consumer({ groupId: `bench-raw-${run}` });
    await consumer.connect();
    await consumer.subscribe({ topics, fromBeginning: true });
    let seen = 0;
    await new Promise<void>((resolve) => {
      void consumer.run({
        partitionsConsumedConcurrently: 8,
        eachBatch: async ({ batch }) => {
          for (const message of batch.messages) await codec.decode(batch.topic, message.value);
          seen += batch.messages.length;
          if (seen >= events) resolve();
        },
      });
    });
    await consumer.disconnect();
    return seen;
  });

  // Where the rebuild's time goes: this process (decode, fold, SQL) against the database server and the broker.
  const servers = { mariadb: pidListeningOn(Number(new URL(config.MYSQL_URL).port || 3306)), kafka: pidListeningOn(Number(config.KAFKA_BROKERS[0]?.split(':').at(-1) ?? 9092)) };
  const { value: rebuilt, cpuSeconds } = await cpuDuring(servers, () => rebuildProjection({
    kafka, codec, pool, mysqlUrl: benchUrl.toString(), mysqlSsl: mysql.ssl, topics, liveGroup: PROJECTOR_GROUP, logger,
    publisher: { publish: async () => undefined }, lifecycleTopicOf: (topic) => topic.slice(prefix.length), restoreRequests: fromNothing,
  }));

  const projected = PROJECTION_TABLES.filter((table) => table !== 'viewport_applied_offsets' && table !== 'viewport_set_aside' && table !== 'viewport_owner_marks');
  await pool.query(`CREATE DATABASE \`${copyDb}\``);
  for (const table of projected) await pool.query(`CREATE TABLE \`${copyDb}\`.\`${table}\` LIKE \`${benchDb}\`.\`${table}\``);
  const copy = await timed(async () => {
    let rows = 0;
    for (const table of projected) {
      const [result] = await pool.query<ResultSetHeader>(`INSERT INTO \`${copyDb}\`.\`${table}\` SELECT * FROM \`${benchDb}\`.\`${table}\``);
      rows += result.affectedRows;
    }
    return rows;
  });

  const rawRate = events / raw.seconds;
  const rebuildRate = rebuilt.eventsReplayed / rebuilt.seconds;
  console.log(`\nraw consume + decode: ${events} events in ${raw.seconds.toFixed(1)} s (${rawRate.toFixed(0)} events/s)`);
  console.log(`rebuild${fromNothing ? ' from nothing (request rows too)' : ''}: ${rebuilt.eventsReplayed} events in ${rebuilt.seconds.toFixed(1)} s (${rebuildRate.toFixed(0)} events/s), ${rebuilt.catchUpEvents} after the swap`);
  console.log(`CPU seconds during the rebuild (2 cores = ${(2 * rebuilt.seconds).toFixed(1)} s available): ${Object.entries(cpuSeconds).map(([name, seconds]) => `${name} ${seconds.toFixed(1)}`).join(', ')}\n`);
  console.log(ratioLine('rebuild events/s / raw consume events/s', rebuildRate / rawRate, '>= 0.5'));
  console.log(ratioLine('seconds to rebuild 100k events (extrapolated)', 100_000 / rebuildRate, '<= 60'));
  console.log(`\nrows the rebuild wrote: ${copy.value} (${(copy.value / events).toFixed(1)} per event); server-side copy of them: ${copy.seconds.toFixed(1)} s (${(copy.value / copy.seconds).toFixed(0)} rows/s)`);
  console.log(ratioLine('rebuild seconds / server-side copy seconds', rebuilt.seconds / copy.seconds, 'none: the database bound'));
  console.log(ratioLine('best ratio the database allows (copy events/s / raw)', events / copy.seconds / rawRate, 'none: ceiling of the first'));
} finally {
  // Dropped even when a step failed: the private databases and topics would otherwise stay on the shared stack.
  await cleanUp([
    ...[benchDb, copyDb, `${benchDb}_previous`, `${benchDb}_rebuild`].map((db) => () => pool.query(`DROP DATABASE IF EXISTS \`${db}\``)),
    () => admin.deleteTopics({ topics }),
    // Absent when the bench failed before the raw consume.
    () => admin.deleteGroups([`bench-raw-${run}`]).catch(() => undefined),
    () => admin.disconnect(),
    () => pool.end(),
  ]);
}
process.exit(0);
