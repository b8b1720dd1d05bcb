import { createKafka, EventCodec } from '@orbit/lib';
import { loadSchemas } from '@orbit/schemas';
import type { RowDataPacket } from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { quietLogger, testConfig } from '../../../test/helpers/index.js';
import { privateViewport, type PrivateViewport } from '../../../test/helpers/viewport-db.js';
import { rebuildLockName, rebuildProjection, RebuildRunningError, type RebuildDeps } from './rebuild.js';

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
