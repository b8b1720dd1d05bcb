/**
 * A private copy of the ViewPort schema for a test: the projector's tests write
 * there instead of into the live `viewport` database the pipeline and other
 * tests read, and drop it afterwards.
 */
import { createKafka, createMysqlPool, databaseOf, EventCodec, EventPublisher, PROJECTED_TOPICS, PROJECTOR_GROUP } from '@orbit/lib';
import { startPipeline } from '@orbit/local-stack';
import { loadSchemas } from '@orbit/schemas';
import type { Pool } from 'mysql2/promise';
import { projectionChecksum } from '../../consumers/viewport-projector/src/checksum.js';
import { REBUILT_DATABASE_TABLES, rebuildProjection } from '../../consumers/viewport-projector/src/rebuild.js';
import { afterAll } from 'vitest';
import { quietLogger, testConfig, uniqueSuffix, waitFor } from './index.js';

export interface PrivateViewport {
  readonly database: string;
  readonly pool: Pool;
  drop(): Promise<void>;
}

/** Creates `<live>_t_<label>_<suffix>` (the user may create `viewport_*` databases) with the tables a rebuild needs, empty. */
export async function privateViewport(label: string, connections = 4): Promise<PrivateViewport> {
  const live = databaseOf(testConfig.MYSQL_URL);
  const database = `${live}_t_${label}_${uniqueSuffix()}`;
  const admin = createMysqlPool(testConfig.MYSQL_URL, 1);
  try {
    await admin.query(`CREATE DATABASE \`${database}\``);
    for (const table of REBUILT_DATABASE_TABLES) await admin.query(`CREATE TABLE \`${database}\`.\`${table}\` LIKE \`${live}\`.\`${table}\``);
  } finally {
    await admin.end();
  }
  const url = new URL(testConfig.MYSQL_URL);
  url.pathname = `/${database}`;
  const pool = createMysqlPool(url.toString(), connections);
  return {
    database, pool,
    async drop() {
      // With what a rebuild of it leaves beside it (the replaced projection, a shadow it did not swap in).
      for (const name of [database, `${database}_previous`, `${database}_rebuild`]) await pool.query(`DROP DATABASE IF EXISTS \`${name}\``);
      await pool.end();
    },
  };
}

/** A pool on a new private ViewPort per call (privateViewport), every one dropped once the test file is done. */
export function privatePools(): (label: string) => Promise<Pool> {
  const databases: PrivateViewport[] = [];
  afterAll(async () => { for (const database of databases) await database.drop(); });
  return async (label) => {
    const database = await privateViewport(label);
    databases.push(database);
    return database.pool;
  };
}

/** `npm run viewport:rebuild` of the live database, as an operator runs it (no options), on `pool`. */
export async function rebuildLiveViewport(pool: Pool): Promise<void> {
  const kafka = createKafka({ clientId: `rebuild-${uniqueSuffix()}`, brokers: testConfig.KAFKA_BROKERS, logger: quietLogger });
  const codec = new EventCodec(testConfig.SCHEMA_REGISTRY_URL, loadSchemas());
  const publisher = await EventPublisher.connect(kafka, codec, quietLogger);
  try {
    await rebuildProjection({ kafka, codec, pool, mysqlUrl: testConfig.MYSQL_URL, topics: PROJECTED_TOPICS, liveGroup: PROJECTOR_GROUP, publisher, logger: quietLogger });
  } finally {
    await publisher.disconnect();
  }
}

/**
 * Starts the pipeline on a projection that is exactly its topics: integration
 * tests write rows of their own into the live database, which no rebuild
 * would give back.
 */
export async function startPipelineOnItsHistory(pool: Pool): Promise<void> {
  await startPipeline(() => undefined);
  await rebuildLiveViewport(pool);
}

/** The live projection's checksum once the projector has applied everything (the same over two looks). */
export async function settledChecksum(pool: Pool): Promise<string> {
  let last = '';
  return waitFor(async () => {
    const { sha256 } = await projectionChecksum(pool);
    const stable = sha256 === last;
    last = sha256;
    return stable ? sha256 : undefined;
  }, { timeoutMs: 60_000, intervalMs: 1500, what: 'the projection to settle' });
}
